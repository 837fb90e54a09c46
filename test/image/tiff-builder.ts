/**
 * Test data: small TIFF writer — grey or RGB, 8 or 16 bits, strips or tiles, uncompressed,
 * PackBits, LZW or Deflate, with or without the horizontal predictor, either byte order.
 */
import { concatBytes } from "../../src/bytes.ts";
import { deflate } from "./png-encoder.ts";

export interface TiffSpec {
  width: number;
  height: number;
  channels: 1 | 3;
  bits?: 8 | 16;
  /** Samples at `bits`, row-major, `channels` per pixel. */
  samples: ArrayLike<number>;
  compression?: 1 | 5 | 8 | 32773;
  predictor?: boolean;
  rowsPerStrip?: number;
  /** Tiles of this size (a multiple of 16) instead of strips. */
  tile?: number;
  bigEndian?: boolean;
}

export function packBits(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < src.length; ) {
    let run = 1;
    while (i + run < src.length && run < 128 && src[i + run] === src[i]) run++;
    if (run > 2) {
      out.push(257 - run, src[i]!);
      i += run;
    } else {
      const n = Math.min(128, src.length - i);
      out.push(n - 1, ...src.subarray(i, i + n));
      i += n;
    }
  }
  return Uint8Array.from(out);
}

/** TIFF LZW: MSB-first codes, widths growing one code early (as libtiff writes). */
export function tiffLzw(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let nbits = 0;
  let width = 9;
  const put = (code: number) => {
    acc = (acc << width) | code;
    nbits += width;
    while (nbits >= 8) {
      out.push((acc >>> (nbits - 8)) & 0xff);
      nbits -= 8;
    }
    acc &= (1 << nbits) - 1;
  };
  let dict = new Map<string, number>();
  let next = 258;
  put(256);
  let w = "";
  for (const b of src) {
    const wc = w === "" ? String.fromCharCode(b) : w + String.fromCharCode(b);
    if (wc.length === 1 || dict.has(wc)) {
      w = wc;
      continue;
    }
    put(w.length === 1 ? w.charCodeAt(0) : dict.get(w)!);
    dict.set(wc, next++);
    // The encoder is one entry ahead of the decoder: it widens one code later than the decoder's rule.
    if (next >= 1 << width && width < 12) width++;
    if (next >= 4094) {
      put(256);
      dict = new Map();
      next = 258;
      width = 9;
    }
    w = String.fromCharCode(b);
  }
  if (w !== "") put(w.length === 1 ? w.charCodeAt(0) : dict.get(w)!);
  put(257);
  if (nbits > 0) out.push((acc << (8 - nbits)) & 0xff);
  return Uint8Array.from(out);
}

export async function encodeTiff(s: TiffSpec): Promise<Uint8Array> {
  const bits = s.bits ?? 8;
  const le = !s.bigEndian;
  const bps = bits / 8;
  const tw = s.tile ?? s.width;
  const th = s.tile ?? Math.min(s.rowsPerStrip ?? s.height, s.height);
  const across = Math.ceil(s.width / tw);
  const down = Math.ceil(s.height / th);
  const blocks: Uint8Array[] = [];
  for (let ty = 0; ty < down; ty++) {
    for (let tx = 0; tx < across; tx++) {
      const rows = s.tile ? th : Math.min(th, s.height - ty * th);
      const raw = new Uint8Array(tw * rows * s.channels * bps);
      const dv = new DataView(raw.buffer);
      for (let y = 0; y < rows; y++) {
        const prev = new Array(s.channels).fill(0);
        for (let x = 0; x < tw; x++) {
          const sy = ty * th + y;
          const sx = tx * tw + x;
          for (let c = 0; c < s.channels; c++) {
            const v = sy < s.height && sx < s.width ? s.samples[(sy * s.width + sx) * s.channels + c]! : 0;
            const stored = s.predictor ? (v - prev[c]) & (bits === 8 ? 0xff : 0xffff) : v;
            prev[c] = v;
            const o = ((y * tw + x) * s.channels + c) * bps;
            if (bits === 8) raw[o] = stored;
            else dv.setUint16(o, stored, le);
          }
        }
      }
      const c = s.compression ?? 1;
      blocks.push(c === 1 ? raw : c === 32773 ? packBits(raw) : c === 5 ? tiffLzw(raw) : await deflate(raw));
    }
  }
  // Layout: header, blocks, then the IFD and its out-of-line values.
  const header = new Uint8Array(8);
  const hv = new DataView(header.buffer);
  header.set(le ? [0x49, 0x49] : [0x4d, 0x4d]);
  hv.setUint16(2, 42, le);
  const offsets: number[] = [];
  let at = 8;
  for (const b of blocks) {
    offsets.push(at);
    at += b.length + (b.length & 1);
  }
  const tags: [number, number, number[]][] = [
    [256, 4, [s.width]],
    [257, 4, [s.height]],
    [258, 3, new Array(s.channels).fill(bits)],
    [259, 3, [s.compression ?? 1]],
    [262, 3, [s.channels === 3 ? 2 : 1]],
    [277, 3, [s.channels]],
    ...(s.predictor ? [[317, 3, [2]] as [number, number, number[]]] : []),
  ];
  if (s.tile)
    tags.push([322, 4, [tw]], [323, 4, [th]], [324, 4, offsets], [325, 4, blocks.map((b) => b.length)]);
  else tags.push([273, 4, offsets], [278, 4, [th]], [279, 4, blocks.map((b) => b.length)]);
  tags.sort((a, b) => a[0] - b[0]);
  const ifdAt = at;
  hv.setUint32(4, ifdAt, le);
  const ifd = new Uint8Array(2 + tags.length * 12 + 4);
  const iv = new DataView(ifd.buffer);
  iv.setUint16(0, tags.length, le);
  let extraAt = ifdAt + ifd.length;
  const ev: Uint8Array[] = [];
  tags.forEach(([tag, type, values], i) => {
    const e = 2 + i * 12;
    iv.setUint16(e, tag, le);
    iv.setUint16(e + 2, type, le);
    iv.setUint32(e + 4, values.length, le);
    const size = type === 3 ? 2 : 4;
    const buf = new Uint8Array(values.length * size);
    const bv = new DataView(buf.buffer);
    for (const [k, v] of values.entries()) {
      if (size === 2) bv.setUint16(k * 2, v, le);
      else bv.setUint32(k * 4, v, le);
    }
    if (buf.length <= 4) ifd.set(buf, e + 8);
    else {
      iv.setUint32(e + 8, extraAt, le);
      ev.push(buf);
      extraAt += buf.length;
    }
  });
  const padded = blocks.flatMap((b) => (b.length & 1 ? [b, new Uint8Array(1)] : [b]));
  return concatBytes([header, ...padded, ifd, ...ev]);
}
