// PDQ at full resolution: luma -> Jarosz blur -> 64x64 -> quality -> 16x16 DCT -> 8 hashes.
//
// The host streams the image in: begin(w, h, channels) maps the workspace and says how many
// rows fit in the strip buffer; feed(n) consumes n rows from it; finish() computes the hashes.
// Only a strip of input is ever in linear memory, so hashing a 50-megapixel image needs a few
// MB here instead of a copy of the whole image.

import {
  blurBegin,
  blurFinish,
  blurRow,
  blurWorkspace,
  lastWindowAlongCols,
  lastWindowAlongRows,
} from "./blur";
import { dct16, quality } from "./dct";
import { lumaRow } from "./luma";
import { align16, dynamicBase, ensureMemory } from "./memory";
import { dihedral, median256, thresholdBits } from "./threshold";

/** 64x64 buffer after blur and decimation (float32, row-major). */
export const BUF64: usize = memory.data(64 * 64 * 4, 16);
/** 16x16 DCT of BUF64. */
export const DCT16: usize = memory.data(16 * 16 * 4, 16);
/** Output: 8 hashes of 32 bytes (orig, rot90, rot180, rot270, flipX, flipY, flipPlus1, flipMinus1). */
export const HASHES: usize = memory.data(8 * 32, 16);
const TMP16X64: usize = memory.data(16 * 64 * 4, 16);
const VARIANT: usize = memory.data(256 * 4, 16);
const SORTED: usize = memory.data(256 * 4, 16);
/** Target size of the input strip; at least one row is always taken. */
const STRIP_BYTES: usize = 1 << 20;

export let lastMedian: f32 = 0;
let width: i32 = 0;
let height: i32 = 0;
let channels: i32 = 0;
let rowsFed: i32 = -1; // -1: no image begun
let stripRows: i32 = 0;

/**
 * Starts an image (`ch` = 1, 3 or 4 interleaved bytes per pixel). Returns how many rows the
 * strip buffer (stripPtr) holds, -1 for bad arguments, -2 when memory cannot grow.
 */
export function begin(w: i32, h: i32, ch: i32): i32 {
  rowsFed = -1;
  if (w <= 0 || h <= 0 || (ch !== 1 && ch !== 3 && ch !== 4)) return -1;
  const rowLen = <u64>w * <u64>ch;
  if (rowLen > 0x4000_0000) return -1;
  stripRows = <i32>max<u64>(1, min<u64>(<u64>h, <u64>STRIP_BYTES / rowLen));
  const work = dynamicBase() + align16(<usize>(rowLen * <u64>stripRows));
  const blurs = w >= 5 && h >= 5 && !(w === 64 && h === 64);
  if (!ensureMemory(work + (blurs ? blurWorkspace(w, h) : 0))) return -2;
  if (blurs) blurBegin(w, h, ch, work);
  width = w;
  height = h;
  channels = ch;
  rowsFed = 0;
  return stripRows;
}

export function stripPtr(): usize {
  return dynamicBase();
}

/** Consumes the first `n` rows of the strip buffer. Returns the rows fed so far, or -1. */
export function feed(n: i32): i32 {
  if (rowsFed < 0 || n < 0 || n > stripRows || rowsFed + n > height) return -1;
  const rowLen = <usize>width * <usize>channels;
  const tiny = width < 5 || height < 5;
  for (let r = 0; r < n; r++) {
    const row = dynamicBase() + <usize>r * rowLen;
    const y = rowsFed + r;
    if (tiny) continue;
    // The reference skips the blur when the image already has the target size.
    if (width === 64 && height === 64) lumaRow(row, 64, channels, BUF64 + ((<usize>(y << 6)) << 2));
    else blurRow(row);
  }
  rowsFed += n;
  return rowsFed;
}

/**
 * Finishes the image: returns the quality (0..100) with the 8 hashes in HASHES, or -1 if not
 * every row was fed. Images under 5 px on a side give all-zero hashes and quality 0, like the
 * reference.
 */
export function finish(): i32 {
  if (rowsFed !== height) return -1;
  rowsFed = -1;
  memory.fill(HASHES, 0, 8 * 32);
  lastMedian = 0;
  if (width < 5 || height < 5) return 0;
  if (!(width === 64 && height === 64)) blurFinish(BUF64);
  const q = quality(BUF64);
  dct16(BUF64, TMP16X64, DCT16);
  for (let v = 0; v < 8; v++) {
    dihedral(DCT16, v, VARIANT);
    const m = median256(VARIANT, SORTED);
    if (v === 0) lastMedian = m;
    thresholdBits(VARIANT, m, HASHES + <usize>(v << 5));
  }
  return q;
}

export function windowAlongRows(): i32 {
  return lastWindowAlongRows;
}

export function windowAlongCols(): i32 {
  return lastWindowAlongCols;
}
