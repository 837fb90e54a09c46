/**
 * Test helper: a small PNG encoder (zlib via CompressionStream), so the decoder tests can build
 * every colour type, bit depth, filter and interlace combination from known samples.
 */

import { concatBytes } from "../../src/bytes.ts";

export interface PngSpec {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  depth: 1 | 2 | 4 | 8 | 16;
  interlace?: boolean;
  /** Sample values at `depth` (palette: indices), row-major, samplesPerPixel per pixel. */
  samples: number[];
  /** RGB triples for colour type 3. */
  palette?: number[];
  /** Raw tRNS chunk contents. */
  trns?: number[];
  /** Filter type per row (cycled); default cycles through all five. */
  filters?: number[];
}

export const SAMPLES_PER_PIXEL = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as const;

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const v of b) c = CRC_TABLE[(c ^ v) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Packs one row of samples at `depth` bits, MSB first. */
function packRow(samples: number[], depth: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((samples.length * depth) / 8));
  if (depth === 16) {
    samples.forEach((s, i) => {
      out[2 * i] = s >> 8;
      out[2 * i + 1] = s & 0xff;
    });
  } else {
    samples.forEach((s, i) => {
      const bit = i * depth;
      out[bit >> 3]! |= s << (8 - depth - (bit & 7));
    });
  }
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Applies filter `f` to `row` given the previous raw row. */
function filterRow(f: number, row: Uint8Array, prev: Uint8Array | null, bpp: number): Uint8Array {
  const out = new Uint8Array(row.length + 1);
  out[0] = f;
  for (let i = 0; i < row.length; i++) {
    const a = i >= bpp ? row[i - bpp]! : 0;
    const b = prev ? prev[i]! : 0;
    const c = prev && i >= bpp ? prev[i - bpp]! : 0;
    const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f]!;
    out[i + 1] = (row[i]! - pred) & 0xff;
  }
  return out;
}

export async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const cs = new CompressionStream("deflate");
  const w = cs.writable.getWriter();
  w.write(data as Uint8Array<ArrayBuffer>);
  w.close();
  return new Uint8Array(await new Response(cs.readable).arrayBuffer());
}

/** The filtered, uncompressed scanlines of an image (all Adam7 passes when interlaced). */
export function scanlines(spec: PngSpec): Uint8Array {
  const spp = SAMPLES_PER_PIXEL[spec.colorType];
  const bpp = Math.max(1, (spp * spec.depth) >> 3);
  const filters = spec.filters ?? [0, 1, 2, 3, 4];
  const passes = spec.interlace ? ADAM7 : [[0, 0, 1, 1] as const];
  const rows: Uint8Array[] = [];
  let n = 0;
  for (const [xs, ys, dx, dy] of passes) {
    let prev: Uint8Array | null = null;
    for (let y = ys; y < spec.height; y += dy) {
      const samples: number[] = [];
      for (let x = xs; x < spec.width; x += dx) {
        const at = (y * spec.width + x) * spp;
        samples.push(...spec.samples.slice(at, at + spp));
      }
      if (samples.length === 0) break;
      const row = packRow(samples, spec.depth);
      rows.push(filterRow(filters[n++ % filters.length]!, row, prev, bpp));
      prev = row;
    }
  }
  const out = new Uint8Array(rows.reduce((s, r) => s + r.length, 0));
  let at = 0;
  for (const r of rows) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

export async function encodePng(spec: PngSpec, idatParts: number | number[] = 1): Promise<Uint8Array> {
  return pngFile(spec, await deflate(scanlines(spec)), idatParts);
}

/**
 * A PNG file around zlib-compressed scanlines, whose IDAT data is split into `idatParts` equal
 * chunks, or into chunks of the given sizes (cycled) when `idatParts` is a list.
 */
export function pngFile(
  head: Omit<PngSpec, "samples" | "filters">,
  zlibData: Uint8Array,
  idatParts: number | number[] = 1,
): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, head.width);
  dv.setUint32(4, head.height);
  ihdr.set([head.depth, head.colorType, 0, 0, head.interlace ? 1 : 0], 8);
  const parts: Uint8Array[] = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
  ];
  if (head.palette) parts.push(chunk("PLTE", new Uint8Array(head.palette)));
  if (head.trns) parts.push(chunk("tRNS", new Uint8Array(head.trns)));
  const sizes = typeof idatParts === "number" ? [Math.ceil(zlibData.length / idatParts)] : idatParts;
  for (let i = 0, n = 0; i < zlibData.length; n++) {
    const step = Math.max(1, sizes[n % sizes.length]!);
    parts.push(chunk("IDAT", zlibData.subarray(i, i + step)));
    i += step;
  }
  parts.push(chunk("IEND", new Uint8Array(0)));
  return concatBytes(parts);
}
