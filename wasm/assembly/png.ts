// PNG rows after inflating, the per-byte work of decoding a PNG: unfiltering (PNG spec,
// section 9) and conversion to 8-bit pixels. The host keeps two row buffers and a pixel row here
// (pngRowsBegin), unfilters each row from the inflater's output (or from a row buffer it
// assembled) into one of them, then converts it into the pixel row unless it already is one.

import { align16, dynamicBase, ensureMemory } from "./memory";

/** RGBA palette entries for pngConvert (the host writes them). */
const PALETTE: usize = memory.data(256 * 4, 16);

export function pngPalettePtr(): usize {
  return PALETTE;
}

/**
 * Maps two row buffers of `bytes` each (filter byte + row) at the start of the dynamic region,
 * then a pixel row of `pixelBytes`; returns the first one's address (the others follow at
 * pngRowsStride() steps), 0 when memory cannot grow.
 */
export function pngRowsBegin(bytes: i32, pixelBytes: i32): usize {
  const base = dynamicBase();
  if (bytes <= 0 || pixelBytes < 0) return 0;
  if (!ensureMemory(base + 2 * align16(<usize>bytes + 16) + <usize>pixelBytes)) return 0;
  return base;
}

/** Distance between the two row buffers of pngRowsBegin(bytes). */
export function pngRowsStride(bytes: i32): usize {
  return align16(<usize>bytes + 16);
}

/**
 * Reverses the filter of one row: src[0] is the filter type, src[1..stride] the filtered bytes;
 * dst[1..stride] gets the row (dst may be src). `prev` is the previous row's buffer, 0 for the
 * first row of a pass. Returns 0, or -1 for an unknown filter type.
 */
export function pngUnfilter(src: usize, dst: usize, prev: usize, stride: i32, bpp: i32): i32 {
  const filter = <i32>load<u8>(src);
  const end = <usize>stride + 1;
  const b = <usize>bpp;
  const first = min(end, 1 + b);
  if (filter === 0 || (filter === 2 && prev === 0)) {
    if (src !== dst) memory.copy(dst + 1, src + 1, end - 1);
  } else if (filter === 1 || (filter === 4 && prev === 0)) {
    for (let i: usize = 1; i < first; i++) store<u8>(dst + i, load<u8>(src + i));
    for (let i = first; i < end; i++) store<u8>(dst + i, load<u8>(src + i) + load<u8>(dst + i - b));
  } else if (filter === 2) {
    let i: usize = 1;
    for (; i + 16 <= end; i += 16) v128.store(dst + i, i8x16.add(v128.load(src + i), v128.load(prev + i)));
    for (; i < end; i++) store<u8>(dst + i, load<u8>(src + i) + load<u8>(prev + i));
  } else if (filter === 3) {
    for (let i: usize = 1; i < first; i++) {
      const up = prev !== 0 ? <u32>load<u8>(prev + i) : 0;
      store<u8>(dst + i, load<u8>(src + i) + <u8>(up >> 1));
    }
    if (prev === 0) {
      for (let i = first; i < end; i++) store<u8>(dst + i, load<u8>(src + i) + (load<u8>(dst + i - b) >> 1));
    } else {
      for (let i = first; i < end; i++) {
        const avg = (<u32>load<u8>(dst + i - b) + <u32>load<u8>(prev + i)) >> 1;
        store<u8>(dst + i, load<u8>(src + i) + <u8>avg);
      }
    }
  } else if (filter === 4) {
    for (let i: usize = 1; i < first; i++) store<u8>(dst + i, load<u8>(src + i) + load<u8>(prev + i));
    if (bpp === 3 || bpp === 4) {
      paethPixels(src, dst, prev, end, b);
      return 0;
    }
    for (let i = first; i < end; i++) {
      const a = <i32>load<u8>(dst + i - b);
      const up = <i32>load<u8>(prev + i);
      const c = <i32>load<u8>(prev + i - b);
      // |p - a|, |p - b|, |p - c| with p = a + b - c
      const da = up - c;
      const db = a - c;
      const pa = abs(da);
      const pb = abs(db);
      const pc = abs(da + db);
      const pred = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
      store<u8>(dst + i, load<u8>(src + i) + <u8>pred);
    }
  } else return -1;
  return 0;
}

/**
 * Paeth for RGB and RGBA rows (after the first pixel), a pixel at a time in SIMD lanes: the
 * predictor depends on the pixel just decoded, so lanes run across channels, not pixels (3x
 * faster than per byte on the fixtures' RGBA PNGs). Reads one byte past an RGB pixel; writes
 * only its own bytes, so src may be dst.
 */
function paethPixels(src: usize, dst: usize, prev: usize, end: usize, bpp: usize): void {
  let a = i16x8.extend_low_i8x16_u(v128.load32_zero(dst + 1));
  let c = i16x8.extend_low_i8x16_u(v128.load32_zero(prev + 1));
  const low = i16x8.splat(0xff);
  for (let i: usize = 1 + bpp; i + bpp <= end; i += bpp) {
    const b = i16x8.extend_low_i8x16_u(v128.load32_zero(prev + i));
    const x = i16x8.extend_low_i8x16_u(v128.load32_zero(src + i));
    const bc = i16x8.sub(b, c); // p - a
    const ac = i16x8.sub(a, c); // p - b
    const pa = i16x8.abs(bc);
    const pb = i16x8.abs(ac);
    const pc = i16x8.abs(i16x8.add(bc, ac));
    const useA = v128.and(i16x8.le_s(pa, pb), i16x8.le_s(pa, pc));
    const pred = v128.bitselect(a, v128.bitselect(b, c, i16x8.le_s(pb, pc)), useA);
    const r = v128.and(i16x8.add(x, pred), low);
    const bytes = i8x16.narrow_i16x8_u(r, r);
    if (bpp === 4) v128.store32_lane(dst + i, bytes, 0);
    else {
      v128.store16_lane(dst + i, bytes, 0);
      v128.store8_lane(dst + i + 2, bytes, 2);
    }
    a = r;
    c = b;
  }
}

/**
 * Converts `count` pixels of an unfiltered row at `src` (IHDR colour type and bit depth) into
 * 8-bit pixels of `out` channels at `dst`: 16-bit samples keep their high byte, sub-8-bit grey
 * is scaled to 0..255, palette indices (first sample in the high bits) are looked up in PALETTE.
 * Returns 0, or -1 for a palette index at or beyond `entries`. A loop per kind of row: one
 * generic loop cost ~15 ns a pixel on the fixtures' 1-bit and palette PNGs.
 */
export function pngConvert(
  src: usize,
  dst: usize,
  count: i32,
  colorType: i32,
  depth: i32,
  out: i32,
  entries: i32,
): i32 {
  if (colorType === 3) return convertPalette(src, dst, count, depth, out, entries);
  if (depth < 8) {
    convertPackedGrey(src, dst, count, depth, out);
    return 0;
  }
  const spp = colorType === 2 ? 3 : colorType === 4 ? 2 : colorType === 6 ? 4 : 1;
  const step: usize = depth === 16 ? 2 : 1;
  const pixelStep = <usize>spp * step;
  const grey = colorType === 0 || colorType === 4;
  const alpha = colorType === 4 || colorType === 6;
  const alphaAt = grey ? step : 3 * step;
  let o = dst;
  for (let s = src, end = src + <usize>count * pixelStep; s < end; s += pixelStep, o += <usize>out) {
    const r = load<u8>(s);
    store<u8>(o, r);
    if (out === 1) continue;
    store<u8>(o + 1, grey ? r : load<u8>(s + step));
    store<u8>(o + 2, grey ? r : load<u8>(s + 2 * step));
    if (out === 4) store<u8>(o + 3, alpha ? load<u8>(s + alphaAt) : 255);
  }
  return 0;
}

/** Palette entry `v` at `o`: RGBA when `out` is 4, else RGB. */
function putEntry(o: usize, v: i32, out: i32): void {
  const e = PALETTE + ((<usize>v) << 2);
  if (out === 4) store<u32>(o, load<u32>(e));
  else {
    store<u16>(o, load<u16>(e));
    store<u8>(o + 2, load<u8>(e + 2));
  }
}

function convertPalette(src: usize, dst: usize, count: i32, depth: i32, out: i32, entries: i32): i32 {
  let o = dst;
  if (depth === 8) {
    for (let k = 0; k < count; k++, o += <usize>out) {
      const v = <i32>load<u8>(src + <usize>k);
      if (v >= entries) return -1;
      putEntry(o, v, out);
    }
    return 0;
  }
  const mask = (1 << depth) - 1;
  const perByte = 8 / depth;
  for (let k = 0, p = src; k < count; p++) {
    const byte = <i32>load<u8>(p);
    const n = min(count - k, perByte);
    for (let j = 0, sh = 8 - depth; j < n; j++, sh -= depth, o += <usize>out) {
      const v = (byte >> sh) & mask;
      if (v >= entries) return -1;
      putEntry(o, v, out);
    }
    k += n;
  }
  return 0;
}

function convertPackedGrey(src: usize, dst: usize, count: i32, depth: i32, out: i32): void {
  const mask = (1 << depth) - 1;
  const scale = 255 / mask; // a whole number for depths 1, 2 and 4
  const perByte = 8 / depth;
  let o = dst;
  for (let k = 0, p = src; k < count; p++) {
    const byte = <i32>load<u8>(p);
    const n = min(count - k, perByte);
    for (let j = 0, sh = 8 - depth; j < n; j++, sh -= depth, o += <usize>out) {
      const v = <u8>(((byte >> sh) & mask) * scale);
      store<u8>(o, v);
      if (out === 1) continue;
      store<u8>(o + 1, v);
      store<u8>(o + 2, v);
      if (out === 4) store<u8>(o + 3, 255);
    }
    k += n;
  }
}
