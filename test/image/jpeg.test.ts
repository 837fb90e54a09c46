import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.ts";
import { decodePng } from "../../src/image/png.ts";
import { fixtureBytes, fixtureText } from "../helpers/fixtures.ts";
import { encodeJpeg, testPattern } from "./encoders.ts";
import { fixtureImages, sofOffset } from "./fixture-list.ts";
import { buildFlatJpeg } from "./jpeg-builder.ts";

// Full resolution: these tests hold the libjpeg path `hashgate hash` uses (jpeg-scaled.test.ts: the gate's path).
const LIMITS = { maxPixels: 50_000_000, fullResolution: true };

describe("JPEG decoding", () => {
  it("decodes every fixture JPEG (baseline and progressive) to its size as opaque RGBA, as stored", async () => {
    const jpegs = (await fixtureImages()).filter((f) => f.format === "JPEG");
    expect(jpegs.length).toBe(29);
    for (const f of jpegs) {
      const img = await decodeImage(await fixtureBytes(f.file), LIMITS);
      // exif-rotn-6.jpg carries orientation 6; the reference hashes its stored 4032x3024 pixels.
      expect([f.file, img.width, img.height, img.channels]).toEqual([f.file, f.width, f.height, 4]);
      expect(img.pixels.length).toBe(f.width * f.height * 4);
      for (let i = 3; i < img.pixels.length; i += 4 * 997) expect(img.pixels[i]).toBe(255);
    }
  }, 60_000);

  it("gives the reference decoder's pixels on the 7 pixel fixtures (max abs difference 0)", async () => {
    const [, ...rows] = (await fixtureText("pdq/pixels.tsv")).trim().split("\n");
    expect(rows.length).toBe(7);
    for (const row of rows) {
      const [pixelsFile, fromImage] = row.split("\t");
      const ref = await decodePng(await fixtureBytes(`pdq/${pixelsFile}`), LIMITS);
      const img = await decodeImage(await fixtureBytes(`pdq/${fromImage}`), LIMITS);
      expect([img.width, img.height]).toEqual([ref.width, ref.height]);
      let max = 0;
      let sum = 0;
      const n = ref.width * ref.height;
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < ref.channels; c++) {
          // small.jpg's reference is stored as grey (its R=G=B): compare against our R channel.
          const d = Math.abs(ref.pixels[i * ref.channels + c]! - img.pixels[i * img.channels + c]!);
          max = Math.max(max, d);
          sum += d;
        }
      }
      console.log(`${fromImage}: max abs diff ${max}, mean ${(sum / (n * ref.channels)).toFixed(4)}`);
      expect(max, fromImage).toBe(0);
    }
  });

  it("decodes a greyscale JPEG to one channel", async () => {
    const rgba = testPattern(48, 40);
    for (let i = 0; i < rgba.length; i += 4) rgba[i + 1] = rgba[i + 2] = rgba[i]!;
    for (const progressive of [false, true]) {
      const img = await decodeImage(
        await encodeJpeg(rgba, 48, 40, { grey: true, progressive, quality: 95 }),
        LIMITS,
      );
      expect([img.width, img.height, img.channels]).toEqual([48, 40, 1]);
      let max = 0;
      for (let i = 0; i < 48 * 40; i++) max = Math.max(max, Math.abs(img.pixels[i]! - rgba[i * 4]!));
      expect(max).toBeLessThanOrEqual(8); // lossy, but the grey ramp must survive
    }
  });

  it("decodes encoder-made baseline and progressive colour JPEGs close to their source", async () => {
    const rgba = testPattern(33, 17);
    for (const progressive of [false, true]) {
      const img = await decodeImage(await encodeJpeg(rgba, 33, 17, { progressive, quality: 95 }), LIMITS);
      expect([img.width, img.height, img.channels]).toEqual([33, 17, 4]);
      let sum = 0;
      for (let i = 0; i < 33 * 17; i++) {
        for (let c = 0; c < 3; c++) sum += Math.abs(img.pixels[i * 4 + c]! - rgba[i * 4 + c]!);
      }
      expect(sum / (33 * 17 * 3)).toBeLessThan(4); // lossy, but a decode of the wrong layout is far off
    }
  });

  it("refuses arithmetic-coded and lossless JPEGs (not in this libjpeg build) as unsupported", async () => {
    for (const sofType of [0xc9, 0xc3]) {
      const bytes = (await fixtureBytes("pdq/images/reg-test-input/labelme-subset/q0122.jpg")).slice();
      bytes[sofOffset(bytes) + 1] = sofType; // SOF0 becomes SOF9 (arithmetic) or SOF3 (lossless)
      await expect(decodeImage(bytes, LIMITS)).rejects.toMatchObject({ code: "unsupported" });
    }
  });

  it("refuses JPEGs with 2 or 5 components as unsupported", async () => {
    for (const components of [2, 5]) {
      const bytes = (await fixtureBytes("pdq/images/misc-images/wee.jpg")).slice();
      bytes[sofOffset(bytes) + 9] = components;
      await expect(decodeImage(bytes, LIMITS)).rejects.toMatchObject({ code: "unsupported" });
    }
  });
});

describe("four-component JPEGs", () => {
  // Stored Adobe CMYK is inverted ink: 255 = no ink. Blocks: white, cyan, magenta+yellow (red), 50% black.
  const inks = [
    [0, 0, 0, 0],
    [255, 0, 0, 0],
    [0, 255, 255, 0],
    [0, 0, 0, 128],
  ];
  const stored = (c: number, bx: number, by: number) => 255 - inks[by * 2 + bx]![c]!;

  it("decodes Adobe CMYK to RGB as (255 - ink) * (255 - black) / 255", async () => {
    const bytes = buildFlatJpeg({ width: 16, height: 16, components: 4, value: stored, adobeTransform: 0 });
    const img = await decodeImage(bytes, LIMITS);
    expect([img.width, img.height, img.channels]).toEqual([16, 16, 3]);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const ink = inks[(y >> 3) * 2 + (x >> 3)]!;
        for (let c = 0; c < 3; c++) {
          const want = ((255 - ink[c]!) * (255 - ink[3]!)) / 255;
          expect(Math.abs(img.pixels[(y * 16 + x) * 3 + c]! - want)).toBeLessThanOrEqual(1);
        }
      }
    }
  });

  it("refuses a four-component JPEG without an Adobe marker (its colour model is unknown)", async () => {
    const bytes = buildFlatJpeg({
      width: 16,
      height: 16,
      components: 4,
      value: stored,
      adobeTransform: null,
    });
    await expect(decodeImage(bytes, LIMITS)).rejects.toMatchObject({ code: "unsupported" });
  });

  it("decodes a hand-built three-component JPEG through libjpeg to the exact flat values", async () => {
    // Checks the builder itself against libjpeg: Y=Cb=Cr flat blocks give exact grey levels.
    const levels = [30, 128, 200, 255];
    const bytes = buildFlatJpeg({
      width: 16,
      height: 16,
      components: 3,
      value: (c, bx, by) => (c === 0 ? levels[by * 2 + bx]! : 128),
      adobeTransform: null,
    });
    const img = await decodeImage(bytes, LIMITS);
    for (let i = 0; i < 256; i++) {
      const level = levels[((i >> 4) >> 3) * 2 + ((i & 15) >> 3)]!;
      expect([img.pixels[i * 4], img.pixels[i * 4 + 1], img.pixels[i * 4 + 2]]).toEqual([
        level,
        level,
        level,
      ]);
    }
  });
});
