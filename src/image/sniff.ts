/**
 * Content sniffing by magic bytes. The declared Content-Type of an upload is the sender's
 * claim; what the gate hashes and records is decided from the bytes themselves.
 */

import { isAvif, readAvifHeader } from "./avif-header.ts";
import { readBmpHeader } from "./bmp.ts";
import { readGifHeader } from "./gif.ts";
import { readJpegHeader } from "./jpeg-header.ts";
import { readTiffHeader } from "./tiff.ts";
import { ImageDecodeError, type ImageFormat } from "./types.ts";
import { readWebpHeader } from "./webp-header.ts";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, prefix: readonly number[], at = 0): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

function ascii(bytes: Uint8Array, at: number, length: number): string {
  if (bytes.length < at + length) return "";
  return String.fromCharCode(...bytes.subarray(at, at + length));
}

/** The image format the bytes are, by magic bytes alone; null for anything else. */
export function sniffImage(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, PNG_SIGNATURE)) return "png";
  const six = ascii(bytes, 0, 6);
  if (six === "GIF87a" || six === "GIF89a") return "gif";
  if (ascii(bytes, 0, 4) === "RIFF" && ascii(bytes, 8, 4) === "WEBP") return "webp";
  if (isBmp(bytes)) return "bmp";
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a]))
    return "tiff";
  if (isAvif(bytes)) return "avif";
  return null;
}

/** "BM" alone is two letters of text: the DIB header's size must be one Windows or OS/2 writes too. */
function isBmp(bytes: Uint8Array): boolean {
  if (ascii(bytes, 0, 2) !== "BM" || bytes.length < 18) return false;
  const dib = bytes[14]! | (bytes[15]! << 8) | (bytes[16]! << 16) | (bytes[17]! << 24);
  return [12, 40, 52, 56, 64, 108, 124].includes(dib);
}

// ISO base media (`ftyp` box) major brands worth naming; anything else with `ftyp` is MP4.
const FTYP_BRANDS: Record<string, string> = {
  "qt  ": "video/quicktime",
  avif: "image/avif",
  avis: "image/avif",
  heic: "image/heic",
  heix: "image/heic",
  mif1: "image/heif",
  msf1: "image/heif",
  "3gp4": "video/3gpp",
  "3gp5": "video/3gpp",
  "3g2a": "video/3gpp2",
  "M4A ": "audio/mp4",
};

const IMAGE_MIME: Record<ImageFormat, string> = {
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  bmp: "image/bmp",
  tiff: "image/tiff",
  avif: "image/avif",
};

/** A MIME type for the gate's records, from magic bytes; `application/octet-stream` if unknown. */
export function sniffType(bytes: Uint8Array): string {
  const image = sniffImage(bytes);
  if (image) return IMAGE_MIME[image];
  if (ascii(bytes, 0, 5) === "%PDF-") return "application/pdf";
  if (startsWith(bytes, [0x50, 0x4b]) && [0x0304, 0x0506, 0x0708].includes((bytes[2]! << 8) | bytes[3]!)) {
    return "application/zip";
  }
  if (ascii(bytes, 4, 4) === "ftyp") return FTYP_BRANDS[ascii(bytes, 8, 4)] ?? "video/mp4";
  if (startsWith(bytes, [0x1a, 0x45, 0xdf, 0xa3])) {
    // EBML: the DocType element says WebM or Matroska; it sits in the first few dozen bytes.
    const head = ascii(bytes, 0, Math.min(bytes.length, 64));
    return head.includes("webm") ? "video/webm" : "video/x-matroska";
  }
  if (ascii(bytes, 0, 4) === "RIFF") {
    const kind = ascii(bytes, 8, 4);
    if (kind === "WAVE") return "audio/wav";
    if (kind === "AVI ") return "video/x-msvideo";
  }
  if (startsWith(bytes, [0x1f, 0x8b])) return "application/gzip";
  if (ascii(bytes, 0, 6) === "7z\xbc\xaf\x27\x1c") return "application/x-7z-compressed";
  if (ascii(bytes, 0, 6) === "Rar!\x1a\x07") return "application/vnd.rar";
  if (ascii(bytes, 0, 4) === "OggS") return "application/ogg";
  if (ascii(bytes, 0, 3) === "ID3") return "audio/mpeg";
  if (startsWith(bytes, [0xff, 0x0a]) || startsWith(bytes, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) {
    return "image/jxl";
  }
  return "application/octet-stream";
}

/** Header facts of an image, or why they could not be read. */
export type ImageHeader =
  | { ok: true; format: ImageFormat; width: number; height: number }
  | {
      ok: false;
      format: ImageFormat | null;
      reason: "truncated" | "corrupt" | "unsupported";
      detail: string;
    };

function readPngHeader(bytes: Uint8Array): ImageHeader {
  if (bytes.length < 24)
    return { ok: false, format: "png", reason: "truncated", detail: "file ends before IHDR" };
  if (ascii(bytes, 12, 4) !== "IHDR")
    return { ok: false, format: "png", reason: "corrupt", detail: "no IHDR" };
  const view = new DataView(bytes.buffer, bytes.byteOffset + 16, 8);
  return { ok: true, format: "png", width: view.getUint32(0), height: view.getUint32(4) };
}

/** Reads format and dimensions from the header only (nothing is decoded). */
export function readImageHeader(bytes: Uint8Array): ImageHeader {
  const format = sniffImage(bytes);
  if (!format) return { ok: false, format, reason: "unsupported", detail: "not a recognised image format" };
  if (format === "png") return readPngHeader(bytes);
  if (format === "avif") {
    const h = readAvifHeader(bytes);
    return h.ok
      ? { ok: true, format, width: h.width, height: h.height }
      : { ok: false, format, reason: h.reason, detail: h.detail };
  }
  if (format === "bmp" || format === "tiff") {
    try {
      const { width, height } = format === "bmp" ? readBmpHeader(bytes) : readTiffHeader(bytes);
      return { ok: true, format, width, height };
    } catch (e) {
      if (!(e instanceof ImageDecodeError) || e.code === "too-large") throw e;
      return { ok: false, format, reason: e.code, detail: e.message };
    }
  }
  const header =
    format === "jpeg"
      ? readJpegHeader(bytes)
      : format === "gif"
        ? readGifHeader(bytes)
        : readWebpHeader(bytes);
  if (!header.ok) return { ok: false, format, reason: header.reason, detail: header.detail };
  return { ok: true, format, width: header.width, height: header.height };
}

/** Format and dimensions from the header, or null when the bytes are no readable image header. */
export function imageDimensions(
  bytes: Uint8Array,
): { format: ImageFormat; width: number; height: number } | null {
  const h = readImageHeader(bytes);
  return h.ok ? { format: h.format, width: h.width, height: h.height } : null;
}
