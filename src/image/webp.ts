/**
 * WebP for PDQ through hashgate's libwebp build (webp-codec.ts): lossy (VP8), lossless (VP8L),
 * the extended format (VP8X) and animations.
 *
 * Stills are decoded straight to the PDQ working size (downscale.ts's plan: the shorter side
 * stays >= 512) by libwebp's row rescaler, as RGB: a lossy WebP is never held at full size,
 * whatever its resolution. Only the image chunk is handed to libwebp: PDQ ignores alpha, and
 * libwebp keeps a full-size alpha plane while it decodes ALPH. A lossless (VP8L) bitstream is
 * decoded through a sliding window of about 2.1 million ARGB pixels (8 MiB; our patch to
 * libwebp, wasm/libwebp/patches: a back-reference reaches at most 1048456 pixels back), so a
 * lossless WebP of any size costs at most that beside its input and output.
 *
 * Animations: the demuxer gives each frame's rectangle, blend and dispose; each frame is
 * decoded scaled to its rectangle on a canvas of the working size and composited there
 * (frames.ts's Canvas: which frames are hashed, how many pixels an animation may spend).
 */
import { planScale } from "./downscale.ts";
import { Canvas, type DecodedFrame, isFrameHashed } from "./frames.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";
import { MAX_WASM_PIXELS } from "./wasm-codec.ts";
import { type WebpCodec, webpCodec } from "./webp-codec.ts";
import { readWebpHeader } from "./webp-header.ts";

type WebpLimits = Pick<DecodeLimits, "fullResolution" | "reserve">;

/**
 * Pixels of the window in which the patched VP8L decoder holds a lossless image
 * (wasm/libwebp/patches/0001-vp8l-sliding-window.patch, SlidingCapacity): the longest
 * backward distance (2^20 − 120), the longest copy (4096) and the 2^20 pixels gained per move.
 * A smaller image is held whole. (The window also covers 16 rows, which matters only for rows
 * wider than 65 536 pixels: VP8L's limit is 16 384.)
 */
export const VP8L_WINDOW_PIXELS = 2 ** 20 - 120 + 4096 + 2 ** 20;

/**
 * Room for a lossless bitstream's entropy codes and sub-images: the Huffman tables of each group
 * its meta-Huffman image names (about 12 KiB each, 16.5 KiB with a 1024-entry colour cache),
 * the transforms' and the entropy image's pixels. libwebp's encoder (1.6.0, vp8l_enc.c) keeps
 * the transform images under 16 384 pixels and the entropy image under 2600; cwebp -z 9 and
 * -m 1 to 6 files of the fixture photos needed at most 0.25 MiB beyond the window, 4 MiB is
 * about 250 groups. A file needing more is refused as too-large: the allowance is also the
 * ceiling of libwebp's allocations in the module (webp-codec.ts), which a hostile meta-Huffman
 * image of 65 536 groups would otherwise take to 0.8–1.3 GB.
 */
export const VP8L_CODES_BYTES = 4 * 1024 * 1024;

/**
 * libwebp's working memory for a bitstream besides input and output (measured with
 * test/image/webp-scaled.test.ts, which checks it covers the instance's growth): VP8 keeps a
 * few macroblock rows, the row rescaler a few output rows; VP8L its window of ARGB pixels
 * (the whole image when smaller) and its codes; ALPH (animation frames only) a full-size alpha
 * plane (compressed, its own VP8L codes). It is also the hard ceiling on what libwebp may allocate for
 * the decode (hashgate_webp.c): a bitstream asking more fails as too-large.
 */
export function webpWorkBytes(width: number, height: number, lossless: boolean, alpha: boolean): number {
  const argb = lossless ? Math.min(width * height, VP8L_WINDOW_PIXELS) * 4 : 0;
  const codes = lossless || alpha ? VP8L_CODES_BYTES : 0;
  return 256 * 1024 + width * 96 + argb + codes + (alpha ? width * height : 0);
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

/** The header, after checking the file is as long as its RIFF size says. */
function checkedHeader(bytes: Uint8Array) {
  const header = readWebpHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  // libwebp reports a short file as a generic failure: "truncated" is told apart here.
  const riffSize = new DataView(bytes.buffer, bytes.byteOffset + 4, 4).getUint32(0, true);
  if (bytes.length < riffSize + 8) throw new ImageDecodeError("truncated", "WebP shorter than its RIFF size");
  return header;
}

/** A still's image chunk (VP8 or VP8L, header included), without ALPH, EXIF, ICC or XMP. */
function imageChunk(bytes: Uint8Array): { chunk: Uint8Array; lossless: boolean } {
  const first = fourcc(bytes, 12);
  if (first !== "VP8X") return { chunk: bytes, lossless: first === "VP8L" };
  for (let at = 12; at + 8 <= bytes.length; ) {
    const id = fourcc(bytes, at);
    const size = new DataView(bytes.buffer, bytes.byteOffset + at + 4, 4).getUint32(0, true);
    if (id === "VP8 " || id === "VP8L") {
      if (at + 8 + size > bytes.length) throw new ImageDecodeError("truncated", "WebP image chunk cut short");
      return { chunk: bytes.subarray(at, at + 8 + size), lossless: id === "VP8L" };
    }
    if (id === "ANMF") throw new ImageDecodeError("corrupt", "WebP has frames but no animation flag");
    at += 8 + size + (size & 1);
  }
  throw new ImageDecodeError("truncated", "WebP ends before its image chunk");
}

/**
 * Decodes a WebP's first frame: a still at the PDQ working size (or at full size with
 * `fullResolution`), as RGB; an animation's first composited frame, as RGBA.
 */
export async function decodeWebp(bytes: Uint8Array, limits: WebpLimits = {}): Promise<DecodedImage> {
  const header = checkedHeader(bytes);
  if (header.animated) {
    for await (const frame of decodeWebpFrames(bytes, limits)) return frame.image;
    throw new ImageDecodeError("corrupt", "animated WebP without frames");
  }
  const { width, height } = header;
  if (limits.fullResolution && width * height > MAX_WASM_PIXELS) {
    throw new ImageDecodeError("too-large", `WebP ${width}x${height} exceeds the decoder's limit`);
  }
  const { chunk, lossless } = imageChunk(bytes);
  const plan = planScale(width, height, limits.fullResolution);
  const outBytes = plan.width * plan.height * 3;
  // Input copy, output in the instance and its copy out, libwebp's own work (its ceiling).
  const work = webpWorkBytes(width, height, lossless, false);
  limits.reserve?.(chunk.length + 2 * outBytes + work);
  const codec = await webpCodec();
  const pixels = codec.withInput(chunk, (ptr) => {
    const f = codec.features(ptr, chunk.length);
    if (f.width !== width || f.height !== height) {
      throw new ImageDecodeError("corrupt", "WebP bitstream size differs from its canvas");
    }
    return codec.decode(ptr, chunk.length, plan.width, plan.height, 3, work);
  });
  return { width: plan.width, height: plan.height, channels: 3, pixels };
}

/** Every hashed frame of a WebP: the still itself, or an animation's composited frames. */
export async function* decodeWebpFrames(
  bytes: Uint8Array,
  limits: WebpLimits = {},
): AsyncGenerator<DecodedFrame> {
  const header = checkedHeader(bytes);
  if (!header.animated) {
    yield { index: 0, image: await decodeWebp(bytes, limits) };
    return;
  }
  const plan = planScale(header.width, header.height, limits.fullResolution);
  // The canvas, and the snapshot of it handed to the hasher.
  limits.reserve?.(bytes.length + 2 * plan.width * plan.height * 4);
  const canvas = new Canvas(plan.width, plan.height, "WebP");
  const codec = await webpCodec();
  const file = codec.copyIn(bytes);
  let failure: unknown;
  try {
    yield* compositeFrames(codec, file, bytes.length, canvas, limits);
  } catch (err) {
    failure = err ?? new Error("thrown");
    throw err;
  } finally {
    codec.release(file, failure);
  }
}

async function* compositeFrames(
  codec: WebpCodec,
  file: number,
  size: number,
  canvas: Canvas,
  limits: WebpLimits,
): AsyncGenerator<DecodedFrame> {
  const demux = codec.demux(file, size);
  try {
    const sx = canvas.width / demux.width;
    const sy = canvas.height / demux.height;
    let reservedWork = 0;
    for (let n = 1; n <= demux.frameCount; n++) {
      const { info, data, size: frameSize } = demux.frame(n);
      canvas.spend(info.width * info.height, n - 1);
      // The frame's rectangle on the (possibly reduced) canvas: at least one pixel each way.
      const x = Math.min(canvas.width - 1, Math.floor(info.x * sx));
      const y = Math.min(canvas.height - 1, Math.floor(info.y * sy));
      const w = Math.max(1, Math.min(canvas.width, Math.ceil((info.x + info.width) * sx)) - x);
      const h = Math.max(1, Math.min(canvas.height, Math.ceil((info.y + info.height) * sy)) - y);
      // libwebp's memory for the largest frame so far (the instance keeps what it grew to).
      const frameWork = webpWorkBytes(info.width, info.height, info.lossless, info.hasAlpha);
      const work = 2 * w * h * 4 + frameWork;
      if (work > reservedWork) {
        limits.reserve?.(work - reservedWork);
        reservedWork = work;
      }
      const pixels = codec.decode(data, frameSize, w, h, 4, frameWork);
      drawFrame(canvas, pixels, x, y, w, h, info.blend && info.hasAlpha);
      if (isFrameHashed(n - 1, demux.frameCount)) {
        yield { index: n - 1, image: canvas.snapshot(limits.fullResolution ?? false) };
      }
      if (info.disposeToBackground) canvas.clear(x, y, w, h);
    }
  } finally {
    demux.close();
  }
}

/**
 * Draws a frame's RGBA on the canvas: replacing the rectangle, or alpha-blended over it as the
 * WebP container specification gives it for non-premultiplied colour:
 *   A = As + Ad·(1 − As),  C = (Cs·As + Cd·Ad·(1 − As)) / A  (0 where A is 0).
 */
export function drawFrame(
  canvas: Canvas,
  src: Uint8Array,
  x: number,
  y: number,
  w: number,
  h: number,
  blend: boolean,
): void {
  const dst = canvas.pixels;
  for (let r = 0; r < h; r++) {
    const row = ((y + r) * canvas.width + x) * 4;
    if (!blend) {
      dst.set(src.subarray(r * w * 4, (r + 1) * w * 4), row);
      continue;
    }
    for (let c = 0; c < w; c++) {
      const s = (r * w + c) * 4;
      const d = row + c * 4;
      const sa = src[s + 3]!;
      if (sa === 255) {
        dst[d] = src[s]!;
        dst[d + 1] = src[s + 1]!;
        dst[d + 2] = src[s + 2]!;
        dst[d + 3] = 255;
        continue;
      }
      if (sa === 0) continue;
      // Weights scaled by 255: source sa·255, destination da·(255 − sa).
      const dw = dst[d + 3]! * (255 - sa);
      const total = sa * 255 + dw;
      for (let k = 0; k < 3; k++)
        dst[d + k] = Math.round((src[s + k]! * sa * 255 + dst[d + k]! * dw) / total);
      dst[d + 3] = Math.round(total / 255);
    }
  }
}
