import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.ts";
import { imageDimensions } from "../../src/image/sniff.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { encodeWebp, testPattern } from "./encoders.ts";

const LIMITS = { maxPixels: 50_000_000 };

function chunkOf(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes.subarray(12, 16));
}

/** The RGB of RGBA pixels (the gate decodes WebP stills as RGB: PDQ ignores alpha). */
function rgbOf(rgba: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0; i < rgba.length / 4; i++) rgb.set(rgba.subarray(i * 4, i * 4 + 3), i * 3);
  return rgb;
}

function meanAbsDiff(a: Uint8Array, aChannels: number, rgba: Uint8Array, channels: number): number {
  let sum = 0;
  const n = rgba.length / 4;
  for (let i = 0; i < n; i++)
    for (let c = 0; c < channels; c++) sum += Math.abs(a[i * aChannels + c]! - rgba[i * 4 + c]!);
  return sum / (n * channels);
}

describe("WebP decoding", () => {
  it("round-trips lossless (VP8L) opaque RGB exactly", async () => {
    const rgba = testPattern(57, 31);
    const webp = await encodeWebp(rgba, 57, 31, { lossless: true });
    expect(chunkOf(webp)).toBe("VP8L");
    expect(imageDimensions(webp)).toEqual({ format: "webp", width: 57, height: 31 });
    const img = await decodeImage(webp, LIMITS);
    expect([img.width, img.height, img.channels]).toEqual([57, 31, 3]);
    expect(img.pixels).toEqual(rgbOf(rgba));
  });

  it("round-trips the colour of lossless RGBA with varying alpha exactly where it is not transparent", async () => {
    const rgba = testPattern(40, 22, true);
    const img = await decodeImage(await encodeWebp(rgba, 40, 22, { lossless: true }), LIMITS);
    expect(img.channels).toBe(3);
    // The encoder may rewrite the colour under alpha 0 (it is invisible); elsewhere it is exact.
    for (let i = 0; i < 40 * 22; i++)
      if (rgba[i * 4 + 3]! > 0)
        expect(img.pixels.subarray(i * 3, i * 3 + 3)).toEqual(rgba.subarray(i * 4, i * 4 + 3));
  });

  it("decodes lossy (VP8) close to the source, and the colour of lossy with alpha (VP8X + ALPH)", async () => {
    const opaque = testPattern(64, 48);
    const lossy = await encodeWebp(opaque, 64, 48, { lossless: false, quality: 95 });
    expect(chunkOf(lossy)).toBe("VP8 ");
    expect(imageDimensions(lossy)).toEqual({ format: "webp", width: 64, height: 48 });
    const a = await decodeImage(lossy, LIMITS);
    expect([a.width, a.height, a.channels]).toEqual([64, 48, 3]);
    expect(meanAbsDiff(a.pixels, 3, opaque, 3)).toBeLessThan(4);

    const withAlpha = testPattern(64, 48, true);
    const vp8x = await encodeWebp(withAlpha, 64, 48, { lossless: false, quality: 95 });
    expect(chunkOf(vp8x)).toBe("VP8X");
    expect(imageDimensions(vp8x)).toEqual({ format: "webp", width: 64, height: 48 });
    const b = await decodeImage(vp8x, LIMITS);
    expect(b.channels).toBe(3);
    // Only the VP8 chunk is decoded (ALPH is skipped): its colour is the opaque source's, lossy.
    const opaqueOf = withAlpha.slice();
    for (let i = 3; i < opaqueOf.length; i += 4) opaqueOf[i] = 255;
    expect(meanAbsDiff(b.pixels, 3, opaqueOf, 3)).toBeLessThan(8);
  });

  it("refuses a still flagged animated (no frames: corrupt) and a cut file as truncated", async () => {
    const webp = await encodeWebp(testPattern(20, 20, true), 20, 20, { lossless: false });
    const animated = webp.slice();
    animated[20] = animated[20]! | 0x02; // VP8X animation flag
    await expect(decodeImage(animated, LIMITS)).rejects.toMatchObject({ code: "corrupt" });
    for (let cut = 12; cut < webp.length; cut += 5) {
      const err = await decodeImage(webp.subarray(0, cut), LIMITS).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageDecodeError);
      expect((err as ImageDecodeError).code).toBe("truncated");
    }
  });

  it("refuses a canvas over the pixel limit from the header", async () => {
    const webp = await encodeWebp(testPattern(20, 20, true), 20, 20, { lossless: false });
    const huge = webp.slice();
    huge.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 24); // VP8X canvas 16777216 x 16777216
    await expect(decodeImage(huge, LIMITS)).rejects.toMatchObject({ code: "too-large" });
    await expect(decodeImage(webp, { maxPixels: 399 })).rejects.toMatchObject({ code: "too-large" });
  });
});
