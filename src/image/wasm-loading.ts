/**
 * How the image decoders get their WebAssembly modules. In workerd a module is bundled with the
 * Worker (wrangler imports `.wasm` files as compiled modules; the runtime compiles no bytes), so
 * each decoder imports its own `*-module.ts` there; in Node (the CLI, benchmarks) the `.wasm`
 * file is read and compiled here. Our standalone Emscripten builds (wasm/libwebp, wasm/dav1d:
 * no Emscripten JavaScript) are instantiated alike: their only import is Emscripten's memory
 * growth notice, and `_initialize` runs their C constructors.
 */

/** Running inside workerd (the Worker, the workerd tests), not Node. */
export function isWorkerd(): boolean {
  const nav = (globalThis as { navigator?: { userAgent?: string } }).navigator;
  return nav?.userAgent === "Cloudflare-Workers";
}

/** Node only: compiles the `.wasm` file at `file` (a URL resolved against the caller's module). */
export async function compileWasmFile(file: URL): Promise<WebAssembly.Module> {
  // A non-literal specifier keeps bundlers from pulling node:fs into the Worker.
  const fsName = "node:fs/promises";
  const fs = (await import(fsName)) as { readFile(path: URL): Promise<Uint8Array> };
  const bytes = await fs.readFile(file);
  // workerd compiles no bytes at runtime, hence the cast.
  const Module = WebAssembly.Module as unknown as new (b: Uint8Array) => WebAssembly.Module;
  return new Module(new Uint8Array(bytes));
}

/** An initialised instance of one of our standalone builds; its exports as `T`. */
export function instantiateStandalone<T extends { _initialize(): void }>(module: WebAssembly.Module): T {
  const instance = new WebAssembly.Instance(module, { env: { emscripten_notify_memory_growth() {} } });
  const exports = instance.exports as unknown as T;
  exports._initialize();
  return exports;
}
