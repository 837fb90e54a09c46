/**
 * PNG decoder: every colour type, bit depths 1/2/4/8/16, palette with tRNS, Adam7 interlace,
 * and APNG animation (acTL/fcTL/fdAT, blend and dispose ops). Rows are streamed from the
 * inflater (png-rows.ts) into an area-average downscaler sized for PDQ (downscale.ts), so a
 * 100-megapixel PNG costs the memory of its ~0.3-megapixel output, not of its pixels; the
 * full-resolution decode (`fullResolution`, for `hashgate hash` and tests) goes the same way.
 *
 * Output channels: grey → 1, grey+alpha → 1 (PDQ drops alpha; a grey image must stay grey so its
 * luma passes through unchanged), RGB → 3, RGBA → 4, palette → 3 (4 when tRNS is present); APNG
 * frames are RGBA, composited as a browser shows them. CRCs are not checked; structural damage,
 * truncation and bad zlib data raise ImageDecodeError, and the pixel count from IHDR is checked
 * against the limit before anything is inflated.
 */
import { AreaDownscaler, planScale } from "./downscale.ts";
import { Canvas, type DecodedFrame, isFrameHashed } from "./frames.ts";
import { decodeRows, type PngGeometry } from "./png-rows.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const DEPTHS: Record<number, number[]> = {
  0: [1, 2, 4, 8, 16],
  2: [8, 16],
  3: [1, 2, 4, 8],
  4: [8, 16],
  6: [8, 16],
};

/** An APNG frame: its fcTL fields and its data (IDAT for a first frame that is the default image, else fdAT payloads). */
interface ApngFrame {
  width: number;
  height: number;
  x: number;
  y: number;
  /** 0 none, 1 clear to transparent, 2 restore to previous. */
  dispose: number;
  /** 0 source (replace), 1 over (alpha blend). */
  blend: number;
  parts: Uint8Array[];
}

interface Chunks {
  idat: Uint8Array[];
  palette?: Uint8Array;
  trns?: Uint8Array;
  /** APNG frames in order, when the file has an acTL chunk. */
  frames?: ApngFrame[];
  /** Whether the default image (IDAT) is also the first frame. */
  idatIsFrame: boolean;
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

function readHeader(bytes: Uint8Array, limits: DecodeLimits): PngGeometry {
  if (!isPng(bytes)) throw new ImageDecodeError("unsupported", "not a PNG (bad signature)");
  if (bytes.length < 33) throw new ImageDecodeError("truncated", "PNG ends inside its header");
  if (u32(bytes, 8) !== 13 || String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") {
    throw new ImageDecodeError("corrupt", "PNG does not start with a valid IHDR chunk");
  }
  const h: PngGeometry = {
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

function readFrameControl(data: Uint8Array, h: PngGeometry): ApngFrame {
  if (data.length < 26) throw new ImageDecodeError("corrupt", "APNG fcTL chunk too short");
  const f: ApngFrame = {
    width: u32(data, 4),
    height: u32(data, 8),
    x: u32(data, 12),
    y: u32(data, 16),
    dispose: data[24]!,
    blend: data[25]!,
    parts: [],
  };
  if (f.width === 0 || f.height === 0 || f.x + f.width > h.width || f.y + f.height > h.height) {
    throw new ImageDecodeError(
      "corrupt",
      `APNG frame ${f.width}x${f.height}+${f.x}+${f.y} outside the canvas`,
    );
  }
  if (f.dispose > 2 || f.blend > 1)
    throw new ImageDecodeError("corrupt", "APNG frame with unknown dispose/blend op");
  return f;
}

function readChunks(bytes: Uint8Array, h: PngGeometry): Chunks {
  const c: Chunks = { idat: [], idatIsFrame: false };
  let animated = false;
  const frames: ApngFrame[] = [];
  let o = 8;
  let ended = false;
  while (o < bytes.length) {
    if (o + 12 > bytes.length) throw new ImageDecodeError("truncated", "PNG ends inside a chunk header");
    const len = u32(bytes, o);
    const type = String.fromCharCode(...bytes.subarray(o + 4, o + 8));
    if (o + 12 + len > bytes.length) throw new ImageDecodeError("truncated", `PNG ends inside chunk ${type}`);
    const data = bytes.subarray(o + 8, o + 8 + len);
    if (type === "IDAT") {
      c.idat.push(data);
      if (frames.length === 1 && c.idat.length === 1) c.idatIsFrame = true;
      if (c.idatIsFrame) frames[0]!.parts.push(data);
    } else if (type === "PLTE") c.palette = data;
    else if (type === "tRNS") c.trns = data;
    else if (type === "acTL" && c.idat.length === 0) animated = true;
    else if (type === "fcTL" && animated) frames.push(readFrameControl(data, h));
    else if (type === "fdAT" && animated && frames.length > 0) {
      // The payload after the 4-byte sequence number is the frame's zlib data.
      if (data.length < 4) throw new ImageDecodeError("corrupt", "APNG fdAT chunk too short");
      frames.at(-1)!.parts.push(data.subarray(4));
    } else if (type === "IEND") {
      ended = true;
      break;
    }
    o += 12 + len;
  }
  if (!ended) throw new ImageDecodeError("truncated", "PNG ends before its IEND chunk");
  if (c.idat.length === 0) throw new ImageDecodeError("corrupt", "PNG has no image data");
  if (animated && frames.length > 0) c.frames = frames;
  return c;
}

/** Palette as RGBA entries (missing tRNS entries are opaque). */
function expandPalette(h: PngGeometry, c: Chunks): Uint8Array | undefined {
  if (h.colorType !== 3) return undefined;
  const plte = c.palette;
  if (!plte || plte.length % 3 !== 0)
    throw new ImageDecodeError("corrupt", "palette PNG without a valid PLTE chunk");
  const n = plte.length / 3;
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out.set(plte.subarray(i * 3, i * 3 + 3), i * 4);
    out[i * 4 + 3] = c.trns && i < c.trns.length ? c.trns[i]! : 255;
  }
  return out;
}

function stillChannels(h: PngGeometry, c: Chunks): 1 | 3 | 4 {
  if (h.colorType === 3) return c.trns ? 4 : 3;
  return h.colorType === 2 ? 3 : h.colorType === 6 ? 4 : 1;
}

/** A RangeError from a buffer sized by the header means the image does not fit this isolate. */
async function sized<T>(h: PngGeometry, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof RangeError)
      throw new ImageDecodeError("too-large", `PNG ${h.width}x${h.height}: ${e.message}`);
    throw e;
  }
}

/** Decodes the default image, at the PDQ size unless `limits.fullResolution`. */
export async function decodePng(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  const h = readHeader(bytes, limits);
  return sized(h, async () => {
    const c = readChunks(bytes, h);
    const channels = stillChannels(h, c);
    const plan = planScale(h.width, h.height, limits.fullResolution);
    const out = new AreaDownscaler(h.width, h.height, plan, channels, !h.interlaced);
    await decodeRows(h, c.idat, { out: channels, palette: expandPalette(h, c) }, (y, px, at, n, xs, dx) =>
      out.addRow(y, px, at, n, xs, dx),
    );
    return out.finish();
  });
}

/**
 * Every frame to hash (frames.ts): a still PNG is one frame; an APNG yields its composited
 * frames, and its default image too when that is not part of the animation (another decoder
 * would show it).
 */
export async function* decodePngFrames(
  bytes: Uint8Array,
  limits: DecodeLimits,
): AsyncGenerator<DecodedFrame> {
  const h = readHeader(bytes, limits);
  const c = readChunks(bytes, h);
  if (!c.frames) {
    yield { index: 0, image: await decodePng(bytes, limits) };
    return;
  }
  let index = 0;
  if (!c.idatIsFrame) yield { index: index++, image: await decodePng(bytes, limits) };
  const canvas = new Canvas(h.width, h.height, "PNG");
  const palette = expandPalette(h, c);
  const total = c.frames.length + index;
  for (const [n, f] of c.frames.entries()) {
    canvas.spend(f.width * f.height, n);
    // The first frame's "restore to previous" means clearing (APNG spec).
    const dispose = n === 0 && f.dispose === 2 ? 1 : f.dispose;
    const saved = dispose === 2 ? canvas.save(f.x, f.y, f.width, f.height) : null;
    if (f.parts.length === 0) throw new ImageDecodeError("corrupt", `APNG frame ${n} has no data`);
    const g = { ...h, width: f.width, height: f.height };
    if (f.blend === 0) canvas.clear(f.x, f.y, f.width, f.height);
    await sized(h, () =>
      decodeRows(g, f.parts, { out: 4, palette }, (y, px, at, count, xs, dx) =>
        drawOver(canvas, f.x + xs, f.y + y, dx, px, at, count),
      ),
    );
    if (isFrameHashed(index, total)) yield { index, image: canvas.snapshot(limits.fullResolution ?? false) };
    index++;
    if (dispose === 1) canvas.clear(f.x, f.y, f.width, f.height);
    else if (saved) canvas.restore(f.x, f.y, f.width, f.height, saved);
  }
}

/** Draws RGBA pixels over the canvas ("over" alpha blending; over a cleared region it is a copy). */
function drawOver(
  canvas: Canvas,
  x0: number,
  y: number,
  dx: number,
  px: Uint8Array,
  at: number,
  count: number,
): void {
  const dst = canvas.pixels;
  for (let k = 0, s = at, d = (y * canvas.width + x0) * 4; k < count; k++, s += 4, d += dx * 4) {
    const a = px[s + 3]!;
    if (a === 255) dst.set(px.subarray(s, s + 4), d);
    else if (a > 0) {
      const da = (dst[d + 3]! * (255 - a)) / 255;
      const oa = a + da;
      for (let ch = 0; ch < 3; ch++) dst[d + ch] = Math.round((px[s + ch]! * a + dst[d + ch]! * da) / oa);
      dst[d + 3] = Math.round(oa);
    }
  }
}
