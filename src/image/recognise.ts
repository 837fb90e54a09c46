/**
 * What an upload is, from its first bytes (ScannedFile.head): an image the gate hashes
 * perceptually, an image it recognises but cannot hash (and why), a video, an archive, or
 * anything else. The gate records the ones it cannot hash perceptually as unscanned, with this
 * reason, instead of letting them pass as if they had been looked at.
 */
import { sniffImage, sniffType } from "./sniff.ts";

export type FileKind = "image" | "image-unhashable" | "video" | "archive" | "other";

/** Why a recognised file was not hashed perceptually. */
export type UnscannedReason = "avif" | "heic" | "jpeg-xl" | "jpeg-2000" | "psd" | "video" | "archive";

export interface Recognition {
  kind: FileKind;
  /** MIME type from the bytes (sniff.ts, or this module's own list). */
  type: string;
  /** Set for every kind but "image" and "other". */
  reason?: UnscannedReason;
}

/** Bytes of a file's head that recognition reads (tar's magic sits at 257). */
export const RECOGNITION_HEAD_BYTES = 512;

function ascii(b: Uint8Array, at: number, n: number): string {
  return b.length < at + n ? "" : String.fromCharCode(...b.subarray(at, at + n));
}

// ISO base media brands (major or compatible) of still-image formats no decoder here reads.
// AVIF is decoded (sniff.ts); its brands reach this table only beside HEVC brands.
const HEIF_BRANDS: Record<string, "avif" | "heic"> = {
  avif: "avif",
  avis: "avif",
  heic: "heic",
  heix: "heic",
  heim: "heic",
  heis: "heic",
  hevc: "heic",
  mif1: "heic",
  msf1: "heic",
};

/** Brands listed in an ISO-BMFF `ftyp` box at the start of the file, major brand first. */
function ftypBrands(b: Uint8Array): string[] {
  if (ascii(b, 4, 4) !== "ftyp") return [];
  const size = Math.min(((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0, b.length);
  const brands = [ascii(b, 8, 4)];
  for (let at = 16; at + 4 <= size; at += 4) brands.push(ascii(b, at, 4));
  return brands;
}

const VIDEO_TYPES = new Set([
  "video/mp4",
  "video/quicktime",
  "video/3gpp",
  "video/3gpp2",
  "video/webm",
  "video/x-matroska",
  "video/x-msvideo",
]);
const ARCHIVE_TYPES = new Set([
  "application/zip",
  "application/gzip",
  "application/x-7z-compressed",
  "application/vnd.rar",
]);

export function recognise(head: Uint8Array): Recognition {
  const image = sniffImage(head);
  if (image) return { kind: "image", type: sniffType(head) };
  const brands = ftypBrands(head);
  // An AVIF or HEIF image sequence is still a picture format: the major brand decides first.
  const still = brands.map((b) => HEIF_BRANDS[b]).find((r) => r !== undefined);
  if (still && (HEIF_BRANDS[brands[0]!] || !brands.some((b) => b.startsWith("mp4") || b === "isom"))) {
    return { kind: "image-unhashable", type: still === "avif" ? "image/avif" : "image/heic", reason: still };
  }
  const type = sniffType(head);
  if (type === "image/jxl") return { kind: "image-unhashable", type, reason: "jpeg-xl" };
  if (ascii(head, 0, 12) === "\x00\x00\x00\x0cjP  \r\n\x87\n" || ascii(head, 0, 4) === "\xff\x4f\xff\x51") {
    return { kind: "image-unhashable", type: "image/jp2", reason: "jpeg-2000" };
  }
  if (ascii(head, 0, 4) === "8BPS")
    return { kind: "image-unhashable", type: "image/vnd.adobe.photoshop", reason: "psd" };
  if (VIDEO_TYPES.has(type)) return { kind: "video", type, reason: "video" };
  if (ascii(head, 0, 3) === "FLV") return { kind: "video", type: "video/x-flv", reason: "video" };
  if (ascii(head, 0, 4) === "\x30\x26\xb2\x75")
    return { kind: "video", type: "video/x-ms-asf", reason: "video" };
  if (ascii(head, 0, 4) === "\x00\x00\x01\xba" || ascii(head, 0, 4) === "\x00\x00\x01\xb3") {
    return { kind: "video", type: "video/mpeg", reason: "video" };
  }
  if (ARCHIVE_TYPES.has(type)) return { kind: "archive", type, reason: "archive" };
  const archive = archiveType(head);
  if (archive) return { kind: "archive", type: archive, reason: "archive" };
  return { kind: "other", type };
}

function archiveType(head: Uint8Array): string | null {
  if (ascii(head, 0, 3) === "BZh") return "application/x-bzip2";
  if (ascii(head, 0, 6) === "\xfd7zXZ\x00") return "application/x-xz";
  if (ascii(head, 0, 4) === "\x28\xb5\x2f\xfd") return "application/zstd";
  if (ascii(head, 257, 5) === "ustar") return "application/x-tar";
  if (ascii(head, 0, 4) === "Rar!") return "application/vnd.rar";
  if (ascii(head, 0, 2) === "\x1f\x9d") return "application/x-compress";
  return null;
}
