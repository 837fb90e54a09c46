/**
 * Fuzz target (b): sniffing + decoding + PDQ, the gate's image path (src/gate/judge.ts), on
 * mutated images of every format. Must hold: a PDQ hash (64 hex digits, quality 0..100) or an
 * ImageDecodeError, nothing else, for every hashed frame; an async property per input with a
 * time limit, so a hang fails. Seeds cover every decoder: JPEG, PNG, APNG, GIF (animated too),
 * WebP, BMP, TIFF and AVIF (8-bit 4:2:0; 12-bit 4:4:4 with alpha; image sequences). Extends test/image/hostile.test.ts (decoder only, JPEG/GIF/WebP) with PNG, the PDQ
 * step, sniffing, and seeds from the corpus (fuzz/corpus/image/*.b64).
 * Test data: two small benign fixture JPEGs and images generated here.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { withDecodedFrames } from "../../src/image/decode.ts";
import { readImageHeader, sniffImage } from "../../src/image/sniff.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { pdqHash } from "../../src/pdq/worker.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { corpus, fuzzRuns, fuzzSeed, logRun } from "../helpers/fuzz-runs.ts";
import { buildApng } from "./apng-builder.ts";
import { buildAvifSequence } from "./avif-boxes.ts";
import { AVIS_FIXTURE_BASE64 } from "./avis-fixture.ts";
import { encodeBmp } from "./bmp-builder.ts";
import { encodeAvif, encodeJpeg, encodeWebp, testPattern } from "./encoders.ts";
import { buildGif } from "./gif-builder.ts";
import { buildFlatJpeg } from "./jpeg-builder.ts";
import { encodeTestJpeg, photoPlane, randomScript, seeded } from "./jpeg-encoder.ts";
import { encodePng } from "./png-encoder.ts";
import { encodeTiff } from "./tiff-builder.ts";

const LIMITS = { maxPixels: 4_000_000 };
/** Per-input limit: the largest seed decodes in a few ms; a minute means a hang. */
const INPUT_TIMEOUT_MS = 60_000;

type Outcome = "hashed" | ImageDecodeError["code"];

/**
 * The gate's image step on `bytes` (every hashed frame, src/gate/judge.ts); anything thrown but
 * an ImageDecodeError escapes. An error after some frames counts as the error.
 */
async function imageOutcome(bytes: Uint8Array): Promise<Outcome> {
  try {
    const { frames, error } = await withDecodedFrames(bytes, LIMITS, pdqHash);
    for (const { value: r } of frames) {
      expect(r.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(r.quality).toBeGreaterThanOrEqual(0);
      expect(r.quality).toBeLessThanOrEqual(100);
    }
    if (error) return error.code;
    expect(frames.length).toBeGreaterThan(0);
    return "hashed";
  } catch (err) {
    if (err instanceof ImageDecodeError) return err.code;
    throw err;
  }
}

let seeds: Record<string, Uint8Array> = {};
beforeAll(async () => {
  const px = testPattern(20, 14, true);
  const samples = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => f(i));
  seeds = {
    fixtureSmall: await fixtureBytes("pdq/images/misc-images/small.jpg"),
    fixtureWee: await fixtureBytes("pdq/images/misc-images/wee.jpg"),
    jpegGrey: await encodeJpeg(px, 20, 14, { grey: true }),
    jpegProgressive: await encodeJpeg(px, 20, 14, { progressive: true, quality: 70 }),
    cmyk: buildFlatJpeg({
      width: 16,
      height: 8,
      components: 4,
      value: (c, bx, by) => (c * 50 + bx * 40 + by * 90) & 255,
      adobeTransform: 0,
    }),
    pngRgba: await encodePng({
      width: 9,
      height: 7,
      colorType: 6,
      depth: 8,
      samples: samples(9 * 7 * 4, (i) => (i * 37) & 255),
    }),
    pngInterlaced16: await encodePng({
      width: 11,
      height: 5,
      colorType: 4,
      depth: 16,
      interlace: true,
      samples: samples(11 * 5 * 2, (i) => (i * 4099) & 0xffff),
    }),
    pngPalette: await encodePng(
      {
        width: 8,
        height: 8,
        colorType: 3,
        depth: 2,
        samples: samples(64, (i) => i & 3),
        palette: [0, 0, 0, 255, 0, 0, 0, 255, 0, 9, 9, 9],
        trns: [0, 128],
      },
      2,
    ),
    gif: buildGif({
      width: 12,
      height: 10,
      globalPalette: [
        [0, 0, 0],
        [255, 255, 255],
        [200, 30, 30],
        [30, 200, 30],
      ],
      frame: {
        width: 12,
        height: 10,
        indices: Uint8Array.from({ length: 120 }, (_, i) => (i * 5) % 4),
        interlaced: true,
      },
    }),
    gifAnimated: buildGif({
      width: 10,
      height: 8,
      globalPalette: [
        [0, 0, 0],
        [250, 250, 250],
        [20, 90, 200],
        [200, 200, 10],
      ],
      frame: { width: 10, height: 8, indices: Uint8Array.from({ length: 80 }, (_, i) => i % 4), disposal: 3 },
      secondFrame: {
        left: 2,
        top: 1,
        width: 5,
        height: 6,
        indices: Uint8Array.from({ length: 30 }, (_, i) => (i * 3) % 4),
        transparentIndex: 0,
        disposal: 2,
        localPalette: [
          [9, 9, 9],
          [90, 0, 0],
          [0, 90, 0],
          [0, 0, 90],
        ],
      },
      moreFrames: [
        { width: 10, height: 8, indices: Uint8Array.from({ length: 80 }, (_, i) => (i >> 3) % 4) },
      ],
    }),
    apng: await buildApng({
      width: 9,
      height: 7,
      colorType: 6,
      depth: 8,
      defaultImage: { width: 9, height: 7, samples: samples(9 * 7 * 4, (i) => (i * 13) & 255) },
      frames: [
        { image: { width: 9, height: 7, samples: samples(9 * 7 * 4, (i) => (i * 29) & 255) }, dispose: 2 },
        {
          image: { width: 4, height: 3, samples: samples(48, (i) => (i * 71) & 255) },
          x: 3,
          y: 2,
          blend: 1,
          dispose: 1,
        },
      ],
    }),
    bmp24: encodeBmp({
      width: 7,
      height: 5,
      rgb: Uint8Array.from({ length: 105 }, (_, i) => (i * 53) & 255),
      bpp: 24,
    }),
    bmpRle8: encodeBmp({
      width: 9,
      height: 4,
      rgb: Uint8Array.from({ length: 108 }, (_, i) => (i >> 4) * 40),
      bpp: 8,
      rle: true,
    }),
    tiffLzw: await encodeTiff({
      width: 9,
      height: 6,
      channels: 3,
      samples: samples(162, (i) => (i * 7) & 255),
      compression: 5,
      predictor: true,
      rowsPerStrip: 2,
    }),
    tiffDeflateTiles: await encodeTiff({
      width: 20,
      height: 17,
      channels: 1,
      bits: 16,
      samples: samples(340, (i) => (i * 977) & 0xffff),
      compression: 8,
      tile: 16,
      bigEndian: true,
    }),
    tiffPackBits: await encodeTiff({
      width: 12,
      height: 3,
      channels: 1,
      samples: samples(36, (i) => (i >> 2) * 20),
      compression: 32773,
    }),
    // The scaled JPEG decoder's paths: successive approximation with restarts, odd sampling.
    jpegProgressiveSa: encodeTestJpeg({
      width: 21,
      height: 13,
      components: [
        { id: 1, h: 2, v: 2, samples: photoPlane(21, 13, 1) },
        { id: 2, h: 1, v: 1, samples: photoPlane(11, 7, 2) },
        { id: 3, h: 1, v: 1, samples: photoPlane(11, 7, 3) },
      ],
      quality: 80,
      restartInterval: 2,
      scans: randomScript(3, seeded(5)),
    }),
    jpegSampling41: encodeTestJpeg({
      width: 19,
      height: 9,
      components: [
        { id: 1, h: 4, v: 1, samples: photoPlane(19, 9, 4) },
        { id: 2, h: 1, v: 1, samples: photoPlane(5, 9, 5) },
        { id: 3, h: 1, v: 1, samples: photoPlane(5, 9, 6) },
      ],
      quality: 75,
    }),
    webpLossy: await encodeWebp(px, 20, 14, { lossless: false }),
    webpLossless: await encodeWebp(px, 20, 14, { lossless: true }),
    avif: await encodeAvif(testPattern(20, 14), 20, 14, { quality: 60 }),
    avifDeepAlpha: await encodeAvif(px, 20, 14, { depth: 12, chroma: "444", quality: 60 }),
    // Image sequences: avifenc's (inter frames, alpha track) and one assembled from two stills.
    avisEncoded: Uint8Array.from(atob(AVIS_FIXTURE_BASE64), (c) => c.charCodeAt(0)),
    avisStills: buildAvifSequence(
      [await encodeAvif(testPattern(20, 14), 20, 14), await encodeAvif(px, 20, 14)],
      { perChunk: 1, sync: [1, 2] },
    ),
  };
  for (const c of corpus("image")) seeds[`corpus:${c.name}`] = c.bytes;
});

const edit = fc.record({
  at: fc.nat(),
  value: fc.nat(255),
  len: fc.integer({ min: 1, max: 64 }),
  kind: fc.constantFrom("set", "flip", "cut", "insert", "delete", "duplicate", "zero-run", "ff-run"),
});

function mutate(
  src: Uint8Array,
  edits: { at: number; value: number; len: number; kind: string }[],
): Uint8Array {
  let b = src.slice();
  for (const e of edits) {
    if (b.length === 0) break;
    const at = e.at % b.length;
    const splice = (ins: ArrayLike<number>, drop = 0) =>
      Uint8Array.from([...b.subarray(0, at), ...Array.from(ins), ...b.subarray(at + drop)]);
    if (e.kind === "set") b[at] = e.value;
    else if (e.kind === "flip") b[at] = b[at]! ^ (1 << (e.value & 7));
    else if (e.kind === "cut") b = b.slice(0, Math.max(1, at));
    else if (e.kind === "insert") b = splice([e.value]);
    else if (e.kind === "delete") b = splice([], e.len);
    else if (e.kind === "duplicate") b = splice(b.slice(at, at + e.len));
    else b.fill(e.kind === "zero-run" ? 0 : 0xff, at, at + e.len);
  }
  return b;
}

describe("fuzz: image sniff, decode and PDQ", () => {
  it("hashes every unmodified seed and replays the corpus", async () => {
    for (const [name, bytes] of Object.entries(seeds)) {
      const got = await imageOutcome(bytes);
      if (!name.startsWith("corpus:")) expect([name, got]).toEqual([name, "hashed"]);
    }
  });

  it("answers a PDQ hash or an ImageDecodeError for mutated images (property)", async () => {
    const names = Object.keys(seeds);
    const runs = fuzzRuns(300);
    const t0 = Date.now();
    const seen = new Map<Outcome, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.array(edit, { minLength: 1, maxLength: 6 }),
        async (name, edits) => {
          const out = await imageOutcome(mutate(seeds[name]!, edits));
          seen.set(out, (seen.get(out) ?? 0) + 1);
        },
      ),
      { numRuns: runs, seed: fuzzSeed(), timeout: INPUT_TIMEOUT_MS },
    );
    logRun(`image/mutated ${JSON.stringify(Object.fromEntries(seen))}`, runs, t0);
    // The mutations reach both sides: some images survive, some are refused.
    expect(seen.get("hashed") ?? 0).toBeGreaterThan(0);
    expect(runs - (seen.get("hashed") ?? 0)).toBeGreaterThan(0);
  });

  it("sniffs and reads headers of arbitrary bytes behind each magic number without throwing", async () => {
    const magic = fc.constantFrom(
      [],
      [0xff, 0xd8, 0xff],
      [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
      [0x47, 0x49, 0x46, 0x38, 0x39, 0x61],
      [0x52, 0x49, 0x46, 0x46, 0, 0, 0, 0, 0x57, 0x45, 0x42, 0x50],
      [0x42, 0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0],
      [0x49, 0x49, 0x2a, 0, 8, 0, 0, 0],
      [0x4d, 0x4d, 0, 0x2a, 0, 0, 0, 8],
      // An AVIF ftyp box (avif, mif1), then random boxes.
      [0, 0, 0, 0x14, 0x66, 0x74, 0x79, 0x70, 0x61, 0x76, 0x69, 0x66, 0, 0, 0, 0, 0x6d, 0x69, 0x66, 0x31],
      // An AVIF sequence's ftyp (avis) and a moov box header, then random bytes.
      [
        0, 0, 0, 0x10, 0x66, 0x74, 0x79, 0x70, 0x61, 0x76, 0x69, 0x73, 0, 0, 0, 0, 0, 0, 0, 0xd0, 0x6d, 0x6f,
        0x6f, 0x76,
      ],
    );
    const runs = fuzzRuns(300);
    const t0 = Date.now();
    await fc.assert(
      fc.asyncProperty(magic, fc.uint8Array({ maxLength: 200 }), async (m, tail) => {
        const b = Uint8Array.from([...m, ...tail]);
        const header = readImageHeader(b);
        if (header.ok) expect(header.format).toBe(sniffImage(b));
        await imageOutcome(b);
      }),
      { numRuns: runs, seed: fuzzSeed(), timeout: INPUT_TIMEOUT_MS },
    );
    logRun("image/magic+random", runs, t0);
  });
});
