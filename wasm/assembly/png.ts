// PNG row unfiltering (PNG spec, section 9), the per-byte work of decoding a PNG after
// inflating: the host keeps two row buffers here (pngRowsBegin) and unfilters each row from
// the inflater's output (or from a row buffer it assembled) into one of them.

import { align16, dynamicBase, ensureMemory } from "./memory";

/**
 * Maps two row buffers of `bytes` each (filter byte + row) at the start of the dynamic region;
 * returns the first one's address (the second follows at pngRowsStride()), 0 when memory cannot grow.
 */
export function pngRowsBegin(bytes: i32): usize {
  const base = dynamicBase();
  if (bytes <= 0 || !ensureMemory(base + 2 * align16(<usize>bytes + 16))) return 0;
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
