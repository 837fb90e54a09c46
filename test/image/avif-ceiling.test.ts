/**
 * The allocation ceiling of hashgate's dav1d build (wasm/dav1d/hashgate_av1.c, SECURITY.md known
 * gap 18): while a decoder is open, the instance's allocations may hold at most the bytes the
 * gate reserved for dav1d's work; the allocation past them fails, dav1d reports ENOMEM and the
 * decode is refused as too large, and the instance goes on decoding. Legit files decode within
 * the ceiling their reservation gives. Test images are encoded here from generated patterns.
 */
import { describe, expect, it } from "vitest";
import { av1Codec, dropAv1Codec } from "../../src/image/av1-codec.ts";
import { dav1dWorkBytes } from "../../src/image/avif.ts";
import { readAvifHeader } from "../../src/image/avif-header.ts";
import { readAvifImage } from "../../src/image/avif-items.ts";
import { trackWorkBytes } from "../../src/image/avif-sequence.ts";
import { decodeImage, withDecodedFrames } from "../../src/image/decode.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { buildAvifSequence } from "./avif-boxes.ts";
import { AVIS_FIXTURE_BASE64 } from "./avis-fixture.ts";
import { encodeAvif, testPattern } from "./encoders.ts";

const GATE = { maxPixels: 250_000_000 };

describe("dav1d's allocation ceiling", () => {
  it("refuses a decode whose allocations pass the open decoder's ceiling as too-large, and the instance decodes the next file", async () => {
    const [w, h] = [512, 384];
    const avif = await encodeAvif(testPattern(w, h), w, h, { quality: 60 });
    const tile = readAvifImage(avif).tiles[0]!;
    dropAv1Codec();
    const codec = await av1Codec();
    const before = await decodeImage(avif, GATE);
    expect(await av1Codec()).toBe(codec);

    // dav1d's context (0.36 MiB) fits under 512 KiB, the 512x384 picture's buffers on top do not.
    const decoder = codec.decoder(w * h, 512 * 1024);
    let failure: unknown;
    try {
      decoder.decode(tile.data);
    } catch (err) {
      failure = err;
    } finally {
      decoder.close();
      codec.done(failure);
    }
    expect(failure).toBeInstanceOf(ImageDecodeError);
    expect(failure).toMatchObject({ code: "too-large", message: expect.stringContaining("out of memory") });

    // The same instance decodes the file again, to the same image.
    expect(await av1Codec()).toBe(codec);
    const after = await decodeImage(avif, GATE);
    expect(await av1Codec()).toBe(codec);
    expect(after).toEqual(before);
  });

  it("is what dav1d needs and no less: a decoder opened with the bytes the last decode held decodes, one with less is refused", async () => {
    const [w, h] = [256, 200];
    const avif = await encodeAvif(testPattern(w, h), w, h, { quality: 60 });
    const tile = readAvifImage(avif).tiles[0]!;
    dropAv1Codec();
    const codec = await av1Codec();
    await decodeImage(avif, GATE);
    const needed = codec.lastDecoderPeak();
    expect(needed).toBeGreaterThan(300 * 1024); // dav1d's context and the picture: a real figure
    for (const [limit, decodes] of [
      [needed, true],
      [needed - 1, false],
    ] as const) {
      const decoder = codec.decoder(w * h, limit);
      try {
        if (decodes)
          expect(decoder.decode(tile.data) ?? decoder.drain()).toMatchObject({ width: w, height: h });
        else expect(() => decoder.decode(tile.data) ?? decoder.drain()).toThrowError(/out of memory/);
      } finally {
        decoder.close();
      }
      expect(codec.lastDecoderPeak()).toBeLessThanOrEqual(limit);
    }
    codec.done();
  });

  it("lets legit stills of every depth and layout decode within the ceiling their reservation gives", async () => {
    for (const [w, h, depth, chroma] of [
      [1024, 768, 8, "420"],
      [768, 1024, 10, "444"],
      [1024, 768, 12, "422"],
      [1024, 768, 8, "400"],
    ] as const) {
      const avif = await encodeAvif(testPattern(w, h), w, h, { quality: 60, depth, chroma });
      const header = readAvifHeader(avif);
      if (!header.ok) throw new Error(header.detail);
      const inputBytes = readAvifImage(avif).tiles[0]!.data.length;
      const shape = { width: w, height: h, tileWidth: w, tileHeight: h, depth, chroma: header.chroma };
      const limit = dav1dWorkBytes({ ...shape, inputBytes });
      const codec = await av1Codec();
      const image = await decodeImage(avif, GATE);
      expect(image.width * image.height).toBeGreaterThan(0);
      const peak = codec.lastDecoderPeak();
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(limit);
    }
  });

  it("lets legit sequences decode every frame within the ceiling their track gives (one decoder, all samples)", {
    timeout: 60_000,
  }, async () => {
    const keyFrames = [];
    for (let i = 0; i < 3; i++) {
      const px = testPattern(320, 240);
      for (let p = 0; p < px.length; p += 4) px[p] = (px[p]! + i * 70) & 255;
      keyFrames.push(await encodeAvif(px, 320, 240, { quality: 50 }));
    }
    // avifenc's inter-coded 64x48 sequence, and key frames assembled here.
    const interCoded = Uint8Array.from(atob(AVIS_FIXTURE_BASE64), (c) => c.charCodeAt(0));
    for (const [file, count] of [
      [interCoded, 3],
      [buildAvifSequence(keyFrames), 3],
    ] as const) {
      const header = readAvifHeader(file);
      if (!header.ok) throw new Error(header.detail);
      const codec = await av1Codec();
      const { frames, error } = await withDecodedFrames(file, GATE, (img) => img.width);
      expect(error).toBeUndefined();
      expect(frames).toHaveLength(count);
      const peak = codec.lastDecoderPeak();
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(trackWorkBytes(header.tracks!.color));
    }
  });
});
