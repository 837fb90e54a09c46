import { describe, expect, it } from "vitest";
import { imageDimensions, sniffImage, sniffType } from "../../src/image/sniff.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { fixtureImages } from "./fixture-list.ts";
import { buildGif } from "./gif-builder.ts";

const enc = new TextEncoder();
function bytes(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...(typeof p === "string" ? enc.encode(p) : p));
  return Uint8Array.from(out);
}

describe("sniffing by magic bytes", () => {
  it("reads the format and size of every fixture image from its header", async () => {
    const images = await fixtureImages();
    expect(images.length).toBe(34);
    for (const f of images) {
      const b = await fixtureBytes(f.file);
      const format = f.format === "JPEG" ? "jpeg" : "png";
      expect([f.file, sniffImage(b), sniffType(b)]).toEqual([f.file, format, `image/${format}`]);
      expect(imageDimensions(b)).toEqual({ format, width: f.width, height: f.height });
    }
  });

  it("finds a JPEG's SOF after large APPn segments and fill bytes", () => {
    const app1 = [0xff, 0xe1, 0x40, 0x02, ...new Array(0x4000).fill(0xff)];
    const sof = [
      0xff, 0xff, 0xff, 0xc2, 0, 17, 8, 0x01, 0x2c, 0x02, 0x58, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
    ];
    expect(imageDimensions(bytes([0xff, 0xd8], app1, sof))).toEqual({
      format: "jpeg",
      width: 600,
      height: 300,
    });
  });

  it("reads GIF and WebP (VP8, VP8L, VP8X) headers", () => {
    const gif = buildGif({
      width: 300,
      height: 2,
      globalPalette: [[0, 0, 0]],
      frame: { width: 1, height: 1, indices: new Uint8Array(1) },
    });
    expect(imageDimensions(gif)).toEqual({ format: "gif", width: 300, height: 2 });
    const riff = (chunk: string, payload: number[]) =>
      bytes("RIFF", [100, 0, 0, 0], "WEBP", chunk, [10, 0, 0, 0], payload);
    // VP8: key-frame tag, start code, 14-bit sizes 1000 x 700.
    expect(imageDimensions(riff("VP8 ", [0x10, 0, 0, 0x9d, 1, 0x2a, 0xe8, 0x03, 0xbc, 0x02]))).toEqual({
      format: "webp",
      width: 1000,
      height: 700,
    });
    // VP8L: signature 0x2f, then (width-1) | (height-1) << 14 = 639 | 479 << 14.
    const v = 639 | (479 << 14);
    expect(
      imageDimensions(
        riff("VP8L", [0x2f, v & 255, (v >> 8) & 255, (v >> 16) & 255, v >>> 24, 0, 0, 0, 0, 0]),
      ),
    ).toEqual({
      format: "webp",
      width: 640,
      height: 480,
    });
    // VP8X: 24-bit (width-1), (height-1): 70000 x 3.
    expect(imageDimensions(riff("VP8X", [0x10, 0, 0, 0, 0x6f, 0x11, 0x01, 2, 0, 0]))).toEqual({
      format: "webp",
      width: 70000,
      height: 3,
    });
  });

  it("gives null dimensions for cut or foreign headers, never an exception", () => {
    expect(imageDimensions(bytes([0xff, 0xd8, 0xff, 0xe0, 0, 16]))).toBeNull();
    expect(imageDimensions(bytes("GIF89a", [1]))).toBeNull();
    expect(imageDimensions(bytes("RIFF", [0, 0, 0, 0], "WEBPVP8 "))).toBeNull();
    expect(imageDimensions(bytes([0x89], "PNG\r\n", [0x1a, 0x0a], [0, 0, 0, 13]))).toBeNull();
    for (let n = 0; n < 16; n++) expect(imageDimensions(new Uint8Array(n))).toBeNull();
  });

  it("names common non-image types and falls back to octet-stream", () => {
    const cases: [Uint8Array, string][] = [
      [bytes("%PDF-1.7\n"), "application/pdf"],
      [bytes("PK", [3, 4, 20, 0]), "application/zip"],
      [bytes([0, 0, 0, 0x20], "ftypisom", [0, 0, 2, 0]), "video/mp4"],
      [bytes([0, 0, 0, 0x14], "ftypqt  ", [0, 0, 2, 0]), "video/quicktime"],
      [bytes([0, 0, 0, 0x18], "ftypheic", [0, 0, 0, 0]), "image/heic"],
      [bytes([0, 0, 0, 0x1c], "ftypavif", [0, 0, 0, 0]), "image/avif"],
      [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0x82, 0x84], "webm"), "video/webm"],
      [
        bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81, 1, 0x42, 0x82, 0x88], "matroska"),
        "video/x-matroska",
      ],
      [bytes("RIFF", [0, 0, 0, 0], "WAVEfmt "), "audio/wav"],
      [bytes([0x1f, 0x8b, 8, 0]), "application/gzip"],
      [bytes("GIF87a", [1, 0, 1, 0]), "image/gif"],
      [bytes("hello world"), "application/octet-stream"],
      [new Uint8Array(0), "application/octet-stream"],
      [bytes([0xff, 0xd8]), "application/octet-stream"],
    ];
    for (const [b, type] of cases) expect(sniffType(b)).toBe(type);
  });

  it("trusts bytes, not names: a JPEG signature is a JPEG whatever follows", () => {
    expect(sniffImage(bytes([0xff, 0xd8, 0xff], "%PDF"))).toBe("jpeg");
    expect(sniffImage(bytes("%PDF-1.4 GIF89a"))).toBeNull();
  });
});
