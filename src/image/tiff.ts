/**
 * TIFF decoder: baseline and the common extensions — strips or tiles; uncompressed, PackBits,
 * LZW and Deflate; horizontal predictor; bilevel, grey, palette, RGB and RGBA (chunky), 1–16
 * bits; every page (IFD) a frame. Each strip or tile is decompressed on its own and its rows go
 * into the area-average downscaler (downscale.ts), so memory is one strip plus the output.
 * JPEG-compressed, planar, CMYK, YCbCr and floating-point TIFFs are refused as unsupported (the
 * gate records them as unscanned). Our own decoder: none that runs in workerd decodes strip by
 * strip into the gate's downscaler with its bounds and errors.
 */
import { AreaDownscaler, planScale } from "./downscale.ts";
import { type DecodedFrame, FRAMES_TOTAL } from "./frames.ts";
import { decodeTiffLzw, unpackBits } from "./tiff-codecs.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";

interface Ifd {
  tags: Map<number, number[]>;
  next: number;
}

const TYPE_SIZES: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  16: 8,
};

function fail(code: ImageDecodeError["code"], detail: string): never {
  throw new ImageDecodeError(code, `TIFF ${detail}`);
}

class Reader {
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  readonly le: boolean;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    this.le = bytes[0] === 0x49;
  }
  need(at: number, n: number): void {
    if (at < 0 || at + n > this.bytes.length) fail("truncated", `ends before offset ${at + n}`);
  }
  u16(at: number): number {
    this.need(at, 2);
    return this.dv.getUint16(at, this.le);
  }
  u32(at: number): number {
    this.need(at, 4);
    return this.dv.getUint32(at, this.le);
  }
}

function readIfd(r: Reader, at: number): Ifd {
  const n = r.u16(at);
  const tags = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const e = at + 2 + i * 12;
    const [tag, type, count] = [r.u16(e), r.u16(e + 2), r.u32(e + 4)];
    const size = TYPE_SIZES[type];
    if (!size || count > r.bytes.length) continue; // unknown types and absurd counts are not tags we need
    const inline = size * count <= 4;
    const base = inline ? e + 8 : r.u32(e + 8);
    if (!inline) r.need(base, size * count);
    const values: number[] = [];
    for (let k = 0; k < count; k++) {
      const o = base + k * size;
      values.push(size === 1 ? r.bytes[o]! : size === 2 ? r.u16(o) : r.u32(o));
    }
    tags.set(tag, values);
  }
  return { tags, next: r.u32(at + 2 + n * 12) };
}

/** Width and height of the first page, read from its IFD. */
export function readTiffHeader(bytes: Uint8Array): { width: number; height: number } {
  const r = openTiff(bytes);
  const ifd = readIfd(r, r.u32(4));
  return { width: ifd.tags.get(256)?.[0] ?? 0, height: ifd.tags.get(257)?.[0] ?? 0 };
}

function openTiff(bytes: Uint8Array): Reader {
  if (bytes.length < 8) fail("truncated", "ends in its header");
  const r = new Reader(bytes);
  const magic = r.u16(2);
  if (magic === 43) fail("unsupported", "BigTIFF");
  if (magic !== 42) fail("corrupt", `magic ${magic}`);
  return r;
}

interface Page {
  /** Little-endian file (16-bit samples). */
  le: boolean;
  width: number;
  height: number;
  bits: number;
  spp: number;
  photometric: number;
  compression: number;
  predictor: number;
  /** Strips as tiles the full width wide. */
  tileWidth: number;
  tileHeight: number;
  offsets: number[];
  counts: number[];
  palette: number[] | null;
}

function pageOf(ifd: Ifd, le: boolean, limits: DecodeLimits): Page {
  const t = (tag: number, dflt?: number) => ifd.tags.get(tag)?.[0] ?? dflt;
  const width = t(256) ?? 0;
  const height = t(257) ?? 0;
  if (width === 0 || height === 0) fail("corrupt", `page of ${width}x${height}`);
  if (width * height > limits.maxPixels) fail("too-large", `page ${width}x${height}`);
  const bitsAll = ifd.tags.get(258) ?? [1];
  const bits = bitsAll[0]!;
  const spp = t(277, 1)!;
  const photometric = t(262, spp >= 3 ? 2 : 1)!;
  const compression = t(259, 1)!;
  if (compression === 6 || compression === 7) fail("unsupported", "JPEG compression (tiff-jpeg)");
  if (![1, 5, 8, 32946, 32773].includes(compression)) fail("unsupported", `compression ${compression}`);
  if (t(284, 1) !== 1) fail("unsupported", "planar configuration");
  if (t(339, 1) === 3) fail("unsupported", "floating-point samples");
  if (![0, 1, 2, 3].includes(photometric)) fail("unsupported", `photometric interpretation ${photometric}`);
  if (![1, 2, 4, 8, 16].includes(bits) || bitsAll.some((b) => b !== bits))
    fail("unsupported", `${bits}-bit samples`);
  if (photometric === 2 && (spp < 3 || bits < 8)) fail("corrupt", `RGB with ${spp} samples of ${bits} bits`);
  if (spp < 1 || spp > 8) fail("corrupt", `${spp} samples per pixel`);
  const tiled = ifd.tags.has(322);
  const tileWidth = tiled ? t(322)! : width;
  const tileHeight = tiled ? t(323)! : Math.min(t(278, height)!, height);
  const offsets = ifd.tags.get(tiled ? 324 : 273) ?? [];
  const counts = ifd.tags.get(tiled ? 325 : 279) ?? [];
  if (tileWidth === 0 || tileHeight === 0) fail("corrupt", "zero tile or strip size");
  const across = Math.ceil(width / tileWidth);
  const down = Math.ceil(height / tileHeight);
  if (offsets.length < across * down || counts.length < offsets.length)
    fail("corrupt", "missing strip or tile offsets");
  const palette = photometric === 3 ? (ifd.tags.get(320) ?? null) : null;
  if (photometric === 3 && (!palette || palette.length < 3 << bits))
    fail("corrupt", "palette image without a colour map");
  return {
    le,
    width,
    height,
    bits,
    spp,
    photometric,
    compression,
    predictor: t(317, 1)!,
    tileWidth,
    tileHeight,
    offsets,
    counts,
    palette,
  };
}

/**
 * Every page of a TIFF, each at the PDQ size unless `limits.fullResolution`; a file with more
 * than FRAMES_TOTAL pages is reported too large after those are yielded (and judged).
 */
export async function* decodeTiffFrames(
  bytes: Uint8Array,
  limits: DecodeLimits,
): AsyncGenerator<DecodedFrame> {
  const r = openTiff(bytes);
  const seen = new Set<number>();
  let at = r.u32(4);
  for (let index = 0; at !== 0; index++) {
    // Pages past the cap are not skipped silently: what was not read is not called clean.
    if (index === FRAMES_TOTAL) fail("too-large", `more than ${FRAMES_TOTAL} pages`);
    if (seen.has(at)) fail("corrupt", "IFD chain loops");
    seen.add(at);
    const ifd = readIfd(r, at);
    yield { index, image: await decodePage(r, pageOf(ifd, r.le, limits), limits) };
    at = ifd.next;
  }
}

/** The first page. */
export async function decodeTiff(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  const first = await decodeTiffFrames(bytes, limits).next();
  if (first.done) fail("corrupt", "no pages");
  return first.value.image;
}

async function decodePage(r: Reader, p: Page, limits: DecodeLimits): Promise<DecodedImage> {
  const channels = p.photometric === 2 || p.photometric === 3 ? 3 : 1;
  const tiled = p.tileWidth !== p.width;
  const out = new AreaDownscaler(
    p.width,
    p.height,
    planScale(p.width, p.height, limits.fullResolution),
    channels,
    !tiled,
  );
  const rowBytes = Math.ceil((p.tileWidth * p.spp * p.bits) / 8);
  const expected = rowBytes * p.tileHeight;
  const across = Math.ceil(p.width / p.tileWidth);
  const down = Math.ceil(p.height / p.tileHeight);
  const px = new Uint8Array(p.tileWidth * channels);
  for (let ty = 0; ty < down; ty++) {
    for (let tx = 0; tx < across; tx++) {
      const i = ty * across + tx;
      r.need(p.offsets[i]!, p.counts[i]!);
      const raw = r.bytes.subarray(p.offsets[i]!, p.offsets[i]! + p.counts[i]!);
      const data = await decompress(p.compression, raw, expected);
      const rows = Math.min(p.tileHeight, p.height - ty * p.tileHeight);
      const cols = Math.min(p.tileWidth, p.width - tx * p.tileWidth);
      for (let y = 0; y < rows; y++) {
        if ((y + 1) * rowBytes > data.length) fail("truncated", `strip ${i} ends at row ${y}`);
        const row = data.subarray(y * rowBytes, (y + 1) * rowBytes);
        if (p.predictor === 2) undoPredictor(row, p);
        convertRow(row, p, cols, px);
        out.addRow(ty * p.tileHeight + y, px, 0, cols, tx * p.tileWidth, 1);
      }
    }
  }
  return out.finish();
}

async function decompress(compression: number, raw: Uint8Array, expected: number): Promise<Uint8Array> {
  if (compression === 1) return raw;
  if (compression === 32773) return unpackBits(raw, expected);
  if (compression === 5) return decodeTiffLzw(raw, expected);
  return inflateAll(raw, expected);
}

/** Deflate strips are zlib streams; output past what the strip needs is not read. */
async function inflateAll(raw: Uint8Array, expected: number): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  let got = 0;
  const ds = new DecompressionStream("deflate");
  const writer = ds.writable.getWriter();
  writer.write(raw as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const reader = ds.readable.getReader();
  try {
    while (got < expected) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, expected - got);
      out.set(value.subarray(0, take), got);
      got += take;
    }
  } catch (e) {
    fail("corrupt", `Deflate data is invalid: ${String(e)}`);
  } finally {
    reader.cancel().catch(() => {});
  }
  return out.subarray(0, got);
}

/** Horizontal differencing (predictor 2), per sample, for 8 and 16-bit samples in the file's byte order. */
function undoPredictor(row: Uint8Array, p: Page): void {
  const n = p.spp;
  if (p.bits === 8) for (let i = n; i < row.length; i++) row[i] = (row[i]! + row[i - n]!) & 0xff;
  else if (p.bits === 16) {
    const [lo, hi] = p.le ? [0, 1] : [1, 0];
    for (let i = 2 * n; i + 1 < row.length; i += 2) {
      const prev = row[i - 2 * n + lo]! | (row[i - 2 * n + hi]! << 8);
      const v = (prev + (row[i + lo]! | (row[i + hi]! << 8))) & 0xffff;
      row[i + lo] = v & 0xff;
      row[i + hi] = v >> 8;
    }
  }
}

/** Converts `cols` pixels of a row to 8-bit grey or RGB (16-bit: the high byte; white-is-zero inverted). */
function convertRow(row: Uint8Array, p: Page, cols: number, out: Uint8Array): void {
  const { bits, spp, photometric } = p;
  const high = p.le ? 1 : 0;
  const sample = (s: number): number => {
    if (bits === 8) return row[s]!;
    if (bits === 16) return row[2 * s + high]!;
    return (row[(s * bits) >> 3]! >> (8 - bits - ((s * bits) & 7))) & ((1 << bits) - 1);
  };
  const max = (1 << bits) - 1;
  for (let x = 0; x < cols; x++) {
    const s = x * spp;
    if (photometric === 2) {
      out[x * 3] = sample(s);
      out[x * 3 + 1] = sample(s + 1);
      out[x * 3 + 2] = sample(s + 2);
    } else if (photometric === 3) {
      const idx = bits === 16 ? (sample(s) << 8) | row[2 * s + 1 - high]! : sample(s);
      const n = 1 << bits;
      for (let c = 0; c < 3; c++) out[x * 3 + c] = p.palette![c * n + idx]! >> 8;
    } else {
      let v = bits >= 8 ? sample(s) : Math.round((sample(s) * 255) / max);
      if (photometric === 0) v = 255 - v;
      out[x] = v;
    }
  }
}
