import { describe, expect, it } from "vitest";
import { decodeImage, withDecodedFrames } from "../../src/image/decode.ts";
import { planScale } from "../../src/image/downscale.ts";
import { sniffImage } from "../../src/image/sniff.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { rng } from "../helpers/random.ts";
import { encodeBmp } from "./bmp-builder.ts";
import { encodeTiff, type TiffSpec } from "./tiff-builder.ts";

const LIMITS = { maxPixels: 4_000_000 };

function randomRgb(w: number, h: number, seed: number, grey = false): Uint8Array {
  const r = rng(seed);
  const px = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    const v = Math.floor(r() * 256);
    px.set(grey ? [v, v, v] : [v, Math.floor(r() * 256), Math.floor(r() * 256)], i * 3);
  }
  return px;
}

async function code(bytes: Uint8Array): Promise<string> {
  try {
    await decodeImage(bytes, LIMITS);
    return "ok";
  } catch (e) {
    if (e instanceof ImageDecodeError) return e.code;
    throw e;
  }
}

describe("BMP", () => {
  for (const [bpp, rle, topDown] of [
    [24, false, false],
    [32, false, true],
    [8, false, false],
    [8, true, false],
  ] as const) {
    it(`decodes ${bpp}-bit${rle ? " RLE8" : ""}${topDown ? " top-down" : ""} exactly`, async () => {
      for (const [w, h] of [
        [1, 1],
        [7, 5],
        [33, 9],
      ] as const) {
        const rgb = randomRgb(w, h, w * 31 + bpp, bpp === 8);
        const bytes = encodeBmp({ width: w, height: h, rgb, bpp, rle, topDown });
        expect(sniffImage(bytes)).toBe("bmp");
        const img = await decodeImage(bytes, LIMITS);
        expect([img.width, img.height, img.channels]).toEqual([w, h, 3]);
        expect(Array.from(img.pixels)).toEqual(Array.from(rgb));
      }
    });
  }

  it("is downscaled to the PDQ size like every other format", async () => {
    const rgb = randomRgb(1100, 1030, 5);
    const img = await decodeImage(encodeBmp({ width: 1100, height: 1030, rgb, bpp: 24 }), LIMITS);
    expect([img.width, img.height]).toEqual([550, 515]);
    // Top-left cell: the mean of the 2×2 box.
    const box = [0, 1, 1100, 1101].map((i) => rgb[i * 3]!);
    expect(img.pixels[0]).toBe(Math.round(box.reduce((a, b) => a + b) / 4));
  });

  it("reports every truncation and bad header as an ImageDecodeError", async () => {
    const bytes = encodeBmp({ width: 9, height: 4, rgb: randomRgb(9, 4, 6), bpp: 24 });
    // 9 RGB pixels are 27 bytes a row, padded to 28: only the last row's padding may be missing.
    for (let cut = 0; cut < bytes.length - 1; cut++) {
      expect(["truncated", "corrupt", "unsupported"]).toContain(await code(bytes.subarray(0, cut)));
    }
    expect(await code(bytes.subarray(0, bytes.length - 1))).toBe("ok");
    const bad = bytes.slice();
    bad[28] = 7; // 7 bits per pixel
    expect(await code(bad)).toBe("unsupported");
  });
});

const TIFF_CASES: [string, Partial<TiffSpec>][] = [
  ["uncompressed RGB", {}],
  ["PackBits grey", { channels: 1, compression: 32773 }],
  ["LZW RGB with predictor", { compression: 5, predictor: true }],
  ["Deflate RGB, 3-row strips", { compression: 8, rowsPerStrip: 3 }],
  [
    "LZW 16-bit big-endian grey with predictor",
    { channels: 1, bits: 16, compression: 5, predictor: true, bigEndian: true },
  ],
  ["Deflate tiles of 16", { compression: 8, tile: 16 }],
];

describe("TIFF", () => {
  for (const [name, over] of TIFF_CASES) {
    it(`decodes ${name} exactly`, async () => {
      for (const [w, h] of [
        [1, 1],
        [37, 21],
      ] as const) {
        const channels = over.channels ?? 3;
        const bits = over.bits ?? 8;
        const r = rng(w + h + channels + bits);
        // Smooth runs and noise, so the compressors have both to do.
        const samples = Array.from({ length: w * h * channels }, (_, i) =>
          i % 7 < 3 ? (i >> 4) & (bits === 8 ? 0xff : 0xffff) : Math.floor(r() * (bits === 8 ? 256 : 65536)),
        );
        const bytes = await encodeTiff({ width: w, height: h, channels, samples, ...over });
        expect(sniffImage(bytes)).toBe("tiff");
        const img = await decodeImage(bytes, LIMITS);
        expect([img.width, img.height, img.channels]).toEqual([w, h, channels]);
        expect(Array.from(img.pixels)).toEqual(samples.map((v) => (bits === 16 ? v >> 8 : v)));
      }
    });
  }

  it("downscales strips and tiles alike to the PDQ size", async () => {
    const samples = Array.from(randomRgb(1030, 1024, 8));
    const strips = await decodeImage(
      await encodeTiff({ width: 1030, height: 1024, channels: 3, samples, rowsPerStrip: 7 }),
      LIMITS,
    );
    const tiles = await decodeImage(
      await encodeTiff({ width: 1030, height: 1024, channels: 3, samples, tile: 64 }),
      LIMITS,
    );
    const plan = planScale(1030, 1024);
    expect([strips.width, strips.height]).toEqual([plan.width, plan.height]);
    expect(tiles).toEqual(strips);
  });

  it("refuses JPEG-compressed TIFF as unsupported, and every truncation with an ImageDecodeError", async () => {
    const bytes = await encodeTiff({
      width: 9,
      height: 5,
      channels: 3,
      samples: Array.from(randomRgb(9, 5, 9)),
      compression: 5,
    });
    for (let cut = 0; cut < bytes.length; cut += 3) {
      expect(["truncated", "corrupt", "unsupported", "ok"]).toContain(await code(bytes.subarray(0, cut)));
    }
    const jpeg = await encodeTiff({
      width: 9,
      height: 5,
      channels: 3,
      samples: Array.from(randomRgb(9, 5, 9)),
    });
    // Compression tag (259) → 7, JPEG.
    const dv = new DataView(jpeg.buffer);
    const ifd = dv.getUint32(4, true);
    for (let i = 0; i < dv.getUint16(ifd, true); i++) {
      if (dv.getUint16(ifd + 2 + i * 12, true) === 259) dv.setUint16(ifd + 2 + i * 12 + 8, 7, true);
    }
    expect(await code(jpeg)).toBe("unsupported");
  });

  /** The file with its IFD repeated to make `pages` pages (all sharing the first page's strips). */
  function pagesOf(tiff: Uint8Array, pages: number): Uint8Array {
    const dv = new DataView(tiff.buffer, tiff.byteOffset);
    const ifdAt = dv.getUint32(4, true);
    const ifdLen = 2 + dv.getUint16(ifdAt, true) * 12 + 4;
    const out = new Uint8Array(tiff.length + (pages - 1) * ifdLen);
    out.set(tiff);
    const ov = new DataView(out.buffer);
    for (let p = 1; p < pages; p++) {
      const at = tiff.length + (p - 1) * ifdLen;
      out.set(tiff.subarray(ifdAt, ifdAt + ifdLen), at);
      ov.setUint32((p === 1 ? ifdAt : at - ifdLen) + ifdLen - 4, at, true);
    }
    return out;
  }

  it("yields every page as a frame, and reports a file of more than 100 pages after judging 100", async () => {
    const one = await encodeTiff({ width: 4, height: 4, channels: 1, samples: new Array(16).fill(10) });
    const indices = async (b: Uint8Array) =>
      (await withDecodedFrames(b, LIMITS, () => 0)).frames.map((f) => f.index);
    expect(await indices(one)).toEqual([0]);
    expect(await indices(pagesOf(one, 3))).toEqual([0, 1, 2]);
    const many = await withDecodedFrames(pagesOf(one, 101), LIMITS, () => 0);
    expect(many.frames).toHaveLength(100);
    expect(many.error?.code).toBe("too-large");
  });
});
