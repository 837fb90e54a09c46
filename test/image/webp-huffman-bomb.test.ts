/**
 * A hostile lossless WebP (webp-huffman-bomb.ts): 295 KB whose meta-Huffman image names 65 536
 * Huffman groups. libwebp allocates every group's tables before it reads a pixel: without the
 * module's ceiling (wasm/libwebp/hashgate_webp.c) the decode grew the instance's memory by
 * 777.5 MiB (1290 MiB with a colour cache) and succeeded. With it, the allocation past what
 * the gate reserved for libwebp's work fails: too-large, and the instance stays small and usable.
 */
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.ts";
import { webpWorkBytes } from "../../src/image/webp.ts";
import { dropWebpCodec, webpCodec } from "../../src/image/webp-codec.ts";
import { encodeWebp, testPattern } from "./encoders.ts";
import { huffmanBombWebp } from "./webp-huffman-bomb.ts";

const LIMITS = { maxPixels: 50_000_000 };
const MiB = 2 ** 20;

describe("a lossless WebP whose entropy image names 65 536 Huffman groups", () => {
  it("is refused as too-large, with libwebp held under the reserved ceiling, and the instance decodes the next file", async () => {
    const bomb = huffmanBombWebp(1024, 1024, 65536);
    expect(bomb.length).toBeLessThan(300_000);
    dropWebpCodec();
    const codec = await webpCodec();
    const before = codec.memoryBytes();
    let reserved = 0;
    const decoding = decodeImage(bomb, { ...LIMITS, reserve: (n) => (reserved += n) });
    await expect(decoding).rejects.toMatchObject({ code: "too-large" });

    const ceiling = webpWorkBytes(1024, 1024, true, false);
    expect(codec.lastDecodeBytes()).toBeLessThanOrEqual(ceiling);
    // The instance grew by less than the gate reserved (input, output, libwebp's ceiling).
    expect(reserved).toBeLessThan(16 * MiB);
    expect(codec.memoryBytes() - before).toBeLessThanOrEqual(reserved);

    // The same instance decodes a legitimate lossless file exactly afterwards.
    expect(await webpCodec()).toBe(codec);
    const rgba = testPattern(300, 200);
    const legit = await decodeImage(await encodeWebp(rgba, 300, 200, { lossless: true }), LIMITS);
    expect(await webpCodec()).toBe(codec);
    expect(legit.channels).toBe(3);
    for (let i = 0; i < 300 * 200; i++) {
      expect(legit.pixels.subarray(i * 3, i * 3 + 3)).toEqual(rgba.subarray(i * 4, i * 4 + 3));
    }
  });

  it("with the largest colour cache (1.3 GB of tables unbounded), and with only a few groups: decoded", async () => {
    dropWebpCodec();
    const codec = await webpCodec();
    const before = codec.memoryBytes();
    await expect(decodeImage(huffmanBombWebp(1024, 1024, 65536, 11), LIMITS)).rejects.toMatchObject({
      code: "too-large",
    });
    expect(codec.memoryBytes() - before).toBeLessThan(16 * MiB);
    // The same construction with 64 groups is a valid image within the ceiling (all black).
    const few = await decodeImage(huffmanBombWebp(1024, 1024, 64), LIMITS);
    expect(few.width).toBe(512);
    expect(few.pixels.every((v) => v === 0)).toBe(true);
    expect(codec.lastDecodeBytes()).toBeGreaterThan(4 * MiB);
  });
});
