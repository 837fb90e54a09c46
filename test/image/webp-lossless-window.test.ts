/**
 * Lossless WebP larger than libwebp's sliding window (our patch, wasm/libwebp/patches; webp.ts:
 * VP8L_WINDOW_PIXELS) whose only redundancy is a back-reference near the longest distance VP8L
 * can code: noise of 1 040 000 pixels repeated through a 3.4 MP image, so each repeat copies from
 * 1 040 000 pixels back, across the window's moves. The decode must give back every pixel (it is
 * lossless), the scaled decode must not hold the image whole, and a file cut short in the
 * middle must be refused as one. Test data: pseudo-random noise, generated here.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { VP8L_WINDOW_PIXELS } from "../../src/image/webp.ts";
import { dropWebpCodec, webpCodec } from "../../src/image/webp-codec.ts";
import { encodeWebp } from "./encoders.ts";

const WIDTH = 2000;
const HEIGHT = 1700;
/** Near VP8L's longest distance (2^20 − 120 = 1 048 456) and below libwebp's encoder window. */
const PERIOD = 1_040_000;
const LIMITS = { maxPixels: 100_000_000 };

let rgba: Uint8Array;
let webp: Uint8Array;

beforeAll(async () => {
  const tile = new Uint8Array(PERIOD * 4);
  let x = 12345;
  for (let i = 0; i < tile.length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    tile[i] = (i & 3) === 3 ? 255 : x >>> 24;
  }
  rgba = new Uint8Array(WIDTH * HEIGHT * 4);
  for (let at = 0; at < rgba.length; at += tile.length) rgba.set(tile.subarray(0, rgba.length - at), at);
  // Quality above 75: the encoder searches its whole window; method 1 keeps encoding quick.
  webp = await encodeWebp(rgba, WIDTH, HEIGHT, { lossless: true, quality: 100, method: 1 });
}, 300_000);

describe("a lossless WebP past the decoder's window, with back-references from a million pixels back", () => {
  it("is a test of long references: noise compressed only by repeating it", () => {
    expect(WIDTH * HEIGHT).toBeGreaterThan(VP8L_WINDOW_PIXELS * 1.5);
    // Noise costs 3 bytes a pixel; only the first period is stored as such.
    expect(webp.length).toBeLessThan(PERIOD * 3 * 1.2);
  });

  it("decodes to every pixel of the source at full size", { timeout: 120_000 }, async () => {
    const full = await decodeImage(webp, { ...LIMITS, fullResolution: true });
    expect([full.width, full.height, full.channels]).toEqual([WIDTH, HEIGHT, 3]);
    let differing = 0;
    for (let i = 0, o = 0; i < WIDTH * HEIGHT; i++, o += 3) {
      const s = i * 4;
      if (
        full.pixels[o] !== rgba[s] ||
        full.pixels[o + 1] !== rgba[s + 1] ||
        full.pixels[o + 2] !== rgba[s + 2]
      )
        differing++;
    }
    expect(differing).toBe(0);
  });

  it("decodes scaled in the window's memory, not the image's", { timeout: 120_000 }, async () => {
    dropWebpCodec();
    const codec = await webpCodec();
    const before = codec.memoryBytes();
    let reserved = 0;
    const scaled = await decodeImage(webp, { ...LIMITS, reserve: (n) => (reserved += n) });
    const grown = codec.memoryBytes() - before;
    expect(Math.min(scaled.width, scaled.height)).toBeGreaterThanOrEqual(512);
    expect(grown).toBeLessThanOrEqual(reserved);
    // Input, output and the window; the whole image as ARGB would be 13 MiB more than the window.
    expect(grown).toBeLessThan(webp.length + VP8L_WINDOW_PIXELS * 4 + 4 * 2 ** 20);
  });

  it("is refused when cut short after the window has moved", { timeout: 120_000 }, async () => {
    // Cut at 90% of the bitstream (past the first period: decoding fails in the repeats), with
    // the RIFF and VP8L chunk sizes made to agree, so libwebp itself finds the bitstream short.
    const cut = webp.slice(0, Math.floor(webp.length * 0.9));
    const view = new DataView(cut.buffer);
    view.setUint32(4, cut.length - 8, true);
    view.setUint32(16, cut.length - 20, true);
    for (const fullResolution of [false, true]) {
      const err = await decodeImage(cut, { ...LIMITS, fullResolution }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageDecodeError);
    }
  });
});
