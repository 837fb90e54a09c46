/**
 * Runs the Emscripten image decoder (jSquash's single-threaded build of libjpeg-turbo/MozJPEG), for
 * full-resolution JPEG. WebP and AVIF have their own modules (webp-codec.ts, av1-codec.ts).
 * Each codec is one WebAssembly instance per isolate, made from a WebAssembly.Module: the
 * Worker imports the module (workerd refuses to compile bytes), Node compiles the file.
 * An instance that failed, or whose heap grew large, is dropped: Emscripten leaks the C
 * stack's allocations when libjpeg calls exit() on an error, and a grown heap never shrinks.
 */
import mozjpegFactory from "@jsquash/jpeg/codec/dec/mozjpeg_dec.js";
import { isWorkerd } from "./wasm-loading.ts";

export type CodecName = "jpeg";

/** The ImageData-shaped object the codecs return (a polyfill of theirs where ImageData is absent). */
export interface CodecImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

// MozJPEG's decode takes (data, preserveOrientation); embind checks arity.
interface EmscriptenDecoder {
  decode(data: Uint8Array, preserveOrientation: boolean): CodecImage | null;
  HEAPU8: Uint8Array;
}

/** What a decode call gave: the image, or the failure, plus the decoder's stderr lines. */
export interface CodecResult {
  image: CodecImage | null;
  failure: unknown;
  messages: string[];
}

/**
 * Largest image the WASM decoders are asked for, whatever the caller's limit: their heap tops
 * out at 2 GiB and MozJPEG's glue sizes the RGBA buffer with 32-bit int arithmetic, which
 * wraps past 2^32 bytes. 2^28 pixels is 1 GiB of RGBA.
 */
export const MAX_WASM_PIXELS = 2 ** 28;

/** True when a decoder failure was the WASM heap running out (Emscripten aborts on OOM). */
export function isOutOfMemory(failure: unknown, messages: string[]): boolean {
  return /OOM|enlarge memory|out of memory|bad_alloc/i.test(`${String(failure)}\n${messages.join("\n")}`);
}

// An instance whose heap passed this after a call is dropped so its memory can be collected
// (a 12-megapixel JPEG leaves ~100 MiB of heap behind; Workers have 128 MiB per isolate).
const RETAIN_HEAP_BYTES = 64 * 1024 * 1024;

const WASM_FILES: Record<CodecName, string> = {
  jpeg: "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm",
};

type Factory = (options: Record<string, unknown>) => Promise<EmscriptenDecoder>;
const FACTORIES: Record<CodecName, Factory> = {
  jpeg: mozjpegFactory as unknown as Factory,
};

interface Slot {
  module: Promise<WebAssembly.Module> | null;
  instance: Promise<EmscriptenDecoder> | null;
  messages: string[];
}
const slots: Record<CodecName, Slot> = {
  jpeg: { module: null, instance: null, messages: [] },
};

async function loadModule(name: CodecName): Promise<WebAssembly.Module> {
  if (isWorkerd()) return (await import("./wasm-codec-modules.ts")).CODEC_MODULES[name];
  // Node: a non-literal specifier keeps bundlers from pulling node:fs into the Worker.
  const fsName = "node:fs/promises";
  const fs = (await import(fsName)) as { readFile(path: URL): Promise<Uint8Array> };
  const meta = import.meta as unknown as { resolve(specifier: string): string };
  const bytes = await fs.readFile(new URL(meta.resolve(WASM_FILES[name])));
  // Node only (workerd has no WebAssembly.compile for bytes, hence the cast).
  const wasm = WebAssembly as unknown as { compile(b: Uint8Array): Promise<WebAssembly.Module> };
  return wasm.compile(bytes);
}

function instantiate(name: CodecName, slot: Slot): Promise<EmscriptenDecoder> {
  slot.module ??= loadModule(name);
  const modulePromise = slot.module;
  return modulePromise.then((module) =>
    FACTORIES[name]({
      noInitialRun: true,
      instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance) => void) {
        const instance = new WebAssembly.Instance(module, imports);
        done(instance);
        return instance.exports;
      },
      // libjpeg reports warnings (e.g. premature end of data) and errors on stderr.
      print: () => {},
      printErr: (line: string) => {
        if (slot.messages.length < 20) slot.messages.push(line);
      },
    }),
  );
}

/** Decodes with the named codec; never throws (failures come back in the result). */
export async function runCodec(name: CodecName, bytes: Uint8Array): Promise<CodecResult> {
  const slot = slots[name];
  slot.instance ??= instantiate(name, slot);
  let decoder: EmscriptenDecoder;
  try {
    decoder = await slot.instance;
  } catch (failure) {
    slot.instance = null;
    slot.module = null;
    return { image: null, failure, messages: [] };
  }
  slot.messages = [];
  try {
    const image = decoder.decode(bytes, false);
    if (decoder.HEAPU8.length > RETAIN_HEAP_BYTES) slot.instance = null;
    return { image, failure: image ? null : new Error("decoder returned nothing"), messages: slot.messages };
  } catch (failure) {
    slot.instance = null;
    return { image: null, failure, messages: slot.messages };
  }
}
