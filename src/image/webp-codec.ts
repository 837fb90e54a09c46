/// <reference path="../wasm.d.ts" />
/**
 * hashgate's libwebp build (wasm/libwebp: libwebp 1.6.0's decoder and demuxer with our glue,
 * a standalone module without Emscripten's JavaScript). One instance per isolate; its linear
 * memory never shrinks, so an instance whose memory grew past RETAIN_MEMORY_BYTES is dropped
 * after use, and so is one that trapped (a trap leaves libwebp's allocations behind).
 */
import { ImageDecodeError } from "./types.ts";
import { compileWasmFile, instantiateStandalone, isWorkerd } from "./wasm-loading.ts";

/** The bitstream's features, from libwebp's own header parsing. */
export interface WebpFeatures {
  width: number;
  height: number;
  hasAlpha: boolean;
  animated: boolean;
  lossless: boolean;
}

/** One frame of an animation: its rectangle on the canvas and how it is drawn. */
export interface WebpFrameInfo {
  x: number;
  y: number;
  width: number;
  height: number;
  durationMs: number;
  /** After display its rectangle is cleared to transparent. */
  disposeToBackground: boolean;
  /** Drawn over the canvas by alpha (false: replaces the rectangle). */
  blend: boolean;
  hasAlpha: boolean;
  lossless: boolean;
}

interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  hg_malloc(size: number): number;
  hg_free(ptr: number): void;
  hg_features(data: number, size: number, out: number): number;
  hg_decode(
    data: number,
    size: number,
    width: number,
    height: number,
    rgba: number,
    out: number,
    workLimit: number,
  ): number;
  hg_decode_peak(): number;
  hg_demux_new(data: number, size: number): number;
  hg_demux_delete(demux: number): void;
  hg_demux_info(demux: number, out: number): void;
  hg_demux_frame(demux: number, n: number, out: number): number;
}

const RETAIN_MEMORY_BYTES = 24 * 1024 * 1024;

/** libwebp's VP8StatusCode as a decode error. */
function statusError(status: number, what: string): ImageDecodeError {
  if (status === 1) return new ImageDecodeError("too-large", `${what}: WebP decoder out of memory`);
  if (status === 4) return new ImageDecodeError("unsupported", `${what}: unsupported WebP feature`);
  if (status === 7) return new ImageDecodeError("truncated", `${what}: WebP data ends early`);
  return new ImageDecodeError("corrupt", `${what}: WebP decode failed (status ${status})`);
}

let compiled: Promise<WebAssembly.Module> | undefined;
let current: WebpCodec | undefined;

async function loadModule(): Promise<WebAssembly.Module> {
  if (isWorkerd()) return (await import("./webp-codec-module.ts")).WEBP_DECODE_MODULE;
  return compileWasmFile(new URL("../../wasm/libwebp/webp-decode.wasm", import.meta.url));
}

/** The isolate's decoder instance (a fresh one after the last was dropped). */
export async function webpCodec(): Promise<WebpCodec> {
  compiled ??= loadModule();
  const module = await compiled;
  current ??= new WebpCodec(module);
  return current;
}

/** Drops the isolate's instance: the next decode starts from a fresh one (tests and benchmarks measure its growth). */
export function dropWebpCodec(): void {
  current = undefined;
}

/** A WebAssembly instance of the decoder; calls run synchronously, one at a time. */
export class WebpCodec {
  private readonly x: Exports;

  constructor(module: WebAssembly.Module) {
    this.x = instantiateStandalone<Exports>(module);
  }

  /** Bytes of linear memory the instance holds now (it only grows). */
  memoryBytes(): number {
    return this.x.memory.buffer.byteLength;
  }

  /** The most bytes libwebp held during the last decode (besides input and output). */
  lastDecodeBytes(): number {
    return this.x.hg_decode_peak() >>> 0;
  }

  /** Copies `bytes` into the instance; the pointer goes back through `release`. */
  copyIn(bytes: Uint8Array): number {
    const ptr = this.malloc(bytes.length);
    new Uint8Array(this.x.memory.buffer, ptr, bytes.length).set(bytes);
    return ptr;
  }

  /**
   * Frees a copied-in input after use, given the error that ended the use (if any). An error
   * other than an ImageDecodeError is a trap inside libwebp: the instance is dropped untouched,
   * and so is one whose memory grew large.
   */
  release(ptr: number, failure?: unknown): void {
    const trapped = failure !== undefined && !(failure instanceof ImageDecodeError);
    if (!trapped) this.x.hg_free(ptr);
    if ((trapped || this.memoryBytes() > RETAIN_MEMORY_BYTES) && current === this) current = undefined;
  }

  /** Runs `body` with `bytes` copied into the instance, then releases them. */
  withInput<T>(bytes: Uint8Array, body: (ptr: number) => T): T {
    const ptr = this.copyIn(bytes);
    let failure: unknown;
    try {
      return body(ptr);
    } catch (err) {
      failure = err ?? new Error("thrown");
      throw err;
    } finally {
      this.release(ptr, failure);
    }
  }

  private malloc(size: number): number {
    const ptr = this.x.hg_malloc(Math.max(1, size));
    if (ptr === 0) throw new ImageDecodeError("too-large", `WebP decoder cannot allocate ${size} bytes`);
    return ptr;
  }

  private ints(ptr: number, n: number): Int32Array {
    return new Int32Array(this.x.memory.buffer, ptr, n).slice();
  }

  /** Features of the bitstream at `data` (already in the instance). */
  features(data: number, size: number): WebpFeatures {
    const out = this.malloc(5 * 4);
    try {
      const status = this.x.hg_features(data, size, out);
      if (status !== 0) throw statusError(status, "header");
      const [width, height, alpha, animated, format] = this.ints(out, 5);
      return {
        width: width!,
        height: height!,
        hasAlpha: alpha === 1,
        animated: animated === 1,
        lossless: format === 2,
      };
    } finally {
      this.x.hg_free(out);
    }
  }

  /**
   * Decodes the still bitstream at `data` to `width`×`height` (libwebp rescales while decoding)
   * as RGB or RGBA, returning pixels of their own. libwebp may hold at most `workLimit` bytes
   * besides the input and the output (what the caller reserved for it, webp.ts webpWorkBytes):
   * an allocation past them fails inside the module (hashgate_webp.c), and the decode with it,
   * as too-large.
   */
  decode(
    data: number,
    size: number,
    width: number,
    height: number,
    channels: 3 | 4,
    workLimit: number,
  ): Uint8Array {
    const bytes = width * height * channels;
    const out = this.malloc(bytes);
    try {
      const limit = Math.max(0, Math.min(Math.floor(workLimit), 0xffffffff));
      const status = this.x.hg_decode(data, size, width, height, channels === 4 ? 1 : 0, out, limit);
      if (status !== 0) throw statusError(status, "decode");
      return new Uint8Array(this.x.memory.buffer, out, bytes).slice();
    } finally {
      this.x.hg_free(out);
    }
  }

  /** Opens the file at `data` (which must stay allocated) as an animation: canvas and frames. */
  demux(data: number, size: number): WebpDemux {
    const handle = this.x.hg_demux_new(data, size);
    if (handle === 0) throw new ImageDecodeError("corrupt", "WebP container is invalid or incomplete");
    const out = this.malloc(10 * 4);
    try {
      this.x.hg_demux_info(handle, out);
      const [width, height, frameCount] = new Uint32Array(this.x.memory.buffer, out, 3).slice();
      return new WebpDemux(this, handle, width!, height!, frameCount!);
    } catch (err) {
      this.x.hg_demux_delete(handle);
      throw err;
    } finally {
      this.x.hg_free(out);
    }
  }

  /** Frame `n` (1-based) of an open demuxer. */
  frame(handle: number, n: number): { info: WebpFrameInfo; data: number; size: number } {
    const out = this.malloc(10 * 4);
    try {
      if (this.x.hg_demux_frame(handle, n, out) === 0) {
        throw new ImageDecodeError("truncated", `WebP frame ${n} is missing or incomplete`);
      }
      const [x, y, width, height, durationMs, dispose, noBlend, alpha, data, size] = this.ints(out, 10);
      // The frame's bitstream: ALPH then VP8, or VP8L (whose chunk header the demuxer keeps).
      const lossless = this.fourcc(data!) === "VP8L";
      return {
        info: {
          x: x!,
          y: y!,
          width: width!,
          height: height!,
          durationMs: durationMs!,
          disposeToBackground: dispose === 1,
          blend: noBlend !== 1,
          hasAlpha: alpha === 1,
          lossless,
        },
        data: data!,
        size: size!,
      };
    } finally {
      this.x.hg_free(out);
    }
  }

  private fourcc(ptr: number): string {
    return String.fromCharCode(...new Uint8Array(this.x.memory.buffer, ptr, 4));
  }

  closeDemux(handle: number): void {
    this.x.hg_demux_delete(handle);
  }
}

/** An open animation; `close` must be called (the frames point into the file's copy). */
export class WebpDemux {
  private readonly codec: WebpCodec;
  private readonly handle: number;
  readonly width: number;
  readonly height: number;
  readonly frameCount: number;

  constructor(codec: WebpCodec, handle: number, width: number, height: number, frameCount: number) {
    this.codec = codec;
    this.handle = handle;
    this.width = width;
    this.height = height;
    this.frameCount = frameCount;
  }

  frame(n: number) {
    return this.codec.frame(this.handle, n);
  }

  close(): void {
    this.codec.closeDemux(this.handle);
  }
}
