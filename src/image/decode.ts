/**
 * Image decoding for PDQ: format by magic bytes, size checked from the header before any
 * decoding (decompression bombs), then the format's decoder. Every failure is an
 * ImageDecodeError; nothing else escapes.
 *
 * Decoder choice (measured 2026-11-28 on the 29 fixture JPEGs, Node 22, this 2-core machine,
 * both decoders in one process, mean of 3 runs after a warm-up):
 * - JPEG in the gate: hashgate's own scaled luma decoder in the WASM core (jpeg-scaled.ts says
 *   why): luma only, at the DCT scale that keeps the shorter side >= 512 px.
 * - JPEG at full resolution (`fullResolution`, for `hashgate hash`): jSquash's MozJPEG build (libjpeg-turbo's decoder in WASM, @jsquash/jpeg 1.6.0),
 *   imported as a WebAssembly.Module in workerd. Its pixels equal the reference decoder's
 *   exactly (max abs difference 0 on all 7 `pixels/*.decoded.png` fixtures: same islow IDCT
 *   and fancy upsampling; PDQ distance to fullres_hex 0 on all 26 JPEGs of quality >= 50), and
 *   it decodes in 16.4 ms mean per image (1600x1004: 16-25 ms, 4032x3024: 158 ms). Pure-JS
 *   jpeg-js 0.4.4 took 90.1 ms mean (1600x1004: 79-187 ms, 4032x3024: 819 ms) and differs by up
 *   to 49 levels (mean 0.7-1.8) because it upsamples chroma by replication. jpeg-js is kept
 *   only for CMYK/YCCK files, which libjpeg cannot turn into RGB (jpeg-cmyk.ts).
 * - WebP: hashgate's libwebp build (webp.ts, wasm/libwebp), decoded scaled to the PDQ size;
 *   animated WebP frame by frame (frames.ts).
 * - AVIF: hashgate's dav1d build (avif.ts, wasm/dav1d) fed by our own box reader, each grid tile
 *   converted to RGB straight into the PDQ working size; an image sequence frame by frame
 *   (avif-sequence.ts, its samples from avif-tracks.ts).
 * - GIF: our own decoder (gif.ts), every frame composited (frames.ts).
 * - PNG: png.ts, streamed and downscaled while decoding; APNG frames.
 * - BMP (bmp.ts) and TIFF (tiff.ts, every page a frame): our own, rows into the downscaler.
 * EXIF orientation is not applied: the reference hashes pixels as stored (exif-rotn-6.jpg's
 * fullres hash is that of the stored 4032x3024 pixels).
 * Channels: JPEG colour comes as RGBA (opaque where the file has no alpha; no copy to drop
 * it), GIF and animated WebP as RGBA, a still WebP as RGB, greyscale JPEG as 1 channel, CMYK
 * JPEG as RGB, AVIF as 1 channel (PDQ's luminance of each pixel's RGB, avif.ts).
 */

import { readAvifHeader } from "./avif-header.ts";
import { decodeAvifFirst, decodeAvifFrames } from "./avif-sequence.ts";
import { decodeBmp } from "./bmp.ts";
import type { DecodedFrame } from "./frames.ts";
import { decodeGif, decodeGifFrames } from "./gif.ts";
import { decodeJpeg } from "./jpeg.ts";
import { decodeJpegScaled } from "./jpeg-scaled.ts";
import { decodePng, decodePngFrames } from "./png.ts";
import { readImageHeader } from "./sniff.ts";
import { decodeTiff, decodeTiffFrames } from "./tiff.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";
import { decodeWebp, decodeWebpFrames } from "./webp.ts";

/** Format and size from the header, refused before any decoding when too large. */
function checkedHeader(bytes: Uint8Array, limits: DecodeLimits) {
  const header = readImageHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  const { format, width, height } = header;
  if (width === 0 || height === 0)
    throw new ImageDecodeError("corrupt", `${format} header says ${width}x${height}`);
  if (width * height > limits.maxPixels) {
    throw new ImageDecodeError(
      "too-large",
      `${format} ${width}x${height} exceeds ${limits.maxPixels} pixels`,
    );
  }
  if (format === "avif") checkAvifCanvas(bytes, limits);
  else reserveFor(format, width, height, limits);
  return header;
}

/**
 * Tells the isolate's memory budget what a decode will take, before it takes it. JPEGs reserve
 * their exact need from their headers inside the scaled decoder, and so do WebPs (webp.ts: a
 * lossless one through libwebp's 8 MiB sliding window) and GIFs (gif.ts, once it knows a still, which streams
 * into the PDQ working size, from an animation, which needs its canvas); PNG, BMP and TIFF decode
 * into the PDQ working size, at most the frame canvas (frames.ts: 2048 × 2048); any
 * full-resolution decode builds the image at full size. At most 4 bytes per pixel.
 */
function reserveFor(format: string, width: number, height: number, limits: DecodeLimits): void {
  if (!limits.reserve) return;
  if (format === "gif") return; // gif.ts reserves once it knows a still from an animation
  if (limits.fullResolution) limits.reserve(width * height * 4);
  else if (format !== "jpeg" && format !== "webp")
    limits.reserve(Math.min(width * height, WORKING_PIXELS) * 4);
}

/**
 * AVIF: refused when the canvas its AV1 sequence headers allow is above the pixel limit (a
 * grid's tiles may overhang the image); avif.ts reserves its memory once it has read the items
 * (dav1d decodes one tile at a time, into the PDQ working size).
 */
function checkAvifCanvas(bytes: Uint8Array, limits: DecodeLimits): void {
  const header = readAvifHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  const width = Math.max(header.width, header.decodeWidth);
  const height = Math.max(header.height, header.decodeHeight);
  if (width * height > limits.maxPixels)
    throw new ImageDecodeError(
      "too-large",
      `AVIF decodes ${width}x${height}, over ${limits.maxPixels} pixels`,
    );
}

/** Pixels a downscaling decoder holds at most: the animation canvas bound of frames.ts. */
const WORKING_PIXELS = 2048 * 2048;

/** Any failure of a decoder as an ImageDecodeError. */
function asDecodeError(format: string, err: unknown): ImageDecodeError {
  if (err instanceof ImageDecodeError) return err;
  // A decoder bug or an engine limit (e.g. out of memory) is still an undecodable image.
  return new ImageDecodeError("corrupt", `${format} decoder failed: ${String(err)}`);
}

function checkedImage(format: string, image: DecodedImage): DecodedImage {
  if (image.pixels.length !== image.width * image.height * image.channels) {
    throw new ImageDecodeError("corrupt", `${format} decoder returned a short pixel buffer`);
  }
  return image;
}

/**
 * Decodes the first frame of an image, refusing it from its header if too large. PNG, GIF, BMP
 * and TIFF come at the PDQ size (downscale.ts) unless `limits.fullResolution`.
 */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
  const { format } = checkedHeader(bytes, limits);
  return decodeStill(bytes, format, limits);
}

/** The first frame of an image whose header was checked (and its memory reserved). */
async function decodeStill(bytes: Uint8Array, format: string, limits: DecodeLimits): Promise<DecodedImage> {
  let image: DecodedImage;
  try {
    if (format === "jpeg") {
      image = limits.fullResolution
        ? await decodeJpeg(bytes)
        : await decodeJpegScaled(bytes, limits.reserve ? { reserve: limits.reserve } : {});
    } else if (format === "png") image = await decodePng(bytes, limits);
    else if (format === "gif") image = decodeGif(bytes, limits);
    else if (format === "bmp") image = decodeBmp(bytes, limits);
    else if (format === "tiff") image = await decodeTiff(bytes, limits);
    else if (format === "avif") image = await decodeAvifFirst(bytes, limits);
    else image = await decodeWebp(bytes, limits);
  } catch (err) {
    throw asDecodeError(format, err);
  }
  return checkedImage(format, image);
}

/**
 * Every frame of an image that is hashed (frames.ts): one for a still image, the composited
 * frames of an animated GIF, APNG or WebP, the frames of an AVIF image sequence, in file order.
 */
export async function* decodeImageFrames(
  bytes: Uint8Array,
  limits: DecodeLimits,
): AsyncGenerator<DecodedFrame> {
  const { format } = checkedHeader(bytes, limits);
  const frames =
    format === "png"
      ? decodePngFrames(bytes, limits)
      : format === "gif"
        ? decodeGifFrames(bytes, limits)
        : format === "tiff"
          ? decodeTiffFrames(bytes, limits)
          : format === "webp"
            ? decodeWebpFrames(bytes, limits)
            : format === "avif"
              ? decodeAvifFrames(bytes, limits)
              : null;
  if (!frames) {
    yield { index: 0, image: await decodeStill(bytes, format, limits) };
    return;
  }
  for (;;) {
    let next: IteratorResult<DecodedFrame>;
    try {
      next = await frames.next();
    } catch (err) {
      throw asDecodeError(format, err);
    }
    if (next.done) return;
    yield { index: next.value.index, image: checkedImage(format, next.value.image) };
  }
}

/** What `use` gave for each frame, and the error that ended decoding early, if one did. */
export interface FramesResult<T> {
  frames: { index: number; value: T }[];
  error?: ImageDecodeError;
}

/**
 * Decodes every hashed frame and hands each to `use`, freeing its pixels before the next is
 * decoded (at most one frame alive besides an animation's canvas). A frame that fails to decode
 * ends the loop: the frames before it keep their results, and the error is returned with them.
 */
export async function withDecodedFrames<T>(
  bytes: Uint8Array,
  limits: DecodeLimits,
  use: (image: DecodedImage, index: number) => T,
): Promise<FramesResult<T>> {
  const frames: FramesResult<T>["frames"] = [];
  try {
    for await (const { index, image } of decodeImageFrames(bytes, limits)) {
      try {
        frames.push({ index, value: use(image, index) });
      } finally {
        releasePixels(image);
      }
    }
  } catch (err) {
    if (!(err instanceof ImageDecodeError)) throw err;
    return { frames, error: err };
  }
  return { frames };
}

/**
 * Decodes an image, hands it to `use` (e.g. the PDQ hasher), then frees its pixels at once:
 * the way the gate handles every image, so that at most one decoded image is alive per call.
 */
export async function withDecodedImage<T>(
  bytes: Uint8Array,
  limits: DecodeLimits,
  use: (image: DecodedImage) => T,
): Promise<T> {
  const image = await decodeImage(bytes, limits);
  try {
    return use(image);
  } finally {
    releasePixels(image);
  }
}

/**
 * Frees a decoded image's pixels now instead of at the next garbage collection (a 12-megapixel
 * image is 48 MB of RGBA, and an isolate has 128 MB). The image must not be used afterwards.
 */
export function releasePixels(image: DecodedImage): void {
  const buffer = image.pixels.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  try {
    // Detaching frees the memory at once; buffers that cannot be detached (a WASM memory's)
    // are simply left to the collector.
    buffer.transfer?.(0);
  } catch {}
}
