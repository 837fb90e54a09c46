/**
 * Four-component (CMYK/YCCK) JPEGs, which libjpeg cannot turn into RGB: decoded with the
 * pure-JS jpeg-js (rare in uploads, so its speed does not matter) and converted the way
 * browsers and Pillow do: Adobe files store inverted ink (255 - ink), and
 * RGB = (255 - ink) * (255 - K ink) / 255 per channel. No fixture pins this down.
 */
import jpegJs from "jpeg-js";
import { type DecodedImage, ImageDecodeError } from "./types.ts";

// jpeg-js's own guards, set above what decode.ts lets through so that they never decide.
const MAX_MEGAPIXELS = 300;
const MAX_MEMORY_MB = 2048;

/** Decodes a CMYK or YCCK JPEG (with its Adobe APP14 marker) to RGB. */
export function decodeCmykJpeg(bytes: Uint8Array): DecodedImage {
  let out: { width: number; height: number; data: Uint8Array };
  try {
    out = jpegJs.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: MAX_MEGAPIXELS,
      maxMemoryUsageInMB: MAX_MEMORY_MB,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = /Unsupported|not supported/i.test(message) ? "unsupported" : "corrupt";
    throw new ImageDecodeError(code, `CMYK JPEG: ${message}`);
  }
  if (out.data.length !== out.width * out.height * 3) {
    throw new ImageDecodeError("corrupt", "CMYK JPEG decoded to a short pixel buffer");
  }
  return { width: out.width, height: out.height, channels: 3, pixels: out.data };
}
