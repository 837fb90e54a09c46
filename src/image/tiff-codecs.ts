/**
 * TIFF's own compressions: PackBits (run-length) and TIFF LZW (MSB-first codes, 9–12 bits,
 * Clear 256, EOI 257, widths changing one code early as libtiff writes them). Output stops at
 * `expected` bytes, whatever the data claims; bad codes raise ImageDecodeError.
 */
import { ImageDecodeError } from "./types.ts";

export function unpackBits(src: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  let o = 0;
  let i = 0;
  while (o < expected && i < src.length) {
    const n = (src[i++]! << 24) >> 24; // signed byte
    if (n >= 0) {
      const len = Math.min(n + 1, expected - o, src.length - i);
      out.set(src.subarray(i, i + len), o);
      o += len;
      i += n + 1;
    } else if (n !== -128) {
      if (i >= src.length) break;
      const len = Math.min(1 - n, expected - o);
      out.fill(src[i++]!, o, o + len);
      o += len;
    }
  }
  return out.subarray(0, o);
}

const CLEAR = 256;
const EOI = 257;

export function decodeTiffLzw(src: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  const prefix = new Int32Array(4096);
  const suffix = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let c = 0; c < 256; c++) {
    suffix[c] = c;
    length[c] = 1;
  }
  let next = 258;
  let width = 9;
  let prev = -1;
  let o = 0;
  let bitPos = 0;
  const totalBits = src.length * 8;
  while (o < expected && bitPos + width <= totalBits) {
    let code = 0;
    for (let k = 0; k < width; k++, bitPos++)
      code = (code << 1) | ((src[bitPos >> 3]! >> (7 - (bitPos & 7))) & 1);
    if (code === EOI) break;
    if (code === CLEAR) {
      next = 258;
      width = 9;
      prev = -1;
      continue;
    }
    if (prev === -1) {
      if (code > 255) throw new ImageDecodeError("corrupt", "TIFF LZW starts with a non-literal code");
      out[o++] = code;
      prev = code;
      continue;
    }
    if (code > next || next >= 4096)
      throw new ImageDecodeError("corrupt", `TIFF LZW code ${code} not yet defined`);
    // code === next: the string of prev plus its own first byte.
    const str = code < next ? code : prev;
    let first = str;
    while (length[first]! > 1) first = prefix[first]!;
    prefix[next] = prev;
    suffix[next] = first;
    length[next] = length[prev]! + 1;
    next++;
    const len = length[code]!;
    let c = code;
    for (let k = len - 1; k >= 0; k--) {
      if (o + k < expected) out[o + k] = suffix[c]!;
      c = prefix[c]!;
    }
    o = Math.min(expected, o + len);
    prev = code;
    if (next + 1 >= 1 << width && width < 12) width++;
  }
  return out.subarray(0, o);
}
