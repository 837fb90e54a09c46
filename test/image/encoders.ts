/// <reference path="./encoders.d.ts" />
// Test-only encoders (jSquash's MozJPEG, libwebp and libavif + libaom builds) to make JPEG/WebP/AVIF
// test images inside workerd: greyscale JPEGs, lossless and lossy WebPs with and without alpha,
// AVIFs of every depth and subsampling. Also libavif's full decoder, as a reference for the gate's.
import avifDecFactory from "@jsquash/avif/codec/dec/avif_dec.js";
import avifDecWasm from "@jsquash/avif/codec/dec/avif_dec.wasm";
import avifEncFactory from "@jsquash/avif/codec/enc/avif_enc.js";
import avifEncWasm from "@jsquash/avif/codec/enc/avif_enc.wasm";
import { defaultOptions as avifDefaults } from "@jsquash/avif/meta.js";
import jpegEncFactory from "@jsquash/jpeg/codec/enc/mozjpeg_enc.js";
import jpegEncWasm from "@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm";
import { defaultOptions as jpegDefaults } from "@jsquash/jpeg/meta.js";
import webpEncFactory from "@jsquash/webp/codec/enc/webp_enc.js";
import webpEncWasm from "@jsquash/webp/codec/enc/webp_enc.wasm";
import { defaultOptions as webpDefaults } from "@jsquash/webp/meta.js";

function fromModule(module: WebAssembly.Module) {
  return {
    noInitialRun: true,
    instantiateWasm(imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) {
      const instance = new WebAssembly.Instance(module, imports);
      done(instance);
      return instance.exports;
    },
  };
}

const jpegEncoder = jpegEncFactory(fromModule(jpegEncWasm));
const webpEncoder = webpEncFactory(fromModule(webpEncWasm));
let avifEncoder: ReturnType<typeof avifEncFactory> | null = null;
let avifDecoder: ReturnType<typeof avifDecFactory> | null = null;

/** Encodes RGBA pixels as JPEG; `grey` writes a one-component file. */
export async function encodeJpeg(
  rgba: Uint8Array,
  width: number,
  height: number,
  opts: { grey?: boolean; progressive?: boolean; quality?: number } = {},
): Promise<Uint8Array> {
  const enc = await jpegEncoder;
  return enc.encode(rgba, width, height, {
    ...jpegDefaults,
    quality: opts.quality ?? 90,
    progressive: opts.progressive ?? false,
    baseline: !(opts.progressive ?? false),
    color_space: opts.grey ? 1 : 3,
  });
}

/**
 * Encodes RGBA pixels as WebP (lossless keeps every pixel, `exact` even under alpha 0). `method`
 * 0–6 trades speed for size (libwebp's default 4); for lossless, `quality` above 75 lets
 * back-references reach libwebp's full window (1048456 pixels back).
 */
export async function encodeWebp(
  rgba: Uint8Array,
  width: number,
  height: number,
  opts: { lossless: boolean; quality?: number; method?: number },
): Promise<Uint8Array> {
  const enc = await webpEncoder;
  const out = enc.encode(rgba, width, height, {
    ...webpDefaults,
    lossless: opts.lossless ? 1 : 0,
    exact: 1,
    quality: opts.quality ?? 90,
    method: opts.method ?? webpDefaults.method,
  });
  if (!out) throw new Error("WebP encoder failed");
  return new Uint8Array(out);
}

/**
 * Encodes RGBA pixels as AVIF (libaom, fastest speed). `depth` 10/12 scales the 8-bit samples up
 * (the encoder takes 16-bit samples then); alpha is stored as an auxiliary item when any pixel
 * is not opaque.
 */
export async function encodeAvif(
  rgba: Uint8Array,
  width: number,
  height: number,
  opts: { quality?: number; depth?: 8 | 10 | 12; chroma?: "400" | "420" | "422" | "444" } = {},
): Promise<Uint8Array> {
  avifEncoder ??= avifEncFactory(fromModule(avifEncWasm));
  const enc = await avifEncoder;
  const depth = opts.depth ?? 8;
  let samples: Uint8Array = rgba;
  if (depth > 8) {
    const deep = new Uint16Array(rgba.length);
    for (let i = 0; i < rgba.length; i++) deep[i] = (rgba[i]! * ((1 << depth) - 1)) / 255;
    samples = new Uint8Array(deep.buffer);
  }
  const out = enc.encode(samples, width, height, {
    ...avifDefaults,
    quality: opts.quality ?? 80,
    speed: 10,
    bitDepth: depth,
    // libavif's pixel formats as jSquash numbers them (its README's older numbering is stale).
    subsample: { "400": 0, "420": 1, "422": 2, "444": 3 }[opts.chroma ?? "420"],
  });
  if (!out) throw new Error("AVIF encoder failed");
  return new Uint8Array(out);
}

/**
 * libavif + libaom's full-size decode (jSquash's build, the gate's AVIF decoder before issue 12)
 * as 8-bit RGBA: the reference the gate's dav1d path is compared with.
 */
export async function decodeAvifReference(
  avif: Uint8Array,
): Promise<{ width: number; height: number; rgba: Uint8Array }> {
  avifDecoder ??= avifDecFactory(fromModule(avifDecWasm));
  const image = (await avifDecoder).decode(avif, 8);
  if (!image) throw new Error("libavif could not decode the file");
  const rgba = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length).slice();
  return { width: image.width, height: image.height, rgba };
}

/** Smooth test pattern with some detail, as RGBA; `alpha` varies the alpha channel too. */
export function testPattern(width: number, height: number, alpha = false): Uint8Array {
  const px = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      px[o] = (x * 255) / Math.max(1, width - 1);
      px[o + 1] = (y * 255) / Math.max(1, height - 1);
      px[o + 2] = 128 + 100 * Math.sin((x + y) / 5);
      px[o + 3] = alpha ? (x * 7 + y * 3) & 255 : 255;
    }
  }
  return px;
}
