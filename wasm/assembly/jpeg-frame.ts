// JPEG frame state and marker segments (SOF, DQT, DHT, DRI, APP14) for the scaled luma decoder.
//
// PDQ needs luma only, reduced to 64x64, so the decoder produces a luma plane at DCT scale
// 1/8, 1/4, 1/2 or 1/1: the largest reduction that keeps the shorter side at or above the
// host's target (512 px in the gate). For YCbCr and greyscale files that plane is the first
// component alone; chroma is entropy-decoded only to stay in step with the bitstream. RGB,
// CMYK and YCCK files need every component, combined into luma at the end (combineLuma).
// Supported: 8-bit baseline, extended sequential and progressive Huffman frames. Arithmetic
// coding, lossless, hierarchical and 12-bit frames are refused as unsupported.

import { defineHuffman, resetHuffman } from "./jpeg-bits";
import { align16, dynamicBase, ensureMemory } from "./memory";

export const OK: i32 = 0;
export const ERR_CORRUPT: i32 = -1;
export const ERR_MEMORY: i32 = -2;
export const ERR_UNSUPPORTED: i32 = -3;
export const ERR_TRUNCATED: i32 = -4;

// Colour models.
export const MODEL_GREY: i32 = 0;
export const MODEL_YCC: i32 = 1;
export const MODEL_RGB: i32 = 2;
export const MODEL_CMYK: i32 = 3;
export const MODEL_YCCK: i32 = 4;

/** Zig-zag index -> natural (row-major) index within the 8x8 block. */
export const ZIGZAG: usize = memory.data<u8>([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
]);
/** Quantisation tables, natural order, 4 x 64 x u16. */
export const QUANT: usize = memory.data(4 * 64 * 2, 16);
const QUANT_DEFINED: usize = memory.data(4, 16);

// Per-component fields (i32), 4 components x 16 fields.
const COMP: usize = memory.data(4 * 16 * 4, 16);
export const F_ID: i32 = 0;
export const F_H: i32 = 1;
export const F_V: i32 = 2;
export const F_TQ: i32 = 3;
export const F_CW: i32 = 4; // component width in samples: ceil(W * h / hmax)
export const F_CH: i32 = 5;
export const F_BW: i32 = 6; // blocks across the component: ceil(cw / 8)
export const F_BH: i32 = 7;
export const F_PBW: i32 = 8; // blocks across the MCU grid (>= F_BW)
export const F_PBH: i32 = 9;
export const F_NEED: i32 = 10; // 1 if the luma needs this component
export const F_PLANE: i32 = 11; // address of its reduced plane
export const F_STRIDE: i32 = 12; // plane row stride in bytes
export const F_COEF: i32 = 13; // progressive: address of its coefficient records
export const F_REC: i32 = 14; // progressive: bytes per block record
export const F_KEEP: i32 = 15; // progressive: highest zig-zag index any decoded band reaches

export function cf(c: i32, f: i32): i32 {
  return load<i32>(COMP + <usize>((c * 16 + f) << 2));
}
export function setCf(c: i32, f: i32, v: i32): void {
  store<i32>(COMP + <usize>((c * 16 + f) << 2), v);
}

export let frameWidth: i32 = 0;
export let frameHeight: i32 = 0;
export let components: i32 = 0;
export let progressive: bool = false;
export let hmax: i32 = 1;
export let vmax: i32 = 1;
export let mcusX: i32 = 0;
export let mcusY: i32 = 0;
export let model: i32 = MODEL_YCC;
/** Pixels per block side in the output (8 >> log2 of the reduction). */
export let blockSize: i32 = 8;
/** Highest zig-zag index inside the blockSize x blockSize corner: the coefficients a block needs. */
export let needK: i32 = 63;
export let restartInterval: i32 = 0;
let adobeTransform: i32 = -1; // -1: no Adobe APP14 marker
let targetShortSide: i32 = 512;
let haveFrame: bool = false;

// Output luma plane (the first component's plane, or the combined one).
export let outPtr: usize = 0;
export let outWidth: i32 = 0;
export let outHeight: i32 = 0;
export let outStride: i32 = 0;
export let workEnd: usize = 0;

/** Starts a new image: forgets tables and frame; `shortSide` <= 0 asks for full resolution. */
export function frameReset(shortSide: i32): void {
  resetHuffman();
  memory.fill(QUANT_DEFINED, 0, 4);
  memory.fill(COMP, 0, 4 * 16 * 4);
  haveFrame = false;
  adobeTransform = -1;
  restartInterval = 0;
  targetShortSide = shortSide;
  outPtr = 0;
  workEnd = dynamicBase();
}

export function quantDefined(t: i32): bool {
  return load<u8>(QUANT_DEFINED + <usize>t) !== 0;
}

/** APP14: remembers Adobe's colour transform flag (0: none, 1: YCbCr, 2: YCCK). */
export function readAdobe(p: usize, len: i32): i32 {
  if (
    len >= 12 &&
    load<u8>(p) === 0x41 &&
    load<u8>(p, 1) === 0x64 &&
    load<u8>(p, 2) === 0x6f &&
    load<u8>(p, 3) === 0x62 &&
    load<u8>(p, 4) === 0x65
  ) {
    adobeTransform = <i32>load<u8>(p, 11);
  }
  return OK;
}

/** DQT: one or more tables (8- or 16-bit entries), stored in natural order. */
export function readQuant(p: usize, len: i32): i32 {
  let i = 0;
  while (i < len) {
    const pq = <i32>load<u8>(p + <usize>i) >> 4;
    const tq = <i32>load<u8>(p + <usize>i) & 15;
    i++;
    if (tq > 3 || pq > 1 || i + 64 * (pq + 1) > len) return ERR_CORRUPT;
    const t = QUANT + <usize>(tq << 7);
    for (let k = 0; k < 64; k++) {
      const v =
        pq === 0
          ? <i32>load<u8>(p + <usize>(i + k))
          : ((<i32>load<u8>(p + <usize>(i + 2 * k))) << 8) | <i32>load<u8>(p + <usize>(i + 2 * k + 1));
      store<u16>(t + ((<usize>load<u8>(ZIGZAG + <usize>k)) << 1), <u16>v);
    }
    store<u8>(QUANT_DEFINED + <usize>tq, 1);
    i += 64 * (pq + 1);
  }
  return OK;
}

/** DHT: one or more tables. */
export function readHuffman(p: usize, len: i32): i32 {
  let i = 0;
  while (i < len) {
    const tc = <i32>load<u8>(p + <usize>i) >> 4;
    const th = <i32>load<u8>(p + <usize>i) & 15;
    if (tc > 1 || th > 3) return ERR_CORRUPT;
    const used = defineHuffman(tc * 4 + th, p + <usize>(i + 1), len - i - 1);
    if (used < 0) return ERR_CORRUPT;
    i += 1 + used;
  }
  return OK;
}

export function readRestartInterval(p: usize, len: i32): i32 {
  if (len < 2) return ERR_CORRUPT;
  restartInterval = ((<i32>load<u8>(p)) << 8) | <i32>load<u8>(p, 1);
  return OK;
}

/** SOFn: the frame header. Only 8-bit Huffman DCT frames are decoded. */
export function readFrame(marker: i32, p: usize, len: i32): i32 {
  if (haveFrame) return ERR_CORRUPT; // one frame per image (hierarchical files have several)
  if (marker === 0xc3 || (marker >= 0xc5 && marker <= 0xc7) || marker >= 0xc9) return ERR_UNSUPPORTED;
  if (len < 6) return ERR_CORRUPT;
  if (load<u8>(p) !== 8) return ERR_UNSUPPORTED;
  frameHeight = ((<i32>load<u8>(p, 1)) << 8) | <i32>load<u8>(p, 2);
  frameWidth = ((<i32>load<u8>(p, 3)) << 8) | <i32>load<u8>(p, 4);
  components = <i32>load<u8>(p, 5);
  // Height 0 (defined later by a DNL marker) is not supported.
  if (frameWidth === 0 || frameHeight === 0) return ERR_UNSUPPORTED;
  if (components !== 1 && components !== 3 && components !== 4) return ERR_UNSUPPORTED;
  if (len < 6 + 3 * components) return ERR_CORRUPT;
  progressive = marker === 0xc2;
  hmax = 1;
  vmax = 1;
  for (let c = 0; c < components; c++) {
    const q = p + <usize>(6 + 3 * c);
    const h = <i32>load<u8>(q, 1) >> 4;
    const v = <i32>load<u8>(q, 1) & 15;
    const tq = <i32>load<u8>(q, 2);
    if (h < 1 || h > 4 || v < 1 || v > 4 || tq > 3) return ERR_CORRUPT;
    setCf(c, F_ID, <i32>load<u8>(q));
    setCf(c, F_H, h);
    setCf(c, F_V, v);
    setCf(c, F_TQ, tq);
    hmax = max(hmax, h);
    vmax = max(vmax, v);
  }
  let blocksPerMcu = 0;
  for (let c = 0; c < components; c++) blocksPerMcu += cf(c, F_H) * cf(c, F_V);
  if (components > 1 && blocksPerMcu > 10) return ERR_CORRUPT;
  mcusX = (frameWidth + 8 * hmax - 1) / (8 * hmax);
  mcusY = (frameHeight + 8 * vmax - 1) / (8 * vmax);
  for (let c = 0; c < components; c++) {
    const cw = <i32>((<i64>frameWidth * cf(c, F_H) + hmax - 1) / hmax);
    const ch = <i32>((<i64>frameHeight * cf(c, F_V) + vmax - 1) / vmax);
    setCf(c, F_CW, cw);
    setCf(c, F_CH, ch);
    setCf(c, F_BW, (cw + 7) >> 3);
    setCf(c, F_BH, (ch + 7) >> 3);
    setCf(c, F_PBW, components === 1 ? (cw + 7) >> 3 : mcusX * cf(c, F_H));
    setCf(c, F_PBH, components === 1 ? (ch + 7) >> 3 : mcusY * cf(c, F_V));
  }
  if (components === 1) {
    // A single-component frame is never interleaved: its MCU is one block.
    mcusX = cf(0, F_BW);
    mcusY = cf(0, F_BH);
  }
  chooseModel();
  chooseScale();
  haveFrame = true;
  return OK;
}

function chooseModel(): void {
  if (components === 1) model = MODEL_GREY;
  else if (components === 4) model = adobeTransform === 2 ? MODEL_YCCK : MODEL_CMYK;
  else if (adobeTransform === 0) model = MODEL_RGB;
  else if (adobeTransform < 0 && cf(0, F_ID) === 0x52 && cf(1, F_ID) === 0x47 && cf(2, F_ID) === 0x42)
    model = MODEL_RGB;
  else model = MODEL_YCC;
  for (let c = 0; c < components; c++)
    setCf(c, F_NEED, model === MODEL_GREY || model === MODEL_YCC ? (c === 0 ? 1 : 0) : 1);
}

/** The largest reduction (8, 4, 2) whose output keeps the luma's shorter side >= the target. */
function chooseScale(): void {
  // Luma-only output is the first component's plane; combined output is the full frame.
  const lumaOnly = model === MODEL_GREY || model === MODEL_YCC;
  const shortSide = lumaOnly ? min(cf(0, F_CW), cf(0, F_CH)) : min(frameWidth, frameHeight);
  let reduction = 1;
  if (targetShortSide > 0) {
    for (let r = 8; r >= 2; r >>= 1) {
      if ((shortSide + r - 1) / r >= targetShortSide) {
        reduction = r;
        break;
      }
    }
  }
  blockSize = 8 / reduction;
  needK = blockSize === 1 ? 0 : blockSize === 2 ? 4 : blockSize === 4 ? 24 : 63;
  for (let c = 0; c < components; c++) setCf(c, F_KEEP, needK);
}

export function frameDefined(): bool {
  return haveFrame;
}

/**
 * Bytes of linear memory the decode will use beyond the core's static data: the reduced planes,
 * the progressive coefficient records and the combined luma plane. Valid after every scan was
 * planned (planScan).
 */
export function workBytes(): usize {
  let n: usize = 0;
  for (let c = 0; c < components; c++) {
    if (cf(c, F_NEED) === 0) continue;
    n += align16(planeBytes(c));
    if (progressive) n += align16(<usize>cf(c, F_PBW) * <usize>cf(c, F_PBH) * <usize>recordBytes(c));
  }
  if (!(model === MODEL_GREY || model === MODEL_YCC))
    n += align16(<usize>combinedWidth() * <usize>combinedHeight());
  return n;
}

function planeBytes(c: i32): usize {
  return <usize>cf(c, F_PBW) * <usize>blockSize * <usize>cf(c, F_PBH) * <usize>blockSize;
}

function combinedWidth(): i32 {
  return <i32>((<i64>frameWidth * blockSize + 7) / 8);
}

function combinedHeight(): i32 {
  return <i32>((<i64>frameHeight * blockSize + 7) / 8);
}

/**
 * Progressive block record: the first needK + 1 coefficients (i16, zig-zag order), then, when
 * a decoded band reaches beyond them, a 64-bit mask of which coefficients are non-zero (the
 * refinement scans need that, not their values).
 */
export function recordBytes(c: i32): i32 {
  const values = (needK + 1) * 2;
  return cf(c, F_KEEP) > needK ? ((values + 7) & ~7) + 8 : values;
}

/** Maps the work area (workBytes); returns OK or ERR_MEMORY. */
export function allocate(): i32 {
  const base = dynamicBase();
  if (!ensureMemory(base + workBytes())) return ERR_MEMORY;
  let p = base;
  for (let c = 0; c < components; c++) {
    if (cf(c, F_NEED) === 0) continue;
    setCf(c, F_PLANE, <i32>p);
    setCf(c, F_STRIDE, cf(c, F_PBW) * blockSize);
    // Linear memory keeps the last image's pixels: none of them may survive into this one.
    memory.fill(p, 0, planeBytes(c));
    p += align16(planeBytes(c));
    if (progressive) {
      const n = <usize>cf(c, F_PBW) * <usize>cf(c, F_PBH) * <usize>recordBytes(c);
      setCf(c, F_REC, recordBytes(c));
      setCf(c, F_COEF, <i32>p);
      memory.fill(p, 0, n);
      p += align16(n);
    }
  }
  if (model === MODEL_GREY || model === MODEL_YCC) {
    outPtr = <usize>cf(0, F_PLANE);
    outStride = cf(0, F_STRIDE);
    outWidth = <i32>((<i64>cf(0, F_CW) * blockSize + 7) / 8);
    outHeight = <i32>((<i64>cf(0, F_CH) * blockSize + 7) / 8);
  } else {
    outPtr = p;
    outWidth = combinedWidth();
    outHeight = combinedHeight();
    outStride = outWidth;
    p += align16(<usize>outWidth * <usize>outHeight);
  }
  workEnd = p;
  return OK;
}

function clamp255(v: f32): f32 {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * RGB, CMYK and YCCK: luma 0.299 R + 0.587 G + 0.114 B of every output pixel, components
 * sampled at their own resolution. Adobe CMYK stores inverted ink, so R = C' * K' / 255 with
 * C', K' the stored values (jpeg-js and browsers do the same).
 */
export function combineLuma(): void {
  if (model === MODEL_GREY || model === MODEL_YCC) return;
  for (let y = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const a = sample(0, x, y);
      const b = sample(1, x, y);
      const d = sample(2, x, y);
      let r: f32, g: f32, bl: f32;
      if (model === MODEL_RGB || model === MODEL_CMYK) {
        r = a;
        g = b;
        bl = d;
      } else {
        r = clamp255(a + 1.402 * (d - 128));
        g = clamp255(a - 0.3441363 * (b - 128) - 0.71413636 * (d - 128));
        bl = clamp255(a + 1.772 * (b - 128));
      }
      if (model !== MODEL_RGB) {
        const k = sample(3, x, y) / 255.0;
        r *= k;
        g *= k;
        bl *= k;
      }
      const l = <f32>0.299 * r + <f32>0.587 * g + <f32>0.114 * bl;
      store<u8>(outPtr + <usize>y * <usize>outStride + <usize>x, <u8>clamp255(Mathf.round(l)));
    }
  }
}

function sample(c: i32, x: i32, y: i32): f32 {
  const sx = <i32>((<i64>x * cf(c, F_H)) / hmax);
  const sy = <i32>((<i64>y * cf(c, F_V)) / vmax);
  return <f32>load<u8>(<usize>cf(c, F_PLANE) + <usize>sy * <usize>cf(c, F_STRIDE) + <usize>sx);
}
