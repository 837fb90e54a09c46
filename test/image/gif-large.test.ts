/**
 * Still GIFs larger than the animation canvas (2048×2048) are decoded by streaming LZW rows
 * into the downscaler (gif.ts, gif-lzw.ts). Each one is checked against a one-shot full decode
 * written here from the GIF's own indices and palettes (`expectedRgba` of the builder, not the
 * decoder): the gate's pixels against an area average of that reference, and the PDQ hash
 * against the reference's full-resolution hash. Interlaced and not, global and local palettes,
 * a transparent index, a frame smaller than the screen, data sub-blocks of random sizes.
 * Test data: a benign fixture photo of a bridge, enlarged and quantised to a palette.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { decodeImage, withDecodedFrames } from "../../src/image/decode.ts";
import { CANVAS_MAX_PIXELS } from "../../src/image/frames.ts";
import type { DecodedImage } from "../../src/image/types.ts";
import { pdqHasher } from "../../src/pdq/worker.ts";
import { buildGif, expectedRgba, type GifFrameSpec, type GifSpec } from "./gif-builder.ts";
import {
  boxLuma,
  CUBE,
  GREYS,
  hamming,
  loadBridge,
  maxDifference,
  pictureIndices,
  randomSubBlocks,
} from "./large-gif-data.ts";

const LIMITS = { maxPixels: 250_000_000 };
let bridge: DecodedImage;

beforeAll(async () => {
  bridge = await loadBridge();
}, 60_000);

const bridgeIndices = (w: number, h: number, grey: boolean) => pictureIndices(bridge, w, h, grey);

interface Case {
  name: string;
  width: number;
  height: number;
  frame: { left: number; top: number; width: number; height: number };
  interlaced: boolean;
  local: boolean;
  transparent?: number;
}

const CASES: Case[] = [
  {
    name: "3000x2000, global palette",
    width: 3000,
    height: 2000,
    frame: { left: 0, top: 0, width: 3000, height: 2000 },
    interlaced: false,
    local: false,
  },
  {
    name: "3000x2000 interlaced",
    width: 3000,
    height: 2000,
    frame: { left: 0, top: 0, width: 3000, height: 2000 },
    interlaced: true,
    local: false,
  },
  {
    name: "2600x2100 interlaced, local palette, transparent index",
    width: 2600,
    height: 2100,
    frame: { left: 0, top: 0, width: 2600, height: 2100 },
    interlaced: true,
    local: true,
    transparent: 40,
  },
  {
    name: "2500x2200, smaller frame overhanging the screen",
    width: 2500,
    height: 2200,
    frame: { left: 130, top: 77, width: 2450, height: 2000 },
    interlaced: false,
    local: false,
    transparent: 0,
  },
];

function specOf(c: Case, seed: number): GifSpec {
  const frame: GifFrameSpec = {
    ...c.frame,
    indices: bridgeIndices(c.frame.width, c.frame.height, c.local),
    interlaced: c.interlaced,
    subBlockSize: randomSubBlocks(seed),
    ...(c.local ? { localPalette: GREYS } : {}),
    ...(c.transparent !== undefined ? { transparentIndex: c.transparent } : {}),
  };
  return { width: c.width, height: c.height, globalPalette: CUBE, frame };
}

describe("still GIFs larger than the animation canvas", () => {
  it("decode at the PDQ size, equal to the reduced full decode and within 8 bits of its hash", {
    timeout: 240_000,
  }, async () => {
    const report: string[] = [];
    for (const [i, c] of CASES.entries()) {
      expect(c.width * c.height).toBeGreaterThan(CANVAS_MAX_PIXELS);
      const spec = specOf(c, 100 + i);
      const reference = expectedRgba(spec);
      const got = await decodeImage(buildGif(spec), LIMITS);
      const reduced = boxLuma(reference, c.width, c.height);
      expect([got.width, got.height, got.channels], c.name).toEqual([reduced.width, reduced.height, 1]);
      expect(maxDifference(got.pixels, reduced.pixels), c.name).toBeLessThanOrEqual(1);
      const full = { width: c.width, height: c.height, channels: 4 as const, pixels: reference };
      const d = hamming(pdqHasher().hash(got).hash, pdqHasher().hash(full).hash);
      report.push(`${c.name} -> ${got.width}x${got.height}: ${d} bits`);
      expect.soft(d, c.name).toBeLessThanOrEqual(8);
    }
    console.log(`GIF, gate decode vs full decode:\n  ${report.join("\n  ")}`);
  });

  it("gives the same pixels however the LZW data is cut into sub-blocks", { timeout: 120_000 }, async () => {
    const c: Case = {
      ...CASES[2]!,
      width: 1300,
      height: 1100,
      frame: { left: 3, top: 5, width: 1290, height: 1090 },
    };
    const base = await decodeImage(
      buildGif({ ...specOf(c, 1), frame: { ...specOf(c, 1).frame, subBlockSize: () => 255 } }),
      LIMITS,
    );
    expect(base.channels).toBe(1); // reduced (k = 2): the streamed, downscaled path
    for (const seed of [2, 3, 4, 5]) {
      const spec = specOf(c, seed);
      // Sub-blocks of a single byte too: codes split across every boundary.
      if (seed === 5) spec.frame.subBlockSize = () => 1;
      expect((await decodeImage(buildGif(spec), LIMITS)).pixels, `seed ${seed}`).toEqual(base.pixels);
    }
  });

  it("at full resolution, judges the first frame of an animation on a larger screen, then refuses it as too large", {
    timeout: 120_000,
  }, async () => {
    const c = CASES[0]!;
    const spec = specOf(c, 7);
    spec.moreFrames = [{ width: 16, height: 16, indices: new Uint8Array(256) }];
    const full = { ...LIMITS, fullResolution: true };
    const { frames, error } = await withDecodedFrames(buildGif(spec), full, (image) => image.pixels.slice());
    expect(frames.map((f) => f.index)).toEqual([0]);
    expect(frames[0]!.value).toEqual(expectedRgba(spec));
    expect(error?.code).toBe("too-large");
    expect(error?.message).toMatch(/only its first frame/);
  });

  it("reserves the memory of the reduced image, not of the screen", async () => {
    const c = CASES[0]!;
    const reserved: number[] = [];
    const reserve = (n: number) => void reserved.push(n);
    await decodeImage(buildGif(specOf(c, 9)), { ...LIMITS, reserve });
    const total = reserved.reduce((a, b) => a + b, 0);
    // 1000×667 luma and its sums (5 bytes each), a screen row and the LZW work: under 4 MiB for 6 MP.
    expect(total).toBeGreaterThan(1000 * 667 * 5);
    expect(total).toBeLessThan(4 * 2 ** 20);
  });
});
