/**
 * BMP decoder: core (OS/2 1.x) and Windows INFO/V4/V5 headers; 1, 4 and 8-bit palettes, RLE8
 * and RLE4, 16 and 32-bit with or without bit-field masks, 24-bit; bottom-up and top-down rows.
 * Rows go straight from the file into the area-average downscaler (downscale.ts), so memory
 * follows the output. Output is RGB (alpha, where a BMP has it, is dropped: PDQ ignores it).
 * Our own decoder: the format is a few fixed headers and raw rows, and no decoder the gate can
 * run in workerd streams rows into its downscaler. Embedded JPEG/PNG (compression 4/5) is refused.
 */
import { AreaDownscaler, planScale } from "./downscale.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";

export interface BmpHeader {
  width: number;
  height: number;
  topDown: boolean;
  bpp: number;
  compression: number;
  /** Where the pixel rows start. */
  dataOffset: number;
  /** RGB palette entries (as BGR in the file) for bpp <= 8. */
  palette: Uint8Array | null;
  /** Red, green, blue masks for 16/32-bit. */
  masks: [number, number, number];
}

const BI_RGB = 0;
const BI_RLE8 = 1;
const BI_RLE4 = 2;
const BI_BITFIELDS = 3;
const BI_ALPHABITFIELDS = 6;

function fail(code: ImageDecodeError["code"], detail: string): never {
  throw new ImageDecodeError(code, `BMP ${detail}`);
}

/** Reads the file and DIB headers (and palette, masks); throws ImageDecodeError. */
export function readBmpHeader(b: Uint8Array): BmpHeader {
  if (b.length < 26 || b[0] !== 0x42 || b[1] !== 0x4d) fail("truncated", "ends in its header");
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const dataOffset = dv.getUint32(10, true);
  const dib = dv.getUint32(14, true);
  if (dib !== 12 && dib < 40) fail("corrupt", `header of ${dib} bytes`);
  if (b.length < 14 + Math.min(dib, 56)) fail("truncated", "ends in its header");
  const core = dib === 12;
  const width = core ? dv.getUint16(18, true) : dv.getInt32(18, true);
  const rawHeight = core ? dv.getUint16(20, true) : dv.getInt32(22, true);
  const bpp = dv.getUint16(core ? 24 : 28, true);
  const compression = core ? BI_RGB : dv.getUint32(30, true);
  if (width <= 0 || rawHeight === 0) fail("corrupt", `of ${width}x${rawHeight}`);
  if (![1, 4, 8, 16, 24, 32].includes(bpp)) fail("unsupported", `of ${bpp} bits per pixel`);
  const rle = compression === BI_RLE8 || compression === BI_RLE4;
  const fields = compression === BI_BITFIELDS || compression === BI_ALPHABITFIELDS;
  if (compression !== BI_RGB && !rle && !fields) fail("unsupported", `compression ${compression}`);
  if ((compression === BI_RLE8 && bpp !== 8) || (compression === BI_RLE4 && bpp !== 4)) {
    fail("corrupt", `RLE with ${bpp} bits per pixel`);
  }
  let masks: [number, number, number] = bpp === 16 ? [0x7c00, 0x3e0, 0x1f] : [0xff0000, 0xff00, 0xff];
  if (fields) {
    // INFO headers keep the masks just after them; V2+ headers hold them inside.
    const at = 54;
    if (b.length < at + 12) fail("truncated", "ends in its colour masks");
    masks = [dv.getUint32(at, true), dv.getUint32(at + 4, true), dv.getUint32(at + 8, true)];
  }
  let palette: Uint8Array | null = null;
  if (bpp <= 8) {
    const entry = core ? 3 : 4;
    const used = core ? 0 : dv.getUint32(46, true);
    const count = Math.min(used > 0 ? used : 1 << bpp, 1 << bpp);
    const at = 14 + dib + (fields && dib === 40 ? 12 : 0);
    palette = new Uint8Array((1 << bpp) * 3); // missing entries are black
    for (let i = 0; i < count && at + i * entry + 3 <= b.length; i++) {
      const o = at + i * entry;
      palette.set([b[o + 2]!, b[o + 1]!, b[o]!], i * 3);
    }
  }
  return {
    width,
    height: Math.abs(rawHeight),
    topDown: rawHeight < 0,
    bpp,
    compression,
    dataOffset,
    palette,
    masks,
  };
}

/** A function reading one field of a pixel value by its mask, scaled to 0..255. */
function maskReader(mask: number): (v: number) => number {
  if (mask === 0) return () => 0;
  let shift = 0;
  while (((mask >>> shift) & 1) === 0) shift++;
  const max = mask >>> shift;
  return (v) => Math.round((((v & mask) >>> shift) * 255) / max);
}

/** Decodes a BMP at the PDQ size (or full size with `limits.fullResolution`) as RGB. */
export function decodeBmp(bytes: Uint8Array, limits: DecodeLimits): DecodedImage {
  const h = readBmpHeader(bytes);
  if (h.width * h.height > limits.maxPixels) fail("too-large", `${h.width}x${h.height}`);
  const out = new AreaDownscaler(
    h.width,
    h.height,
    planScale(h.width, h.height, limits.fullResolution),
    3,
    true,
  );
  const row = new Uint8Array(h.width * 3);
  const emit = (fileRow: number) => out.addRow(h.topDown ? fileRow : h.height - 1 - fileRow, row, 0, h.width);
  if (h.compression === BI_RLE8 || h.compression === BI_RLE4) decodeRle(bytes, h, row, emit);
  else decodeRaw(bytes, h, row, emit);
  return out.finish();
}

function decodeRaw(b: Uint8Array, h: BmpHeader, row: Uint8Array, emit: (r: number) => void): void {
  const stride = Math.ceil((h.width * h.bpp) / 32) * 4;
  const [rm, gm, bm] = h.masks;
  const [red, green, blue] = [maskReader(rm), maskReader(gm), maskReader(bm)];
  for (let r = 0; r < h.height; r++) {
    const at = h.dataOffset + r * stride;
    // The last row may lack its padding; the pixels must be there.
    if (at + Math.ceil((h.width * h.bpp) / 8) > b.length)
      fail("truncated", `ends at row ${r} of ${h.height}`);
    for (let x = 0; x < h.width; x++) {
      const o = x * 3;
      if (h.bpp <= 8) {
        const bit = x * h.bpp;
        const idx = (b[at + (bit >> 3)]! >> (8 - h.bpp - (bit & 7))) & ((1 << h.bpp) - 1);
        row.set(h.palette!.subarray(idx * 3, idx * 3 + 3), o);
      } else if (h.bpp === 24) {
        const p = at + x * 3;
        row[o] = b[p + 2]!;
        row[o + 1] = b[p + 1]!;
        row[o + 2] = b[p]!;
      } else {
        const p = at + (x * h.bpp) / 8;
        const v =
          h.bpp === 16
            ? b[p]! | (b[p + 1]! << 8)
            : (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
        row[o] = red(v);
        row[o + 1] = green(v);
        row[o + 2] = blue(v);
      }
    }
    emit(r);
  }
}

/**
 * RLE8/RLE4: runs and literal stretches, end of line, end of bitmap and deltas. Deltas only
 * move forward, so rows are emitted in order; pixels a delta skips, and rows the data never
 * reaches, are palette entry 0 (what Windows shows).
 */
function decodeRle(b: Uint8Array, h: BmpHeader, row: Uint8Array, emit: (r: number) => void): void {
  const pal = h.palette!;
  const four = h.compression === BI_RLE4;
  let r = 0;
  let x = 0;
  let p = h.dataOffset;
  const clearRow = () => {
    for (let i = 0; i < h.width; i++) row.set(pal.subarray(0, 3), i * 3);
  };
  const put = (idx: number) => {
    if (x < h.width) row.set(pal.subarray(idx * 3, idx * 3 + 3), x * 3);
    x++;
  };
  const nextRow = () => {
    emit(r++);
    clearRow();
    x = 0;
  };
  clearRow();
  while (r < h.height) {
    if (p + 2 > b.length) fail("truncated", `RLE data ends at row ${r} of ${h.height}`);
    const n = b[p]!;
    const v = b[p + 1]!;
    p += 2;
    if (n > 0) {
      for (let i = 0; i < n; i++) put(four ? (i & 1 ? v & 15 : v >> 4) : v);
    } else if (v === 0) nextRow();
    else if (v === 1) break;
    else if (v === 2) {
      if (p + 2 > b.length) fail("truncated", "RLE delta cut short");
      const [dx, dy] = [b[p]!, b[p + 1]!];
      p += 2;
      for (let k = 0; k < dy && r < h.height; k++) {
        const keep = x;
        nextRow();
        x = keep;
      }
      x += dx;
    } else {
      const bytes = four ? Math.ceil(v / 2) : v;
      if (p + bytes > b.length) fail("truncated", "RLE literal cut short");
      for (let i = 0; i < v; i++)
        put(four ? (i & 1 ? b[p + (i >> 1)]! & 15 : b[p + (i >> 1)]! >> 4) : b[p + i]!);
      p += bytes + (bytes & 1); // literal runs are padded to 16 bits
    }
  }
  while (r < h.height) nextRow();
}
