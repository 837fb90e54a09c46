/// <reference path="../wasm.d.ts" />
/**
 * hashgate's dav1d build (wasm/dav1d: dav1d 1.5.3's AV1 decoder with our glue, a standalone
 * module without Emscripten's JavaScript). One instance per isolate, used by one decode at a
 * time (one-at-a-time.ts); its linear memory never shrinks, so an instance whose memory grew
 * past RETAIN_MEMORY_BYTES is dropped after use, and so is one that trapped.
 *
 * API, for stills (avif.ts) and sequences alike:
 *   const codec = await av1Codec();
 *   const canvas = codec.canvas(width, height, planScale(width, height, full));
 *   const decoder = codec.decoder(maxFramePixels, workLimit); // larger frames refused; allocations capped
 *   try {
 *     for (const sample of samples) {                  // an item's data, or each track sample in order
 *       const picture = decoder.decode(sample);        // null: no picture out of this sample yet
 *       if (picture) { check picture.width/height; decoder.draw(canvas, x, y, colour); image = canvas.finish(); }
 *     }
 *   } finally { decoder.close(); canvas.close(); codec.done(failure); }
 * dav1d keeps its reference frames between decode calls, so inter frames of a sequence decode;
 * `draw` converts the held picture's YUV to RGB and PDQ's luminance row by row, straight into
 * the canvas's area average (downscale.ts's plan): no full-size image exists. `finish` returns
 * the canvas as 8-bit luminance (1 channel, as the gate's JPEG decoder gives) and clears it for
 * the next picture.
 *
 * Memory ceiling: while a decoder is open, everything allocated in the instance (dav1d's context,
 * picture pools, the sample copies) may hold at most the `workLimit` bytes the caller reserved
 * for dav1d's work (avif.ts dav1dWorkBytes); the allocation past it fails inside the module
 * (hashgate_av1.c), dav1d returns ENOMEM and the decode fails as too-large. Open the canvas
 * before the decoder, so that it is not counted against the decoder's ceiling; one decoder is
 * open at a time.
 */
import type { ScalePlan } from "./downscale.ts";
import { type DecodedImage, ImageDecodeError } from "./types.ts";
import { compileWasmFile, instantiateStandalone, isWorkerd } from "./wasm-loading.ts";

/** The picture dav1d output last: its coded size and sample layout. */
export interface Av1Picture {
  width: number;
  height: number;
  /** Bits per sample: 8, 10 or 12. */
  bitDepth: number;
  /** Chroma layout: 0 4:0:0 (monochrome), 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  layout: number;
  /** Colour description from the AV1 sequence header (the AVIF's `colr` box overrides it). */
  matrix: number;
  fullRange: boolean;
}

/** How YUV becomes RGB: H.273 matrix coefficients and range (from `colr` nclx, else the picture's). */
export interface Av1Colour {
  matrix: number;
  fullRange: boolean;
}

interface Exports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  hg_malloc(size: number): number;
  hg_free(ptr: number): void;
  hg_av1_open(frameSizeLimit: number, workLimit: number): number;
  hg_av1_peak(): number;
  hg_av1_close(decoder: number): void;
  hg_av1_decode(decoder: number, data: number, size: number): number;
  hg_av1_drain(decoder: number): number;
  hg_av1_info(decoder: number, out: number): void;
  hg_canvas_new(
    srcW: number,
    srcH: number,
    outW: number,
    outH: number,
    xNum: number,
    xDen: number,
    yNum: number,
    yDen: number,
  ): number;
  hg_canvas_free(canvas: number): void;
  hg_av1_draw(
    decoder: number,
    canvas: number,
    x: number,
    y: number,
    matrix: number,
    fullRange: number,
  ): number;
  hg_canvas_finish(canvas: number): number;
}

/**
 * Linear memory an idle instance may keep: what a ~2 MP picture leaves behind. A larger one is
 * dropped after use, so a 12 MP photo's frame buffers do not stay reserved by nobody.
 */
const RETAIN_MEMORY_BYTES = 16 * 1024 * 1024;

const ENOMEM = 48; // Emscripten's errno values (dav1d returns them negated)
const ENOPROTOOPT = 50;

/** A dav1d failure (negative errno) as a decode error. */
function av1Error(status: number, what: string): ImageDecodeError {
  if (-status === ENOMEM) return new ImageDecodeError("too-large", `${what}: AV1 decoder out of memory`);
  if (-status === ENOPROTOOPT) return new ImageDecodeError("unsupported", `${what}: unsupported AV1 feature`);
  return new ImageDecodeError("corrupt", `${what}: invalid AV1 data (dav1d error ${-status})`);
}

let compiled: Promise<WebAssembly.Module> | undefined;
let current: Av1Codec | undefined;

async function loadModule(): Promise<WebAssembly.Module> {
  if (isWorkerd()) return (await import("./av1-codec-module.ts")).AV1_DECODE_MODULE;
  return compileWasmFile(new URL("../../wasm/dav1d/av1-decode.wasm", import.meta.url));
}

/** The isolate's decoder instance (a fresh one after the last was dropped). */
export async function av1Codec(): Promise<Av1Codec> {
  compiled ??= loadModule();
  const module = await compiled;
  current ??= new Av1Codec(module);
  return current;
}

/** Drops the isolate's instance: the next decode starts from a fresh one (tests and benchmarks measure its growth). */
export function dropAv1Codec(): void {
  current = undefined;
}

/** A WebAssembly instance of dav1d and the glue; calls run synchronously, one at a time. */
export class Av1Codec {
  readonly x: Exports;

  constructor(module: WebAssembly.Module) {
    this.x = instantiateStandalone<Exports>(module);
  }

  /** Bytes of linear memory the instance holds now (it only grows). */
  memoryBytes(): number {
    return this.x.memory.buffer.byteLength;
  }

  malloc(size: number): number {
    const ptr = this.x.hg_malloc(Math.max(1, size));
    if (ptr === 0) throw new ImageDecodeError("too-large", `AV1 decoder cannot allocate ${size} bytes`);
    return ptr;
  }

  /**
   * A dav1d decoder refusing frames above `maxFramePixels` (the size the container declared),
   * under which the instance's allocations may hold at most `workLimit` bytes until it closes.
   */
  decoder(maxFramePixels: number, workLimit: number): Av1Decoder {
    const frameLimit = Math.max(1, Math.min(maxFramePixels, 2 ** 32 - 1));
    const handle = this.x.hg_av1_open(frameLimit, Math.max(0, Math.min(Math.floor(workLimit), 2 ** 32 - 1)));
    if (handle === 0) throw new ImageDecodeError("too-large", "AV1 decoder cannot start (out of memory)");
    return new Av1Decoder(this, handle);
  }

  /** A canvas of `width`×`height` source pixels, reduced by `plan` (downscale.ts's planScale). */
  canvas(width: number, height: number, plan: ScalePlan): Av1Canvas {
    const cellArea = Math.ceil(plan.xDen / plan.xNum) * Math.ceil(plan.yDen / plan.yNum);
    // As AreaDownscaler: cells of at most 2^24 pixels (the glue sums 2^32 per pixel in 64 bits).
    if (cellArea > 2 ** 24) throw new ImageDecodeError("too-large", `${width}x${height}: cells too large`);
    const { xNum, xDen, yNum, yDen } = plan;
    const handle = this.x.hg_canvas_new(width, height, plan.width, plan.height, xNum, xDen, yNum, yDen);
    if (handle === 0)
      throw new ImageDecodeError("too-large", `AV1 canvas ${plan.width}x${plan.height}: out of memory`);
    return new Av1Canvas(this, handle, plan.width, plan.height);
  }

  /** Bytes the last closed decoder held at most beyond what was live when it opened. */
  lastDecoderPeak(): number {
    return this.x.hg_av1_peak() >>> 0;
  }

  /**
   * Ends a decode (decoders and canvases closed), given the error that ended it, if any. An
   * error other than an ImageDecodeError is a trap inside dav1d: the instance is dropped
   * untouched, and so is one whose memory grew large.
   */
  done(failure?: unknown): void {
    const trapped = failure !== undefined && !(failure instanceof ImageDecodeError);
    if ((trapped || this.memoryBytes() > RETAIN_MEMORY_BYTES) && current === this) current = undefined;
  }
}

/** One dav1d context: samples in decode order, pictures out. `close` must be called. */
export class Av1Decoder {
  private readonly codec: Av1Codec;
  private readonly handle: number;

  constructor(codec: Av1Codec, handle: number) {
    this.codec = codec;
    this.handle = handle;
  }

  /** Decodes one sample (an AVIF item's data, or a track sample): the picture it gave, or null. */
  decode(sample: Uint8Array): Av1Picture | null {
    const x = this.codec.x;
    const ptr = this.codec.malloc(sample.length);
    new Uint8Array(x.memory.buffer, ptr, sample.length).set(sample);
    // The copy is handed to dav1d, which frees it when done (it may keep bytes past the call).
    const status = x.hg_av1_decode(this.handle, ptr, sample.length);
    if (status < 0) throw av1Error(status, "decode");
    return status === 1 ? this.info() : null;
  }

  /** A picture dav1d still holds after the last sample, or null. */
  drain(): Av1Picture | null {
    const status = this.codec.x.hg_av1_drain(this.handle);
    if (status < 0) throw av1Error(status, "drain");
    return status === 1 ? this.info() : null;
  }

  private info(): Av1Picture {
    const x = this.codec.x;
    const out = this.codec.malloc(6 * 4);
    try {
      x.hg_av1_info(this.handle, out);
      const [width, height, bitDepth, layout, matrix, range] = new Int32Array(
        x.memory.buffer,
        out,
        6,
      ).slice();
      return {
        width: width!,
        height: height!,
        bitDepth: bitDepth!,
        layout: layout!,
        matrix: matrix!,
        fullRange: range === 1,
      };
    } finally {
      x.hg_free(out);
    }
  }

  /** Draws the picture last decoded onto `canvas` at (x, y) of its source area, cropped to it. */
  draw(canvas: Av1Canvas, x: number, y: number, colour: Av1Colour): void {
    const status = this.codec.x.hg_av1_draw(
      this.handle,
      canvas.handle,
      x,
      y,
      colour.matrix,
      colour.fullRange ? 1 : 0,
    );
    if (status !== 0) throw new ImageDecodeError("corrupt", "AV1 data gave no picture to draw");
  }

  close(): void {
    this.codec.x.hg_av1_close(this.handle);
  }
}

/** The reduced image pictures are drawn into; `close` must be called. */
export class Av1Canvas {
  private readonly codec: Av1Codec;
  readonly handle: number;
  readonly width: number;
  readonly height: number;

  constructor(codec: Av1Codec, handle: number, width: number, height: number) {
    this.codec = codec;
    this.handle = handle;
    this.width = width;
    this.height = height;
  }

  /**
   * The canvas as 8-bit luminance, PDQ's 0.299 R + 0.587 G + 0.114 B of each pixel's RGB,
   * area-averaged (a copy of its own); the canvas is cleared for the next picture.
   */
  finish(): DecodedImage {
    const x = this.codec.x;
    const ptr = x.hg_canvas_finish(this.handle);
    const pixels = new Uint8Array(x.memory.buffer, ptr, this.width * this.height).slice();
    return { width: this.width, height: this.height, channels: 1, pixels };
  }

  close(): void {
    this.codec.x.hg_canvas_free(this.handle);
  }
}
