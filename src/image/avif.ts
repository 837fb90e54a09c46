/**
 * AVIF decoding through libavif 1.0.1 with libaom 3.7.0's AV1 decoder (jSquash's single-threaded
 * build, @jsquash/avif 2.1.1; libavif and libaom are BSD-2-Clause, libaom also under the AOMedia
 * patent licence). The decoder returns the whole image as 8-bit RGBA (10/12-bit files are
 * reduced to 8 bits, alpha kept, grids assembled); it is area-averaged to the PDQ working size
 * at once and the full-size copy freed.
 *
 * Memory: the decoder's heap holds the AV1 frame, libavif's YUV planes and an RGBA image, and
 * hands back a JavaScript copy of the RGBA. What that costs is reserved from the header
 * (avifDecodeBytes) before decoding; measured with bench/image-memory.ts. With the default
 * ISOLATE_MEMORY_BYTES (80 MiB) a 4:3 AVIF fits up to about 2.8 MP (8-bit 4:2:0), 1.8 MP (4:4:4
 * or 10-bit), 1.2 MP (4:4:4 with alpha); larger ones are refused as too large (recorded
 * unscanned): a 12 MP AVIF needs 220-450 MiB, more than an isolate has.
 *
 * Image sequences (`avis`): the decoder reads the first frame only (its build has no frame
 * iterator), so only the first frame is hashed; the gate records the file as a still image.
 */
import { type AvifHeader, readAvifHeader } from "./avif-header.ts";
import { downscaleImage, planScale } from "./downscale.ts";
import type { DecodedFrame } from "./frames.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";
import { isOutOfMemory, MAX_WASM_PIXELS, runCodec } from "./wasm-codec.ts";

/**
 * What one decode maps at its peak, per pixel: the decoder's WASM heap after decoding (the
 * AV1 frame buffers, libavif's planes, its RGBA) plus the 4-byte RGBA copy handed to JavaScript.
 * Measured at 12 MP (bytes per pixel, heap + copy): 8-bit 4:2:0 18.6, 4:4:4 25.7, 4:2:0 with
 * alpha 32.9, 4:4:4 with alpha 41.4; 10-bit 4:2:0 25.7; 12-bit 4:4:4 with alpha 52.0. The model
 * 8 + b·(7.5·(1 + chroma samples per pixel) + 15 if alpha), b = 2 bytes per sample above 8 bits,
 * covers each of them. On top, a fixed 24 MiB: the process's peak RSS measured by
 * bench/image-memory.ts rose by 24 MiB + 17.2 B/px (8-bit 4:2:0, fitted over 2 and 12 MP): the
 * heap's initial 16 MiB touched in full and the steps by which Emscripten grows it.
 */
const RGBA_BYTES_PER_PIXEL = 8;
const PLANE_BYTES_PER_SAMPLE = 7.5;
const ALPHA_BYTES_PER_PIXEL = 15;
const FIXED_BYTES = 24 * 1024 * 1024;

/** What decoding this AVIF maps at its peak, from its header: the decode and the downscaled copy. */
export function avifDecodeBytes(
  header: Pick<AvifHeader, "width" | "height" | "depth" | "alpha" | "chroma">,
): number {
  const { width, height } = header;
  const sampleBytes = header.depth > 8 ? 2 : 1;
  const perPixel =
    RGBA_BYTES_PER_PIXEL +
    sampleBytes * (PLANE_BYTES_PER_SAMPLE * (1 + header.chroma) + (header.alpha ? ALPHA_BYTES_PER_PIXEL : 0));
  const plan = planScale(width, height);
  const downscaled = plan.width === width && plan.height === height ? 0 : plan.width * plan.height * 4;
  return FIXED_BYTES + Math.ceil(width * height * perPixel) + downscaled;
}

/**
 * The frames of an AVIF that are hashed: its image, then, when it has a sequence track whose
 * frames that image does not show (more than one sample, or an item shown instead of the track),
 * an "unsupported" error: the decoder reads one frame, and a sequence judged by one frame is
 * not called clean (frames before the error keep their results; the gate records the rest).
 */
export async function* decodeAvifFrames(
  bytes: Uint8Array,
  limits: Pick<DecodeLimits, "fullResolution">,
): AsyncGenerator<DecodedFrame> {
  const header = readAvifHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  yield { index: 0, image: await decodeAvif(bytes, limits) };
  const track = header.tracks?.color;
  if (track && (track.declaredSamples > 1 || !header.sequence)) {
    throw new ImageDecodeError(
      "unsupported",
      `AVIF sequence of ${track.declaredSamples} frames: only the ${header.sequence ? "first" : "still item"} was decoded`,
    );
  }
}

/** Frees a buffer now (detaching it) rather than at the next collection. */
function free(pixels: Uint8Array): void {
  const buffer = pixels.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  try {
    buffer.transfer?.(0);
  } catch {}
}

/**
 * Decodes an AVIF (its primary item; a sequence's first frame) to RGBA, downscaled to the PDQ
 * size unless `limits.fullResolution`. The caller has reserved avifDecodeBytes already.
 */
export async function decodeAvif(
  bytes: Uint8Array,
  limits: Pick<DecodeLimits, "fullResolution">,
): Promise<DecodedImage> {
  const header = readAvifHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  if (
    Math.max(header.width, header.decodeWidth) * Math.max(header.height, header.decodeHeight) >
    MAX_WASM_PIXELS
  ) {
    throw new ImageDecodeError(
      "too-large",
      `AVIF ${header.width}x${header.height} exceeds the decoder's limit`,
    );
  }
  const { image, failure, messages } = await runCodec("avif", bytes);
  if (!image && isOutOfMemory(failure, messages)) {
    throw new ImageDecodeError("too-large", "AVIF decoder ran out of memory");
  }
  // libavif reports every failure as "no image" (its build prints nothing): a file whose boxes
  // are complete but whose AV1 data or item layout is wrong, or an unsupported feature.
  if (!image) throw new ImageDecodeError("corrupt", `AVIF decode failed: ${messages[0] ?? String(failure)}`);
  const full: DecodedImage = {
    width: image.width,
    height: image.height,
    channels: 4,
    pixels: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length),
  };
  if (image.width !== header.width || image.height !== header.height) {
    free(full.pixels);
    throw new ImageDecodeError("corrupt", "AVIF decoded to other dimensions than its header");
  }
  if (limits.fullResolution) return full;
  const small = downscaleImage(full);
  if (small !== full) free(full.pixels);
  return small;
}
