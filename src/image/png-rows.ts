/**
 * PNG scanlines, streamed: the zlib data is inflated by the WASM core (wasm/assembly/inflate.ts
 * says why not DecompressionStream) in output chunks of at most 64 KiB, each row is unfiltered
 * against the previous one only, converted to 8-bit pixels and handed to a sink (a downscaler
 * or an APNG canvas). Memory is two rows plus the inflater's fixed windows, whatever the image size.
 *
 * Our own code rather than a library: the gate needs rows pushed into its own downscaler as
 * they are inflated, inside workerd, with hostile-input errors of its own type; pure-JS PNG
 * libraries inflate the whole image first.
 */
import { coreHasher } from "./jpeg-scaled.ts";
import { ImageDecodeError } from "./types.ts";

/** One PNG image: the default image or an APNG frame. */
export interface PngGeometry {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

/** Receives `count` pixels of image row `y` at x = xs, xs + dx, … from `pixels` at `at`. */
export type RowSink = (
  y: number,
  pixels: Uint8Array,
  at: number,
  count: number,
  xs: number,
  dx: number,
) => void;

/**
 * Turns `count` pixels of an unfiltered row (raw[at..]) into 8-bit pixels in its own buffer,
 * from offset 0; null where the row's bytes already are those pixels (8-bit, same channels).
 */
export type RowConverter = ((raw: Uint8Array, at: number, count: number) => Uint8Array) | null;

/** Adam7 passes: x start, y start, x step, y step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;
/** Samples per pixel by colour type. */
export const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Inflated bytes tolerated after the image data before the stream is abandoned. */
const MAX_TRAILING_BYTES = 1 << 16;

/** Bytes per filtered row of a (pass) width, without the filter-type byte. */
function rowBytes(g: PngGeometry, width: number): number {
  return Math.ceil((width * SAMPLES[g.colorType]! * g.depth) / 8);
}

interface Pass {
  xs: number;
  ys: number;
  dx: number;
  dy: number;
  width: number;
  rows: number;
  stride: number;
}

function passesOf(g: PngGeometry): Pass[] {
  const all = g.interlaced ? ADAM7 : ([[0, 0, 1, 1]] as const);
  return all
    .map(([xs, ys, dx, dy]) => {
      const width = Math.ceil(Math.max(0, g.width - xs) / dx);
      const rows = Math.ceil(Math.max(0, g.height - ys) / dy);
      return { xs, ys, dx, dy, width, rows, stride: rowBytes(g, width) };
    })
    .filter((p) => p.width > 0 && p.rows > 0);
}

/** Inflates `parts` and delivers every row of `g` to `sink`; errors are ImageDecodeErrors. */
export async function decodeRows(
  g: PngGeometry,
  parts: readonly Uint8Array[],
  convert: RowConverter,
  sink: RowSink,
): Promise<void> {
  const passes = passesOf(g);
  const bpp = Math.max(1, (SAMPLES[g.colorType]! * g.depth) >> 3);
  const longest = Math.max(...passes.map((p) => p.stride)) + 1;
  let cur = new Uint8Array(longest);
  let prev = new Uint8Array(longest);
  let p = 0;
  let y = 0;
  let filled = 0;
  let trailing = 0;
  let rowsDone = 0;
  const totalRows = passes.reduce((s, q) => s + q.rows, 0);
  const take = (chunk: Uint8Array): boolean => {
    let i = 0;
    while (i < chunk.length && p < passes.length) {
      const pass = passes[p]!;
      const want = pass.stride + 1 - filled;
      if (filled === 0 && want <= chunk.length - i) {
        // The whole row is in this chunk: unfiltered straight from it.
        unfilterRow(chunk, i, cur, y > 0 ? prev : null, pass.stride, bpp);
        i += want;
      } else {
        const n = Math.min(want, chunk.length - i);
        cur.set(chunk.subarray(i, i + n), filled);
        filled += n;
        i += n;
        if (filled < pass.stride + 1) break;
        unfilterRow(cur, 0, cur, y > 0 ? prev : null, pass.stride, bpp);
        filled = 0;
      }
      const ys = pass.ys + y * pass.dy;
      if (convert) sink(ys, convert(cur, 1, pass.width), 0, pass.width, pass.xs, pass.dx);
      else sink(ys, cur, 1, pass.width, pass.xs, pass.dx);
      const done = cur;
      cur = prev;
      prev = done;
      rowsDone++;
      if (++y === pass.rows) {
        p++;
        y = 0;
      }
    }
    // Read to the end so zlib's checksum is verified, but stop once the stream inflates far past
    // what the header promised (a bomb hidden after the image data).
    trailing += chunk.length - i;
    return trailing <= MAX_TRAILING_BYTES;
  };
  await inflate(parts, take, () => `${rowsDone} of ${totalRows} rows`);
  if (p < passes.length)
    throw new ImageDecodeError("truncated", `PNG image data ends after ${rowsDone} of ${totalRows} rows`);
}

/** Inflates `parts` in the core, handing each output chunk to `take` until it says stop. */
async function inflate(
  parts: readonly Uint8Array[],
  take: (chunk: Uint8Array) => boolean,
  progress: () => string,
): Promise<void> {
  const core = await coreHasher();
  const outcome = core.inflateZlib(parts, take);
  if (outcome === "corrupt")
    throw new ImageDecodeError("corrupt", `PNG zlib data is invalid after ${progress()}`);
  if (outcome === "truncated")
    throw new ImageDecodeError("truncated", `PNG zlib data ends after ${progress()}`);
}

/**
 * Reverses one row's filter: src[s] is the filter type, src[s+1..s+stride] the filtered row,
 * written unfiltered to dst[1..stride] (src may be dst with s = 0). Loops per filter, without
 * branches inside: this and inflating are most of a PNG's decode time.
 */
function unfilterRow(
  src: Uint8Array,
  s: number,
  dst: Uint8Array,
  prev: Uint8Array | null,
  stride: number,
  bpp: number,
): void {
  const filter = src[s]!;
  const end = stride + 1;
  const first = Math.min(end, 1 + bpp);
  // Without a previous row it is all zeros: Up is None, Average and Paeth reduce to Sub-like forms.
  if (filter === 0 || (filter === 2 && !prev)) {
    if (src !== dst) dst.set(src.subarray(s + 1, s + end), 1);
  } else if (filter === 1 || (filter === 4 && !prev)) {
    for (let i = 1; i < first; i++) dst[i] = src[s + i]!;
    for (let i = first; i < end; i++) dst[i] = src[s + i]! + dst[i - bpp]!;
  } else if (filter === 2) {
    const up = prev!;
    for (let i = 1; i < end; i++) dst[i] = src[s + i]! + up[i]!;
  } else if (filter === 3 && !prev) {
    for (let i = 1; i < first; i++) dst[i] = src[s + i]!;
    for (let i = first; i < end; i++) dst[i] = src[s + i]! + (dst[i - bpp]! >> 1);
  } else if (filter === 3) {
    const up = prev!;
    for (let i = 1; i < first; i++) dst[i] = src[s + i]! + (up[i]! >> 1);
    for (let i = first; i < end; i++) dst[i] = src[s + i]! + ((dst[i - bpp]! + up[i]!) >> 1);
  } else if (filter === 4) {
    const up = prev!;
    for (let i = 1; i < first; i++) dst[i] = src[s + i]! + up[i]!;
    for (let i = first; i < end; i++) {
      const a = dst[i - bpp]!;
      const b = up[i]!;
      const c = up[i - bpp]!;
      // |p - a|, |p - b|, |p - c| with p = a + b - c
      let pa = b - c;
      let pb = a - c;
      let pc = pa + pb;
      pa = pa < 0 ? -pa : pa;
      pb = pb < 0 ? -pb : pb;
      pc = pc < 0 ? -pc : pc;
      dst[i] = src[s + i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
    }
  } else throw new ImageDecodeError("corrupt", `PNG row filter ${filter}`);
}

/**
 * A converter to `out` channels: 1 (grey, grey+alpha without alpha), 3 (RGB, palette), 4 (RGBA,
 * palette with tRNS, or anything when compositing APNG frames). 16-bit samples keep their high
 * byte (libpng's strip_16, PIL); sub-8-bit grey is scaled to 0..255; palette indices are looked up
 * in `palette` (RGBA entries). Sub-8-bit samples are first unpacked to a byte each.
 */
export function rowConverter(g: PngGeometry, palette: Uint8Array | undefined, out: 1 | 3 | 4): RowConverter {
  const { colorType, depth } = g;
  const spp = SAMPLES[colorType]!;
  if (depth === 8 && colorType !== 3 && spp === out) return null;
  const buf = new Uint8Array(g.width * out);
  const unpacked = depth < 8 ? new Uint8Array(g.width) : null;
  // Bytes between samples of one pixel, and between pixels.
  const step = depth === 16 ? 2 : 1;
  const pixelStep = unpacked ? 1 : spp * step;
  const levels =
    colorType === 0 && depth < 8
      ? Uint8Array.from({ length: 1 << depth }, (_, v) => Math.round((v * 255) / ((1 << depth) - 1)))
      : null;
  return (raw, at, count) => {
    let src = raw;
    let s = at;
    if (unpacked) {
      unpackSamples(raw, at, count, depth, unpacked);
      src = unpacked;
      s = 0;
    }
    if (palette) paletteRow(src, s, count, palette, buf, out);
    else if (colorType === 0 || colorType === 4) {
      for (let k = 0, o = 0; k < count; k++, s += pixelStep, o += out) {
        const v = levels ? levels[src[s]!]! : src[s]!;
        buf[o] = v;
        if (out === 1) continue;
        buf[o + 1] = v;
        buf[o + 2] = v;
        if (out === 4) buf[o + 3] = colorType === 4 ? src[s + step]! : 255;
      }
    } else {
      for (let k = 0, o = 0; k < count; k++, s += pixelStep, o += out) {
        buf[o] = src[s]!;
        if (out === 1) continue;
        buf[o + 1] = src[s + step]!;
        buf[o + 2] = src[s + 2 * step]!;
        if (out === 4) buf[o + 3] = colorType === 6 ? src[s + 3 * step]! : 255;
      }
    }
    return buf;
  };
}

/** One byte per sample from a row of 1-, 2- or 4-bit samples (first sample in the high bits). */
function unpackSamples(raw: Uint8Array, at: number, count: number, depth: number, to: Uint8Array): void {
  const mask = (1 << depth) - 1;
  for (let k = 0, i = at; k < count; i++) {
    const byte = raw[i]!;
    for (let shift = 8 - depth; shift >= 0 && k < count; shift -= depth) to[k++] = (byte >> shift) & mask;
  }
}

function paletteRow(
  idx: Uint8Array,
  s: number,
  count: number,
  palette: Uint8Array,
  buf: Uint8Array,
  out: 1 | 3 | 4,
): void {
  const entries = palette.length >> 2;
  for (let k = 0, o = 0; k < count; k++, o += out) {
    const e = idx[s + k]!;
    if (e >= entries) throw new ImageDecodeError("corrupt", "PNG palette index out of range");
    const p = e << 2;
    buf[o] = palette[p]!;
    if (out === 1) continue;
    buf[o + 1] = palette[p + 1]!;
    buf[o + 2] = palette[p + 2]!;
    if (out === 4) buf[o + 3] = palette[p + 3]!;
  }
}
