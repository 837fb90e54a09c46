import { describe, expect, it } from "vitest";
import { RECOGNITION_HEAD_BYTES, recognise } from "../../src/image/recognise.ts";
import { encodeBmp } from "./bmp-builder.ts";
import { encodePng } from "./png-encoder.ts";

const enc = new TextEncoder();
function bytes(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...(typeof p === "string" ? Array.from(p, (c) => c.charCodeAt(0)) : p));
  return Uint8Array.from(out);
}
/** An ISO-BMFF file start: an ftyp box with a major brand and compatible brands. */
function ftyp(major: string, ...compatible: string[]): Uint8Array {
  const size = 16 + 4 * compatible.length;
  return bytes([0, 0, 0, size], "ftyp", major, [0, 0, 0, 0], ...compatible, [0, 0, 0, 8], "mdat");
}
function tar(): Uint8Array {
  const b = new Uint8Array(RECOGNITION_HEAD_BYTES);
  b.set(enc.encode("photo.jpg"), 0);
  b.set(enc.encode("ustar\u000000"), 257);
  return b;
}

describe("recognise", () => {
  it("says which uploads are hashable images", async () => {
    const png = await encodePng({ width: 2, height: 2, colorType: 0, depth: 8, samples: [1, 2, 3, 4] });
    expect(recognise(png)).toEqual({ kind: "image", type: "image/png" });
    expect(recognise(bytes([0xff, 0xd8, 0xff, 0xe0]))).toEqual({ kind: "image", type: "image/jpeg" });
    const bmp = encodeBmp({ width: 1, height: 1, rgb: new Uint8Array(3), bpp: 24 });
    expect(recognise(bmp)).toEqual({ kind: "image", type: "image/bmp" });
    expect(recognise(bytes("II*\u0000", [8, 0, 0, 0]))).toEqual({ kind: "image", type: "image/tiff" });
  });

  it("names image formats it cannot hash, with the reason", () => {
    const animatedWebp = bytes(
      "RIFF",
      [0, 1, 0, 0],
      "WEBPVP8X",
      [10, 0, 0, 0, 0x12, 0, 0, 0, 9, 0, 0, 9, 0, 0],
    );
    // Animated WebP is hashed frame by frame (src/image/webp.ts): an image like any other.
    expect(recognise(animatedWebp)).toEqual({ kind: "image", type: "image/webp" });
    // AVIF is decoded (avif.ts): an image, still or sequence, unless it is also HEVC-branded.
    expect(recognise(ftyp("avif", "mif1", "miaf"))).toEqual({ kind: "image", type: "image/avif" });
    expect(recognise(ftyp("avis", "avif", "msf1"))).toEqual({ kind: "image", type: "image/avif" });
    expect(recognise(ftyp("mif1", "avif", "miaf"))).toMatchObject({ kind: "image" });
    expect(recognise(ftyp("mif1", "heic", "avif"))).toMatchObject({
      kind: "image-unhashable",
      reason: "heic",
    });
    expect(recognise(ftyp("heic", "mif1", "heic"))).toMatchObject({
      kind: "image-unhashable",
      reason: "heic",
    });
    expect(recognise(ftyp("mif1", "heic"))).toMatchObject({ kind: "image-unhashable", reason: "heic" });
    expect(recognise(bytes([0xff, 0x0a, 1, 2]))).toMatchObject({
      kind: "image-unhashable",
      reason: "jpeg-xl",
    });
    expect(recognise(bytes([0, 0, 0, 12], "jP  \r\n", [0x87, 10]))).toMatchObject({ reason: "jpeg-2000" });
    expect(recognise(bytes("8BPS", [0, 1]))).toMatchObject({ reason: "psd" });
  });

  it("recognises video containers", () => {
    const cases: [Uint8Array, string][] = [
      [ftyp("isom", "isom", "iso2", "avc1", "mp41"), "video/mp4"],
      [ftyp("mp42", "mp42", "mif1"), "video/mp4"],
      [ftyp("qt  ", "qt  "), "video/quicktime"],
      [ftyp("3gp4", "3gp4"), "video/3gpp"],
      [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84], "webm"), "video/webm"],
      [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], "matroska"), "video/x-matroska"],
      [bytes("RIFF", [0, 0, 0, 0], "AVI LIST"), "video/x-msvideo"],
      [bytes("FLV", [1, 5]), "video/x-flv"],
      [bytes([0, 0, 1, 0xba, 0x44]), "video/mpeg"],
    ];
    for (const [head, type] of cases)
      expect(recognise(head), type).toEqual({ kind: "video", type, reason: "video" });
  });

  it("recognises archives", () => {
    const cases: [Uint8Array, string][] = [
      [bytes("PK", [3, 4, 20, 0]), "application/zip"],
      [bytes("Rar!", [0x1a, 7, 1, 0]), "application/vnd.rar"],
      [bytes("7z", [0xbc, 0xaf, 0x27, 0x1c]), "application/x-7z-compressed"],
      [bytes([0x1f, 0x8b, 8, 0]), "application/gzip"],
      [bytes("BZh91AY&SY"), "application/x-bzip2"],
      [bytes([0xfd], "7zXZ", [0]), "application/x-xz"],
      [bytes([0x28, 0xb5, 0x2f, 0xfd]), "application/zstd"],
      [tar(), "application/x-tar"],
    ];
    for (const [head, type] of cases)
      expect(recognise(head), type).toEqual({ kind: "archive", type, reason: "archive" });
  });

  it("leaves everything else as other", () => {
    expect(recognise(bytes("%PDF-1.7"))).toEqual({ kind: "other", type: "application/pdf" });
    expect(recognise(bytes("hello, world"))).toEqual({ kind: "other", type: "application/octet-stream" });
    expect(recognise(bytes("BMP is a word"))).toMatchObject({ kind: "other" });
    expect(recognise(new Uint8Array(0))).toMatchObject({ kind: "other" });
  });
});
