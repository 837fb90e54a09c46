/**
 * One of jSquash's Emscripten codecs instantiated in Node for the benchmarks (the encoders that
 * make test images, the full-size decoders measured as baselines): its JS glue is handed the
 * module compiled from the .wasm in node_modules, so it never fetches the file itself.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * `wasm`: the codec's .wasm below node_modules (e.g. "@jsquash/avif/codec/enc/avif_enc.wasm");
 * `codecFactory`: the default export of its JS glue; `T`: the calls the codec offers.
 */
export async function emscriptenCodec<T>(wasm: string, codecFactory: unknown): Promise<T> {
  const module = await WebAssembly.compile(
    readFileSync(join(import.meta.dirname, "../../node_modules", wasm)),
  );
  const factory = codecFactory as (o: Record<string, unknown>) => Promise<T>;
  return factory({
    noInitialRun: true,
    instantiateWasm(imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) {
      const instance = new WebAssembly.Instance(module, imports);
      done(instance);
      return instance.exports;
    },
  });
}
