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
import type { PdqHasher } from "../pdq/core.ts";
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
 * What rows become: 8-bit pixels of `out` channels: 1 (grey, grey+alpha without alpha), 3 (RGB,
 * palette), 4 (RGBA, palette with tRNS, or anything when compositing APNG frames). `palette`
 * holds RGBA entries for colour type 3. 16-bit samples keep their high byte (libpng's
 * strip_16, PIL); sub-8-bit grey is scaled to 0..255 (wasm/assembly/png.ts: pngConvert).
 */
export interface RowFormat {
  out: 1 | 3 | 4;
  palette?: Uint8Array | undefined;
}

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
  format: RowFormat,
  sink: RowSink,
): Promise<void> {
  const passes = passesOf(g);
  const bpp = Math.max(1, (SAMPLES[g.colorType]! * g.depth) >> 3);
  const longest = Math.max(...passes.map((p) => p.stride)) + 1;
  const core = await coreHasher();
  // Everything below runs without awaiting: nothing else uses the core until the rows are done.
  const { out, palette } = format;
  const buffers = core.pngRowBuffers(longest, g.width * out);
  if (!buffers) throw new ImageDecodeError("too-large", `PNG rows of ${longest} bytes do not fit`);
  if (palette) buffers.setPalette(palette);
  const rows = buffers.rows;
  const pixels = buffers.pixels;
  // Rows of 8-bit samples with the output's channels are pixels already.
  const converted = !(g.depth === 8 && g.colorType !== 3 && SAMPLES[g.colorType] === out);
  let cur: 0 | 1 = 0;
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
      let src = chunk;
      let at = i;
      if (filled > 0 || want > chunk.length - i) {
        // The row straddles inflater chunks: assembled in its buffer first.
        const n = Math.min(want, chunk.length - i);
        rows[cur].set(chunk.subarray(i, i + n), filled);
        filled += n;
        i += n;
        if (filled < pass.stride + 1) break;
        src = rows[cur];
        at = 0;
        filled = 0;
      } else i += want;
      if (!buffers.unfilter(src, at, cur, y > 0 ? ((1 - cur) as 0 | 1) : -1, pass.stride, bpp))
        throw new ImageDecodeError("corrupt", `PNG row filter ${src[at]}`);
      const ys = pass.ys + y * pass.dy;
      if (!converted) sink(ys, rows[cur], 1, pass.width, pass.xs, pass.dx);
      else if (buffers.convert(cur, pass.width, g.colorType, g.depth, out))
        sink(ys, pixels, 0, pass.width, pass.xs, pass.dx);
      else throw new ImageDecodeError("corrupt", "PNG palette index out of range");
      cur = (1 - cur) as 0 | 1;
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
  inflate(core, parts, take, () => `${rowsDone} of ${totalRows} rows`);
  if (p < passes.length)
    throw new ImageDecodeError("truncated", `PNG image data ends after ${rowsDone} of ${totalRows} rows`);
}

/** Inflates `parts` in the core, handing each output chunk to `take` until it says stop. */
function inflate(
  core: PdqHasher,
  parts: readonly Uint8Array[],
  take: (chunk: Uint8Array) => boolean,
  progress: () => string,
): void {
  const outcome = core.inflateZlib(parts, take);
  if (outcome === "corrupt")
    throw new ImageDecodeError("corrupt", `PNG zlib data is invalid after ${progress()}`);
  if (outcome === "truncated")
    throw new ImageDecodeError("truncated", `PNG zlib data ends after ${progress()}`);
}
