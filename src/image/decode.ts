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
 * - WebP: jSquash's libwebp build (@jsquash/webp 1.5.0), same loading; animated WebP unsupported.
 * - GIF: our own decoder (gif.ts), first frame.
 * - PNG: png.ts.
 * EXIF orientation is not applied: the reference hashes pixels as stored (exif-rotn-6.jpg's
 * fullres hash is that of the stored 4032x3024 pixels).
 * Channels: JPEG colour and WebP come as RGBA (opaque where the file has no alpha; no copy to
 * drop it), GIF as RGBA, greyscale JPEG as 1 channel, CMYK JPEG as RGB.
 */
import { decodeGif } from "./gif.ts";
import { decodeJpeg } from "./jpeg.ts";
import { decodeJpegScaled } from "./jpeg-scaled.ts";
import { decodePng } from "./png.ts";
import { readImageHeader } from "./sniff.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";
import { decodeWebp } from "./webp.ts";

/** Decodes the first frame of a JPEG, PNG, GIF or WebP image, refusing it from its header if too large. */
export async function decodeImage(bytes: Uint8Array, limits: DecodeLimits): Promise<DecodedImage> {
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
  // JPEGs reserve their exact need from their headers inside the scaled decoder; the other
  // decoders build the image at full size (at most 4 bytes per pixel).
  if (format !== "jpeg" || limits.fullResolution) limits.reserve?.(width * height * 4);
  let image: DecodedImage;
  try {
    if (format === "jpeg") {
      image = limits.fullResolution
        ? await decodeJpeg(bytes)
        : await decodeJpegScaled(bytes, limits.reserve ? { reserve: limits.reserve } : {});
    } else if (format === "png") image = await decodePng(bytes, limits);
    else if (format === "gif") image = decodeGif(bytes, limits.maxPixels);
    else image = await decodeWebp(bytes);
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err;
    // A decoder bug or an engine limit (e.g. out of memory) is still an undecodable image.
    throw new ImageDecodeError("corrupt", `${format} decoder failed: ${String(err)}`);
  }
  if (image.pixels.length !== image.width * image.height * image.channels) {
    throw new ImageDecodeError("corrupt", `${format} decoder returned a short pixel buffer`);
  }
  return image;
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
