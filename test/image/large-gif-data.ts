/**
 * Test data and references for large GIFs (gif-large.test.ts, gif-reduced.test.ts): a benign
 * fixture photo quantised to a palette, and a plain area average and Hamming distance written
 * here, independent of the decoder's code.
 */
import { decodeImage } from "../../src/image/decode.ts";
import type { DecodedImage } from "../../src/image/types.ts";
import { LISTED_FILE } from "../gate/listed-picture.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { rng } from "../helpers/random.ts";

export { hamming } from "../helpers/pdq-distance.ts";

/** A colour cube of 6 × 7 × 6 levels (252 entries): the global palette. */
export const CUBE = Array.from({ length: 252 }, (_, i) => [
  Math.round(((i % 6) * 255) / 5),
  Math.round(((Math.floor(i / 6) % 7) * 255) / 6),
  Math.round((Math.floor(i / 42) * 255) / 5),
]);
/** 256 greys: a local palette (the frame's indices are then its luma). */
export const GREYS = Array.from({ length: 256 }, (_, i) => [i, i, i]);

/** The listed fixture photo (a bridge) at full resolution, RGBA. */
export function loadBridge(): Promise<DecodedImage> {
  return fixtureBytes(LISTED_FILE).then((b) => decodeImage(b, { maxPixels: 1e8, fullResolution: true }));
}

/** A picture enlarged (nearest pixel) to `w`×`h` as palette indices into CUBE, or GREYS when `grey`. */
export function pictureIndices(picture: DecodedImage, w: number, h: number, grey: boolean): Uint8Array {
  const { width: bw, height: bh, channels: ch, pixels } = picture;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.floor(((y + 0.5) * bh) / h);
    for (let x = 0; x < w; x++) {
      const s = (sy * bw + Math.floor(((x + 0.5) * bw) / w)) * ch;
      const [r, g, b] = [pixels[s]!, pixels[s + 1]!, pixels[s + 2]!];
      out[y * w + x] = grey
        ? Math.round(0.299 * r + 0.587 * g + 0.114 * b)
        : Math.round((r * 5) / 255) + 6 * Math.round((g * 6) / 255) + 42 * Math.round((b * 5) / 255);
    }
  }
  return out;
}

/** The reference reduced the way the gate reduces (k×k boxes, k the largest keeping the shorter side >= 512), as luma. */
export function boxLuma(rgba: Uint8Array, w: number, h: number): DecodedImage {
  const k = Math.max(1, Math.floor(Math.min(w, h) / 512));
  const W = Math.ceil(w / k);
  const H = Math.ceil(h / k);
  const sums = new Float64Array(W * H);
  const counts = new Float64Array(W * H);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      const cell = Math.floor(y / k) * W + Math.floor(x / k);
      sums[cell]! += Math.round(0.299 * rgba[o]! + 0.587 * rgba[o + 1]! + 0.114 * rgba[o + 2]!);
      counts[cell]! += 1;
    }
  }
  const pixels = Uint8Array.from(sums, (s, i) => Math.round(s / counts[i]!));
  return { width: W, height: H, channels: 1, pixels };
}

export function maxDifference(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Sub-block sizes drawn at random (1..255), seeded so a failure reproduces. */
export function randomSubBlocks(seed: number): () => number {
  const next = rng(seed);
  return () => 1 + Math.floor(next() * 255);
}
