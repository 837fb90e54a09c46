/**
 * JPEG decoding through libjpeg-turbo (jSquash's MozJPEG build, see decode.ts for why), with
 * the checks libjpeg does not do for us: a file without its end (libjpeg pads it with grey
 * and only warns), and a scan count that would make a small progressive file cost minutes.
 */
import { decodeCmykJpeg } from "./jpeg-cmyk.ts";
import { readJpegHeader } from "./jpeg-header.ts";
import { type DecodedImage, ImageDecodeError } from "./types.ts";
import { isOutOfMemory, MAX_WASM_PIXELS, runCodec } from "./wasm-codec.ts";

// Encoders write ≤ ~20 scans (libjpeg's default progressive script has 10). Each scan costs a
// pass over every block, so thousands of tiny scans are a CPU bomb; TurboJPEG's own guard is 500.
const MAX_SCANS = 200;

/** Counts SOS markers after the headers and says whether EOI is present. */
export function inspectJpegStructure(bytes: Uint8Array): { scans: number; hasEoi: boolean } {
  let scans = 0;
  let i = 2;
  const n = bytes.length;
  while (i + 1 < n) {
    if (bytes[i] !== 0xff) {
      i++; // entropy-coded data
      continue;
    }
    const m = bytes[i + 1]!;
    if (m === 0x00 || m === 0xff || (m >= 0xd0 && m <= 0xd7)) {
      i += m === 0xff ? 1 : 2; // stuffed byte, fill byte, restart marker
      continue;
    }
    if (m === 0xd9) return { scans, hasEoi: true };
    if (i + 3 >= n) break;
    if (m === 0xda) scans++;
    // Skip the marker segment itself (its payload may hold any byte, including 0xFF).
    i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  return { scans, hasEoi: false };
}

function failureCode(messages: string[]): ImageDecodeError["code"] {
  const text = messages.join("\n");
  if (/Premature end|contains no image/.test(text)) return "truncated";
  if (/Unsupported|not supported|not implemented|Requested features are incompatible/i.test(text))
    return "unsupported";
  return "corrupt";
}

/**
 * Decodes a baseline or progressive JPEG as stored (no EXIF rotation): grey → 1 channel,
 * colour → RGBA (4, opaque), CMYK/YCCK → RGB (3).
 */
export async function decodeJpeg(bytes: Uint8Array): Promise<DecodedImage> {
  const header = readJpegHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  if (header.components !== 1 && header.components !== 3 && header.components !== 4) {
    throw new ImageDecodeError("unsupported", `JPEG with ${header.components} components`);
  }
  if (header.width * header.height > MAX_WASM_PIXELS) {
    throw new ImageDecodeError(
      "too-large",
      `JPEG ${header.width}x${header.height} exceeds the decoder's limit`,
    );
  }
  const structure = inspectJpegStructure(bytes);
  if (!structure.hasEoi) throw new ImageDecodeError("truncated", "JPEG has no end-of-image marker");
  if (structure.scans === 0) throw new ImageDecodeError("corrupt", "JPEG has no scan");
  if (structure.scans > MAX_SCANS) throw new ImageDecodeError("corrupt", `JPEG has ${structure.scans} scans`);

  if (header.components === 4) {
    const cmyk = decodeCmykJpeg(bytes);
    if (cmyk.width !== header.width || cmyk.height !== header.height) {
      throw new ImageDecodeError("corrupt", "CMYK JPEG decoded to other dimensions than its header");
    }
    return cmyk;
  }

  const { image, failure, messages } = await runCodec("jpeg", bytes);
  if (!image) {
    if (isOutOfMemory(failure, messages))
      throw new ImageDecodeError("too-large", "JPEG decoder ran out of memory");
    throw new ImageDecodeError(
      failureCode(messages),
      `JPEG decode failed: ${messages.join("; ") || String(failure)}`,
    );
  }
  if (messages.some((m) => m.includes("Premature end"))) {
    throw new ImageDecodeError("truncated", `JPEG data ends early: ${messages.join("; ")}`);
  }
  if (image.width !== header.width || image.height !== header.height) {
    throw new ImageDecodeError("corrupt", "JPEG decoded to other dimensions than its header");
  }
  return fromRgba(image.data, image.width, image.height, header.components === 1);
}

/**
 * Colour comes back as libjpeg's RGBA (alpha 255), handed on as is: PDQ ignores alpha, and
 * dropping it would cost a copy (~8 ms and 3 bytes/pixel more peak memory at 1600x1004).
 * Greyscale files keep one channel, so that PDQ's luma is the stored grey value itself.
 */
function fromRgba(rgba: Uint8ClampedArray, width: number, height: number, grey: boolean): DecodedImage {
  if (!grey) {
    return { width, height, channels: 4, pixels: new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.length) };
  }
  const count = width * height;
  const pixels = new Uint8Array(count);
  for (let i = 0; i < count; i++) pixels[i] = rgba[i * 4]!;
  return { width, height, channels: 1, pixels };
}
