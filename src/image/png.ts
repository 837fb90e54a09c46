/**
 * PNG decoder: every colour type, bit depths 1/2/4/8/16, palette with tRNS, Adam7 interlace.
 * zlib inflation uses the platform's DecompressionStream("deflate") (workerd and Node 22).
 *
 * Output channels: grey → 1, grey+alpha → 1 (PDQ drops alpha; a grey image must stay grey so its
 * luma passes through unchanged), RGB → 3, RGBA → 4, palette → 3 (4 when tRNS is present).
 * 16-bit samples keep their high byte (what libpng's strip_16 and PIL do); sub-8-bit grey is
 * scaled to 0..255 (v * 255 / (2^depth - 1)), palette indices are looked up.
 * CRCs are not checked; structural damage, truncation and bad zlib data raise ImageDecodeError,
 * and the pixel count from IHDR is checked against the limit before anything is inflated.
 */
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
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
/** Inflated bytes tolerated after the image data before the stream is abandoned. */
const MAX_TRAILING_BYTES = 1 << 16;
/** Samples per pixel by colour type. */
const SAMPLES: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Colour types whose 8-bit rows are the decoded pixel layout (grey, RGB, RGBA): their channels. */
const IN_PLACE_CHANNELS: Partial<Record<number, 1 | 3 | 4>> = { 0: 1, 2: 3, 6: 4 };
const DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

interface Header {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && SIGNATURE.every((v, i) => b[i] === v);
}

function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

/** Width and height from the IHDR chunk, or null if `bytes` does not start like a PNG. */
export function pngDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  if (!isPng(bytes) || bytes.length < 24) return null;
  if (String.fromCharCode(bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!) !== "IHDR") return null;
  return { width: u32(bytes, 16), height: u32(bytes, 20) };
}

function readHeader(bytes: Uint8Array, limits: DecodeLimits): Header {
  if (!isPng(bytes)) throw new ImageDecodeError("unsupported", "not a PNG (bad signature)");
  if (bytes.length < 33) throw new ImageDecodeError("truncated", "PNG ends inside its header");
  if (u32(bytes, 8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") {
    throw new ImageDecodeError("corrupt", "PNG does not start with a valid IHDR chunk");
  }
  const h: Header = {
    width: u32(bytes, 16),
    height: u32(bytes, 20),
    depth: bytes[24]!,
    colorType: bytes[25]!,
    interlaced: bytes[28] === 1,
  };
  if (h.width === 0 || h.height === 0) throw new ImageDecodeError("corrupt", "PNG has a zero dimension");
  if (!DEPTHS[h.colorType]?.includes(h.depth)) {
    throw new ImageDecodeError("corrupt", `PNG colour type ${h.colorType} with bit depth ${h.depth}`);
  }
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28]! > 1) {
    throw new ImageDecodeError("corrupt", "PNG uses an unknown compression, filter or interlace method");
  }
  if (h.width * h.height > limits.maxPixels) {
    throw new ImageDecodeError(
      "too-large",
      `PNG of ${h.width}x${h.height} exceeds ${limits.maxPixels} pixels`,
    );
  }
  return h;
}

interface Chunks {
  /** The IDAT chunks' data, in order. */
  idat: Uint8Array[];
  palette?: Uint8Array;
  trns?: Uint8Array;
}

function readChunks(bytes: Uint8Array): Chunks {
  const parts: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  let trns: Uint8Array | undefined;
  let o = 8;
  let ended = false;
  while (o < bytes.length) {
    if (o + 12 > bytes.length) throw new ImageDecodeError("truncated", "PNG ends inside a chunk header");
    const len = u32(bytes, o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (o + 12 + len > bytes.length) throw new ImageDecodeError("truncated", `PNG ends inside chunk ${type}`);
    const data = bytes.subarray(o + 8, o + 8 + len);
    if (type === "IDAT") parts.push(data);
    else if (type === "PLTE") palette = data;
    else if (type === "tRNS") trns = data;
    else if (type === "IEND") {
      ended = true;
      break;
    }
    o += 12 + len;
  }
  if (!ended) throw new ImageDecodeError("truncated", "PNG ends before its IEND chunk");
  if (parts.length === 0) throw new ImageDecodeError("corrupt", "PNG has no image data");
  // The IDAT chunks stay views into the file: they are inflated one after another, not joined.
  return { idat: parts, ...(palette ? { palette } : {}), ...(trns ? { trns } : {}) };
}

/** Bytes per filtered row of a (pass) width, without the filter-type byte. */
function rowBytes(h: Header, width: number): number {
  return Math.ceil((width * SAMPLES[h.colorType]! * h.depth) / 8);
}

function passSize(h: Header, p: number): [number, number] {
  if (!h.interlaced) return [h.width, h.height];
  const [xs, ys, dx, dy] = ADAM7[p]!;
  return [Math.ceil(Math.max(0, h.width - xs) / dx), Math.ceil(Math.max(0, h.height - ys) / dy)];
}

/**
 * Inflates the `expected` bytes of image data. A stream that ends short is truncated; one that
 * is malformed or fails its checksum is corrupt; output past `expected` is dropped, and not read at all beyond
 * MAX_TRAILING_BYTES.
 */
async function inflate(data: Uint8Array[], expected: number): Promise<Uint8Array> {
  const out = new Uint8Array(expected);
  let got = 0;
  const ds = new DecompressionStream("deflate");
  const writer = ds.writable.getWriter();
  for (const part of data) writer.write(part as Uint8Array<ArrayBuffer>).catch(() => {});
  writer.close().catch(() => {});
  const reader = ds.readable.getReader();
  let extra = 0;
  try {
    // Read to the end so zlib's checksum is verified, but stop once the stream inflates far past
    // what the header promised (a bomb hidden after the image data).
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const take = Math.min(value.length, expected - got);
      out.set(value.subarray(0, take), got);
      got += take;
      extra += value.length - take;
      if (extra > MAX_TRAILING_BYTES) break;
    }
  } catch (e) {
    throw new ImageDecodeError(
      "corrupt",
      `PNG zlib data is invalid after ${got} of ${expected} bytes: ${String(e)}`,
    );
  } finally {
    reader.cancel().catch(() => {});
  }
  if (got < expected)
    throw new ImageDecodeError("truncated", `PNG image data ends after ${got} of ${expected} bytes`);
  return out;
}

/** Reverses the per-row filters of one pass in place; returns the offset after the pass. */
function unfilter(raw: Uint8Array, at: number, rows: number, stride: number, bpp: number): number {
  for (let y = 0; y < rows; y++) {
    const filter = raw[at]!;
    const row = at + 1;
    const end = row + stride;
    // On the first row the "previous row" is all zeros: Up is None, Average and Paeth reduce to Sub.
    const up = y > 0 ? row - stride - 1 : -1;
    if (filter === 1 || (up < 0 && filter === 4)) {
      for (let i = row + bpp; i < end; i++) raw[i] = (raw[i]! + raw[i - bpp]!) & 0xff;
    } else if (filter === 2) {
      if (up >= 0) for (let i = row, j = up; i < end; i++, j++) raw[i] = (raw[i]! + raw[j]!) & 0xff;
    } else if (filter === 3) {
      unfilterAverage(raw, row, end, up, bpp);
    } else if (filter === 4) {
      unfilterPaeth(raw, row, end, up, bpp);
    } else if (filter !== 0) throw new ImageDecodeError("corrupt", `PNG row filter ${filter}`);
    at = end;
  }
  return at;
}

function unfilterAverage(raw: Uint8Array, row: number, end: number, up: number, bpp: number): void {
  for (let i = row, k = 0; i < end; i++, k++) {
    const a = k >= bpp ? raw[i - bpp]! : 0;
    const b = up >= 0 ? raw[up + k]! : 0;
    raw[i] = (raw[i]! + ((a + b) >> 1)) & 0xff;
  }
}

/** Paeth with a previous row (the first row is handled as Sub). */
function unfilterPaeth(raw: Uint8Array, row: number, end: number, up: number, bpp: number): void {
  for (let k = 0; k < bpp && row + k < end; k++) raw[row + k] = (raw[row + k]! + raw[up + k]!) & 0xff;
  for (let i = row + bpp, k = bpp; i < end; i++, k++) {
    const a = raw[i - bpp]!;
    const b = raw[up + k]!;
    const c = raw[up + k - bpp]!;
    const pa = Math.abs(b - c); // |p - a| with p = a + b - c
    const pb = Math.abs(a - c);
    const pc = Math.abs(a + b - 2 * c);
    raw[i] = (raw[i]! + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
  }
}

export async function decodePng(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  const h = readHeader(bytes, limits);
  try {
    return await decodeBody(bytes, h);
  } catch (e) {
    // Buffers are sized from the header: an allocation failure means the image is too large
    // for this isolate even though it passed the pixel limit.
    if (e instanceof RangeError)
      throw new ImageDecodeError("too-large", `PNG ${h.width}x${h.height}: ${e.message}`);
    throw e;
  }
}

async function decodeBody(bytes: Uint8Array, h: Header): Promise<DecodedImage> {
  const chunks = readChunks(bytes);
  const passes = h.interlaced ? 7 : 1;
  let expected = 0;
  for (let p = 0; p < passes; p++) {
    const [pw, ph] = passSize(h, p);
    if (pw > 0 && ph > 0) expected += (rowBytes(h, pw) + 1) * ph;
  }
  const raw = await inflate(chunks.idat, expected);
  const bpp = Math.max(1, (SAMPLES[h.colorType]! * h.depth) >> 3);
  const inPlace = IN_PLACE_CHANNELS[h.colorType];
  if (inPlace && !h.interlaced && h.depth === 8) {
    // Rows of 8-bit grey, RGB or RGBA already are pixels once unfiltered and stripped of their
    // filter-type bytes: the image is made in place, without a second image-sized buffer.
    // Moving each row left in order never overwrites a row not yet moved.
    const stride = rowBytes(h, h.width);
    unfilter(raw, 0, h.height, stride, bpp);
    for (let y = 0; y < h.height; y++) {
      raw.copyWithin(y * stride, y * (stride + 1) + 1, (y + 1) * (stride + 1));
    }
    return {
      width: h.width,
      height: h.height,
      channels: inPlace,
      pixels: raw.subarray(0, h.height * stride),
    };
  }
  const out = makeOutput(h, chunks);
  let at = 0;
  for (let p = 0; p < passes; p++) {
    const [pw, ph] = passSize(h, p);
    if (pw === 0 || ph === 0) continue;
    const stride = rowBytes(h, pw);
    const start = at;
    at = unfilter(raw, at, ph, stride, bpp);
    const [xs, ys, dx, dy] = h.interlaced ? ADAM7[p]! : [0, 0, 1, 1];
    for (let y = 0; y < ph; y++) {
      out.writeRow(raw, start + y * (stride + 1) + 1, pw, ys + y * dy, xs, dx);
    }
  }
  return out.image;
}

interface Output {
  image: DecodedImage;
  /** Converts `count` pixels of a filtered-out row at raw[at] to pixels (row y, x = xs + k*dx). */
  writeRow(raw: Uint8Array, at: number, count: number, y: number, xs: number, dx: number): void;
}

function makeOutput(h: Header, chunks: Chunks): Output {
  const { width, depth, colorType } = h;
  let channels: 1 | 3 | 4 = colorType === 2 ? 3 : colorType === 6 ? 4 : 1;
  let palette: Uint8Array | undefined;
  if (colorType === 3) {
    if (!chunks.palette || chunks.palette.length % 3 !== 0) {
      throw new ImageDecodeError("corrupt", "palette PNG without a valid PLTE chunk");
    }
    channels = chunks.trns ? 4 : 3;
    palette = expandPalette(chunks.palette, chunks.trns);
  }
  const pixels = new Uint8Array(width * h.height * channels);
  const image: DecodedImage = { width, height: h.height, channels, pixels };
  const spp = SAMPLES[colorType]!;
  const sample = sampleReader(depth);
  const scale = colorType === 3 || depth >= 8 ? 1 : 255 / ((1 << depth) - 1);
  const direct = depth === 8 && colorType !== 3 && channels === spp;
  return {
    image,
    writeRow(raw, at, count, y, xs, dx) {
      let o = (y * width + xs) * channels;
      if (direct && dx === 1) {
        // 8-bit grey, RGB or RGBA without interlacing: the row already is the pixel layout.
        pixels.set(raw.subarray(at, at + count * channels), o);
        return;
      }
      const step = dx * channels;
      for (let k = 0; k < count; k++, o += step) {
        const s = k * spp;
        if (palette) {
          const idx = sample(raw, at, s) * 4;
          if (idx + 4 > palette.length)
            throw new ImageDecodeError("corrupt", "PNG palette index out of range");
          for (let c = 0; c < channels; c++) pixels[o + c] = palette[idx + c]!;
        } else if (channels === 1) {
          pixels[o] = scale === 1 ? sample(raw, at, s) : Math.round(sample(raw, at, s) * scale);
        } else {
          for (let c = 0; c < channels; c++) pixels[o + c] = sample(raw, at, s + c);
        }
      }
    },
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

/** Palette as RGBA entries (missing tRNS entries are opaque, missing colours black). */
function expandPalette(plte: Uint8Array, trns: Uint8Array | undefined): Uint8Array {
  const n = plte.length / 3;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = plte[i * 3]!;
    out[i * 4 + 1] = plte[i * 3 + 1]!;
    out[i * 4 + 2] = plte[i * 3 + 2]!;
    out[i * 4 + 3] = trns && i < trns.length ? trns[i]! : 255;
  }
  return out;
}
