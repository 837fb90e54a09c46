/**
 * WebP decoding through libwebp (jSquash's build): lossy (VP8), lossless (VP8L) and the
 * extended format (VP8X) with alpha. Animated WebP needs the demuxer, which that build
 * lacks, so it is refused as unsupported rather than hashed from a guess.
 */
import { type DecodedImage, ImageDecodeError } from "./types.ts";
import { isOutOfMemory, MAX_WASM_PIXELS, runCodec } from "./wasm-codec.ts";
import { readWebpHeader } from "./webp-header.ts";

/** Decodes a still WebP to RGBA (4 channels; opaque when the file has no alpha). */
export async function decodeWebp(bytes: Uint8Array): Promise<DecodedImage> {
  const header = readWebpHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  if (header.animated) throw new ImageDecodeError("unsupported", "animated WebP");
  // The RIFF size field says how long the file should be; libwebp reports a short file as a
  // generic failure, so this is where "truncated" is told apart from "corrupt".
  const riffSize = new DataView(bytes.buffer, bytes.byteOffset + 4, 4).getUint32(0, true);
  if (bytes.length < riffSize + 8) throw new ImageDecodeError("truncated", "WebP shorter than its RIFF size");

  if (header.width * header.height > MAX_WASM_PIXELS) {
    throw new ImageDecodeError(
      "too-large",
      `WebP ${header.width}x${header.height} exceeds the decoder's limit`,
    );
  }
  const { image, failure, messages } = await runCodec("webp", bytes);
  if (!image && isOutOfMemory(failure, messages)) {
    throw new ImageDecodeError("too-large", "WebP decoder ran out of memory");
  }
  if (!image) throw new ImageDecodeError("corrupt", `WebP decode failed: ${messages[0] ?? String(failure)}`);
  if (image.width !== header.width || image.height !== header.height) {
    throw new ImageDecodeError("corrupt", "WebP decoded to other dimensions than its header");
  }
  // RGBA as libwebp gives it (alpha 255 where the file has none): no copy, PDQ ignores alpha.
  const rgba = image.data;
  return {
    width: image.width,
    height: image.height,
    channels: 4,
    pixels: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.length),
  };
}
