/**
 * PNG scanlines, streamed: the zlib data is inflated with the platform's
 * DecompressionStream("deflate") fed a few KiB at a time, each row is unfiltered against the
 * previous one only, converted to 8-bit pixels and handed to a sink (a downscaler or an APNG
 * canvas). Memory is two rows plus what the inflater holds, whatever the image size.
 *
 * Our own code rather than a library: the gate needs rows pushed into its own downscaler as
 * they are inflated, inside workerd, with hostile-input errors of its own type; pure-JS PNG
 * libraries inflate the whole image first.
 */
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

/** Turns `count` pixels of an unfiltered row (raw[at..]) into 8-bit pixels: [buffer, offset]. */
export type RowConverter = (raw: Uint8Array, at: number, count: number) => [Uint8Array, number];

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
/**
 * Compressed bytes given to the inflater at once: deflate expands at most ~1032:1, so one feed
 * can make at most ~4 MiB of output however hostile the stream is.
 */
const FEED_BYTES = 4096;

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
      const n = Math.min(pass.stride + 1 - filled, chunk.length - i);
      cur.set(chunk.subarray(i, i + n), filled);
      filled += n;
      i += n;
      if (filled < pass.stride + 1) break;
      unfilterRow(cur, y > 0 ? prev : null, pass.stride, bpp);
      const [px, at] = convert(cur, 1, pass.width);
      sink(pass.ys + y * pass.dy, px, at, pass.width, pass.xs, pass.dx);
      [cur, prev] = [prev, cur];
      filled = 0;
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

/** Feeds `parts` to a zlib inflater in small slices and hands each output chunk to `take` until it says stop. */
async function inflate(
  parts: readonly Uint8Array[],
  take: (chunk: Uint8Array) => boolean,
  progress: () => string,
): Promise<void> {
  const ds = new DecompressionStream("deflate");
  const writer = ds.writable.getWriter();
  const feeding = (async () => {
    for (const part of parts) {
      for (let i = 0; i < part.length; i += FEED_BYTES) {
        await writer.write(part.subarray(i, i + FEED_BYTES) as Uint8Array<ArrayBuffer>);
      }
    }
    await writer.close();
  })();
  feeding.catch(() => {});
  const reader = ds.readable.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || !take(value)) break;
    }
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError("corrupt", `PNG zlib data is invalid after ${progress()}: ${String(e)}`);
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Reverses one row's filter in place: cur[0] is the filter type, cur[1..stride] the row. */
function unfilterRow(cur: Uint8Array, prev: Uint8Array | null, stride: number, bpp: number): void {
  const filter = cur[0]!;
  const end = stride + 1;
  // Without a previous row it is all zeros: Up is None, Average and Paeth reduce to Sub-like forms.
  if (filter === 1 || (filter === 4 && !prev)) {
    for (let i = 1 + bpp; i < end; i++) cur[i] = (cur[i]! + cur[i - bpp]!) & 0xff;
  } else if (filter === 2) {
    if (prev) for (let i = 1; i < end; i++) cur[i] = (cur[i]! + prev[i]!) & 0xff;
  } else if (filter === 3) {
    for (let i = 1; i < end; i++) {
      const a = i > bpp ? cur[i - bpp]! : 0;
      const b = prev ? prev[i]! : 0;
      cur[i] = (cur[i]! + ((a + b) >> 1)) & 0xff;
    }
  } else if (filter === 4 && prev) {
    for (let i = 1; i <= bpp && i < end; i++) cur[i] = (cur[i]! + prev[i]!) & 0xff;
    for (let i = 1 + bpp; i < end; i++) {
      const a = cur[i - bpp]!;
      const b = prev[i]!;
      const c = prev[i - bpp]!;
      const pa = Math.abs(b - c); // |p - a| with p = a + b - c
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      cur[i] = (cur[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
    }
  } else if (filter !== 0) throw new ImageDecodeError("corrupt", `PNG row filter ${filter}`);
}

/**
 * A converter to `out` channels: 1 (grey, grey+alpha without alpha), 3 (RGB, palette), 4 (RGBA,
 * palette with tRNS, or anything when compositing APNG frames). 16-bit samples keep their high
 * byte (libpng's strip_16, PIL); sub-8-bit grey is scaled to 0..255; palette indices are looked up
 * in `palette` (RGBA entries).
 */
export function rowConverter(g: PngGeometry, palette: Uint8Array | undefined, out: 1 | 3 | 4): RowConverter {
  const { colorType, depth } = g;
  const spp = SAMPLES[colorType]!;
  if (depth === 8 && colorType !== 3 && spp === out) return (raw, at) => [raw, at];
  const buf = new Uint8Array(g.width * out);
  const sample = sampleReader(depth);
  const scale = colorType === 3 || depth >= 8 ? 1 : 255 / ((1 << depth) - 1);
  return (raw, at, count) => {
    for (let k = 0, o = 0; k < count; k++, o += out) {
      const s = k * spp;
      let r: number;
      let gr: number;
      let b: number;
      let a = 255;
      if (palette) {
        const idx = sample(raw, at, s) * 4;
        if (idx + 4 > palette.length) throw new ImageDecodeError("corrupt", "PNG palette index out of range");
        r = palette[idx]!;
        gr = palette[idx + 1]!;
        b = palette[idx + 2]!;
        a = palette[idx + 3]!;
      } else if (colorType === 0 || colorType === 4) {
        const v = sample(raw, at, s);
        r = gr = b = scale === 1 ? v : Math.round(v * scale);
        if (colorType === 4) a = sample(raw, at, s + 1);
      } else {
        r = sample(raw, at, s);
        gr = sample(raw, at, s + 1);
        b = sample(raw, at, s + 2);
        if (colorType === 6) a = sample(raw, at, s + 3);
      }
      if (out === 1) buf[o] = r;
      else {
        buf[o] = r;
        buf[o + 1] = gr;
        buf[o + 2] = b;
        if (out === 4) buf[o + 3] = a;
      }
    }
    return [buf, 0];
  };
}

/** Reads sample number `s` of a row as an 8-bit value (16-bit: high byte; below 8: raw value). */
function sampleReader(depth: number): (raw: Uint8Array, at: number, s: number) => number {
  if (depth === 8) return (raw, at, s) => raw[at + s]!;
  if (depth === 16) return (raw, at, s) => raw[at + 2 * s]!;
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  return (raw, at, s) => {
    const byte = raw[at + Math.floor(s / perByte)]!;
    return (byte >> (8 - depth * ((s % perByte) + 1))) & mask;
  };
}
