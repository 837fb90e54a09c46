/**
 * WebP container header: canvas size, alpha and animation flags from the first chunk
 * (VP8, VP8L or VP8X), read without decoding.
 */

export type WebpHeader =
  | { ok: true; width: number; height: number; alpha: boolean; animated: boolean; lossless: boolean }
  | { ok: false; reason: "truncated" | "corrupt"; detail: string };

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
}

function u24(bytes: Uint8Array, at: number): number {
  return bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
}

/** Reads the RIFF/WEBP header and the first chunk's dimensions. */
export function readWebpHeader(bytes: Uint8Array): WebpHeader {
  if (bytes.length < 12 || fourcc(bytes, 0) !== "RIFF" || fourcc(bytes, 8) !== "WEBP") {
    return { ok: false, reason: "corrupt", detail: "no RIFF/WEBP header" };
  }
  if (bytes.length < 30) return { ok: false, reason: "truncated", detail: "file ends in the first chunk" };
  const chunk = fourcc(bytes, 12);
  const d = 20; // first chunk's payload
  if (chunk === "VP8X") {
    const flags = bytes[d]!;
    return {
      ok: true,
      width: u24(bytes, d + 4) + 1,
      height: u24(bytes, d + 7) + 1,
      alpha: (flags & 0x10) !== 0,
      animated: (flags & 0x02) !== 0,
      lossless: false,
    };
  }
  if (chunk === "VP8L") {
    if (bytes[d] !== 0x2f) return { ok: false, reason: "corrupt", detail: "bad VP8L signature" };
    const bits = (bytes[d + 1]! | (bytes[d + 2]! << 8) | (bytes[d + 3]! << 16) | (bytes[d + 4]! << 24)) >>> 0;
    return {
      ok: true,
      width: (bits & 0x3fff) + 1,
      height: ((bits >>> 14) & 0x3fff) + 1,
      alpha: ((bits >>> 28) & 1) === 1,
      animated: false,
      lossless: true,
    };
  }
  if (chunk === "VP8 ") {
    // Frame tag (3 bytes, bit 0 = 0 for a key frame), start code 9D 01 2A, then 14-bit sizes.
    if ((bytes[d]! & 1) !== 0 || bytes[d + 3] !== 0x9d || bytes[d + 4] !== 0x01 || bytes[d + 5] !== 0x2a) {
      return { ok: false, reason: "corrupt", detail: "bad VP8 key frame header" };
    }
    const width = (bytes[d + 6]! | (bytes[d + 7]! << 8)) & 0x3fff;
    const height = (bytes[d + 8]! | (bytes[d + 9]! << 8)) & 0x3fff;
    return { ok: true, width, height, alpha: false, animated: false, lossless: false };
  }
  return { ok: false, reason: "corrupt", detail: `unknown first WebP chunk ${JSON.stringify(chunk)}` };
}
