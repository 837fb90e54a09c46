/**
 * AVIF decoding for PDQ through hashgate's dav1d build (av1-codec.ts, wasm/dav1d). Our own box
 * reading (avif-header.ts, avif-items.ts) hands the primary item's AV1 data to dav1d, one grid
 * tile after another; the glue converts each picture's YUV to RGB, and that to the luminance PDQ
 * hashes (0.299 R + 0.587 G + 0.114 B, per pixel, as gif.ts does for its palette), row by row
 * straight into the area average at the PDQ working size (downscale.ts's plan, the shorter side
 * >= 512), so no full-size image ever exists: the decode holds dav1d's YUV planes of one tile,
 * and the reduced canvas. The result is 1-channel luminance, like the gate's JPEG decode. Before (issue 12) jSquash's libavif + libaom build decoded to full-size RGBA:
 * 47 MiB at 2 MP, 223 MiB at 12 MP, so every AVIF above ~2.8 MP was refused as too large.
 *
 * Colour: the `colr` nclx box's matrix coefficients and range, else the AV1 sequence header's
 * (what libavif does); unspecified as BT.601. 8/10/12-bit, 4:0:0/4:2:0/4:2:2/4:4:4. Chroma is
 * upsampled by taking the co-sited sample (libavif interpolates): the area average makes the
 * difference vanish at PDQ's size (README, Perceptual hashing, AVIF). Alpha is not decoded: PDQ
 * ignores alpha (as WebP stills, whose ALPH chunk is not decoded either).
 *
 * Checks: every AV1 item's sequence headers are compared with its `ispe` before decoding
 * (avif-header.ts), dav1d is told to refuse any frame larger than the tile's `ispe`, and each
 * picture it gives must be exactly that size.
 *
 * Image sequences (`avis`): avif-tracks.ts reads and checks the track's samples and
 * avif-sequence.ts decodes them in order, frame by frame; a primary item that is a picture of
 * its own is decoded here and judged as frame 0.
 */
import { type Av1Codec, av1Codec } from "./av1-codec.ts";
import { readAvifHeader } from "./avif-header.ts";
import { type AvifImage, readAvifImage } from "./avif-items.ts";
import { planScale } from "./downscale.ts";
import { AvifBoxError } from "./iso-boxes.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";
import { MAX_WASM_PIXELS } from "./wasm-codec.ts";

/**
 * What one decode maps at its peak: the instance's linear memory after decoding one picture into
 * a fresh instance, which is above the process's peak RSS (bench/image-memory.ts; Emscripten
 * grows the memory in steps and not every page is touched). Measured 2026-11-30 (linear memory,
 * 4:3 photos, quality 60): 8-bit 4:2:0 10.3 / 29.8 / 51.8 MiB at 2 / 12 / 24 MP (1.92 bytes per
 * pixel + 7.8 MiB), 4:0:0 22.9 MiB at 12 MP, 4:4:4 52.4 MiB, 10-bit 4:2:0 48.8 MiB, 10-bit 4:4:4
 * 89.9 MiB. dav1d's frame buffers take a little over 1 byte per sample (2 above 8 bits) and its
 * per-frame state about 0.5 byte per pixel: the model below, 1.1 and 0.6, covers each of them.
 * On top: the input bytes (item data, and its copy in the instance), the canvas (1 byte
 * per cell, 8 of sums while reducing, 1 for the copy out), and a fixed 12 MiB: the instance's
 * own 8 MiB, and what the process's peak RSS rose beyond it for a 2 MP file (19 MiB against
 * 10.3 of linear memory: the header reading's copies and the JavaScript heap).
 */
const DAV1D_BYTES_PER_SAMPLE = 1.1;
const DAV1D_BYTES_PER_PIXEL = 0.6;
const FIXED_BYTES = 12 * 1024 * 1024;
/**
 * Of the fixed bytes, the part dav1d's allocation ceiling (dav1dWorkBytes) allows besides its
 * frames: its context (task and frame contexts, scratch buffers, CDFs) held 0.36 MiB whatever
 * the frame size (16x16 to 4000x3000, 2026-11-30), the rest is margin over the frame model, which
 * dav1d's live bytes came within 3% of at 12 MP 10-bit 4:4:4 (README of wasm/dav1d).
 */
const DAV1D_CONTEXT_BYTES = 4 * 1024 * 1024;

export interface AvifDecodeShape {
  /** The largest tile (or the whole image) dav1d decodes at once. */
  tileWidth: number;
  tileHeight: number;
  /** The canvas: the image's size. */
  width: number;
  height: number;
  depth: number;
  /** Chroma samples per pixel: 0 (4:0:0), 0.5 (4:2:0), 1 (4:2:2), 2 (4:4:4). */
  chroma: number;
  /** Bytes of AV1 data handed to the decoder (all tiles): held twice at most. */
  inputBytes: number;
  fullResolution?: boolean;
}

/** dav1d's frame buffers and per-frame state for one picture of the largest tile. */
function frameBytes(shape: AvifDecodeShape): number {
  const tilePixels = shape.tileWidth * shape.tileHeight;
  const sampleBytes = shape.depth > 8 ? 2 : 1;
  return Math.ceil(
    tilePixels * (DAV1D_BYTES_PER_SAMPLE * sampleBytes * (1 + shape.chroma) + DAV1D_BYTES_PER_PIXEL),
  );
}

/**
 * The part of avifDecodeBytes that is dav1d's own work, the ceiling of its allocations
 * (av1-codec.ts): its context, `framesHeld` pictures with their state, and the copy of the
 * input in the instance.
 */
export function dav1dWorkBytes(shape: AvifDecodeShape, framesHeld = 1): number {
  return DAV1D_CONTEXT_BYTES + framesHeld * frameBytes(shape) + shape.inputBytes;
}

/** What decoding this AVIF maps at its peak. */
export function avifDecodeBytes(shape: AvifDecodeShape): number {
  const plan = planScale(shape.width, shape.height, shape.fullResolution);
  const identity = plan.width === shape.width && plan.height === shape.height;
  const canvas = plan.width * plan.height * (identity ? 2 : 10);
  // Besides dav1d's work: the rest of the fixed bytes, the canvas, the input held here.
  return FIXED_BYTES - DAV1D_CONTEXT_BYTES + dav1dWorkBytes(shape) + canvas + shape.inputBytes;
}

/** The primary image's items, failures as decode errors. */
function imageOf(bytes: Uint8Array): AvifImage {
  try {
    return readAvifImage(bytes);
  } catch (e) {
    if (e instanceof AvifBoxError) throw new ImageDecodeError(e.reason, e.message);
    throw e;
  }
}

/**
 * Decodes an AVIF's primary image to luminance, reduced to the PDQ size unless
 * `limits.fullResolution`, reserving its memory first (from the boxes: readAvifHeader checks
 * every item's sequence headers against its `ispe`, then the items are read).
 */
export async function decodeAvif(
  bytes: Uint8Array,
  limits: Pick<DecodeLimits, "fullResolution" | "reserve">,
): Promise<DecodedImage> {
  const header = readAvifHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  const image = imageOf(bytes);
  const { width, height, tiles } = image;
  if (limits.fullResolution && width * height > MAX_WASM_PIXELS) {
    throw new ImageDecodeError("too-large", `AVIF ${width}x${height} exceeds the decoder's limit`);
  }
  const tileWidth = Math.max(...tiles.map((t) => t.width));
  const tileHeight = Math.max(...tiles.map((t) => t.height));
  // Joined item data (held here) and the copy of one tile in the instance, which dav1d keeps.
  const inputBytes = tiles.reduce((n, t) => n + t.data.length, 0);
  const { depth, chroma } = header;
  const shape = { depth, chroma, width, height, tileWidth, tileHeight, inputBytes, ...limits };
  limits.reserve?.(avifDecodeBytes(shape));
  const codec = await av1Codec();
  let failure: unknown;
  try {
    return drawTiles(codec, image, limits.fullResolution ?? false, dav1dWorkBytes(shape));
  } catch (err) {
    failure = err ?? new Error("thrown");
    throw err;
  } finally {
    codec.done(failure);
  }
}

/**
 * Each tile decoded by a dav1d context and drawn in its place on the reduced canvas; each
 * context may hold `workLimit` bytes (the largest tile's work, and a copy of at most all tiles).
 */
function drawTiles(codec: Av1Codec, image: AvifImage, full: boolean, workLimit: number): DecodedImage {
  const canvas = codec.canvas(image.width, image.height, planScale(image.width, image.height, full));
  try {
    for (const tile of image.tiles) {
      // A fresh context per tile: each tile is a key frame with its own sequence header.
      const decoder = codec.decoder(tile.width * tile.height, workLimit);
      try {
        const picture = decoder.decode(tile.data) ?? decoder.drain();
        if (!picture) throw new ImageDecodeError("corrupt", "AVIF item's AV1 data gave no picture");
        if (picture.width !== tile.width || picture.height !== tile.height) {
          throw new ImageDecodeError(
            "corrupt",
            `AVIF item decoded to ${picture.width}x${picture.height}, its ispe says ${tile.width}x${tile.height}`,
          );
        }
        decoder.draw(canvas, tile.x, tile.y, image.colour ?? picture);
      } finally {
        decoder.close();
      }
    }
    return canvas.finish();
  } finally {
    canvas.close();
  }
}
