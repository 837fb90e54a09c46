import { describe, expect, it } from "vitest";
import { PDQ_MAX_SIDE, planScale } from "../../src/image/downscale.ts";
import { decodePng, pngDimensions } from "../../src/image/png.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { rng } from "../helpers/random.ts";
import { deflate, encodePng, type PngSpec, SAMPLES_PER_PIXEL } from "./png-encoder.ts";

const LIMITS = { maxPixels: 1_000_000 };

function randomSpec(
  colorType: PngSpec["colorType"],
  depth: PngSpec["depth"],
  width: number,
  height: number,
  seed: number,
): PngSpec {
  const r = rng(seed);
  const spp = SAMPLES_PER_PIXEL[colorType];
  const paletteSize = colorType === 3 ? Math.min(1 << depth, 200) : 0;
  const max = colorType === 3 ? paletteSize : 1 << depth;
  const samples = Array.from({ length: width * height * spp }, () => Math.floor(r() * max));
  const spec: PngSpec = { width, height, colorType, depth, samples };
  if (colorType === 3) spec.palette = Array.from({ length: paletteSize * 3 }, () => Math.floor(r() * 256));
  return spec;
}

/** The 8-bit pixels the decoder must produce, computed from the samples independently. */
function expectedPixels(spec: PngSpec): { channels: number; pixels: number[] } {
  const { colorType, depth, samples } = spec;
  const spp = SAMPLES_PER_PIXEL[colorType];
  const to8 = (s: number) =>
    depth === 16 ? s >> 8 : depth === 8 ? s : Math.round((s * 255) / ((1 << depth) - 1));
  const out: number[] = [];
  const n = spec.width * spec.height;
  if (colorType === 3) {
    const alpha = spec.trns !== undefined;
    for (let i = 0; i < n; i++) {
      const idx = samples[i]!;
      out.push(...spec.palette!.slice(idx * 3, idx * 3 + 3));
      if (alpha) out.push(idx < spec.trns!.length ? spec.trns![idx]! : 255);
    }
    return { channels: alpha ? 4 : 3, pixels: out };
  }
  const keep = colorType === 4 ? 1 : spp; // grey+alpha: alpha dropped
  for (let i = 0; i < n; i++) for (let c = 0; c < keep; c++) out.push(to8(samples[i * spp + c]!));
  return { channels: keep, pixels: out };
}

const COMBOS: [PngSpec["colorType"], PngSpec["depth"]][] = [
  [0, 1],
  [0, 2],
  [0, 4],
  [0, 8],
  [0, 16],
  [2, 8],
  [2, 16],
  [3, 1],
  [3, 2],
  [3, 4],
  [3, 8],
  [4, 8],
  [4, 16],
  [6, 8],
  [6, 16],
];

async function decodeError(bytes: Uint8Array, limits = LIMITS): Promise<ImageDecodeError> {
  try {
    await decodePng(bytes, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageDecodeError);
    return e as ImageDecodeError;
  }
  throw new Error("decoded without error");
}

describe("decodePng", () => {
  for (const [colorType, depth] of COMBOS) {
    for (const interlace of [false, true]) {
      it(`decodes colour type ${colorType}, ${depth}-bit${interlace ? ", Adam7" : ""}`, async () => {
        // Odd sizes exercise partial bytes, empty Adam7 passes and every row filter.
        for (const [w, h, seed] of [
          [1, 1, 1],
          [13, 7, 2],
          [3, 17, 3],
          [33, 9, 4],
        ] as const) {
          const spec = {
            ...randomSpec(colorType, depth, w, h, seed * 100 + colorType * 10 + depth),
            interlace,
          };
          const img = await decodePng(await encodePng(spec), LIMITS);
          const want = expectedPixels(spec);
          expect([img.width, img.height, img.channels]).toEqual([w, h, want.channels]);
          expect(Array.from(img.pixels)).toEqual(want.pixels);
        }
      });
    }
  }

  it("applies tRNS to palette images as a fourth channel", async () => {
    const spec = { ...randomSpec(3, 4, 11, 5, 9), trns: [0, 10, 128] };
    const img = await decodePng(await encodePng(spec), LIMITS);
    expect(img.channels).toBe(4);
    expect(Array.from(img.pixels)).toEqual(expectedPixels(spec).pixels);
  });

  it("joins image data split over several IDAT chunks", async () => {
    const spec = randomSpec(2, 8, 40, 30, 5);
    const img = await decodePng(await encodePng(spec, 7), LIMITS);
    expect(Array.from(img.pixels)).toEqual(expectedPixels(spec).pixels);
  });

  it("decodes interlaced and plain encodings of the same image to the same pixels", async () => {
    const spec = randomSpec(6, 16, 29, 23, 6);
    const plain = await decodePng(await encodePng(spec), LIMITS);
    const adam7 = await decodePng(await encodePng({ ...spec, interlace: true }), LIMITS);
    expect(adam7).toEqual(plain);
  });

  it("reports truncation at every cut point as an ImageDecodeError", async () => {
    const bytes = await encodePng(randomSpec(2, 8, 6, 5, 7));
    for (let cut = 0; cut < bytes.length; cut++) {
      const err = await decodeError(bytes.subarray(0, cut));
      expect(["truncated", "unsupported", "corrupt"]).toContain(err.code);
    }
  });

  it("rejects corrupt input with a typed error", async () => {
    const good = randomSpec(0, 8, 8, 8, 8);
    // Invalid row filter type.
    expect((await decodeError(await encodePng({ ...good, filters: [7] }))).code).toBe("corrupt");
    // Invalid colour type / depth pair.
    const bad = await encodePng(good);
    bad[24] = 3;
    expect((await decodeError(bad)).code).toBe("corrupt");
    // Garbage where the zlib stream should be.
    const zlibBad = await encodePng(good);
    zlibBad.fill(0xff, 41, 60);
    expect((await decodeError(zlibBad)).code).toBe("corrupt");
    // Palette image without PLTE; palette index beyond the palette.
    expect((await decodeError(await encodePng({ ...good, colorType: 3 }))).code).toBe("corrupt");
    const shortPalette = { ...randomSpec(3, 8, 4, 4, 9), palette: [1, 2, 3] };
    expect((await decodeError(await encodePng(shortPalette))).code).toBe("corrupt");
    // Not a PNG at all.
    expect((await decodeError(new TextEncoder().encode("GIF89a not a png at all......"))).code).toBe(
      "unsupported",
    );
  });

  it("never throws anything but ImageDecodeError on random damage", async () => {
    const bytes = await encodePng(randomSpec(6, 8, 20, 20, 10));
    const r = rng(11);
    for (let n = 0; n < 200; n++) {
      const damaged = bytes.slice();
      for (let k = 0; k < 3; k++) damaged[Math.floor(r() * damaged.length)] = Math.floor(r() * 256);
      try {
        const img = await decodePng(damaged, LIMITS);
        expect(img.pixels.length).toBe(img.width * img.height * img.channels);
      } catch (e) {
        expect(e).toBeInstanceOf(ImageDecodeError);
      }
    }
  });

  it("refuses an oversized image from its header, before inflating", async () => {
    // IHDR claims 100000 x 100000; the image data is not valid zlib, so reaching the inflater
    // would report "corrupt" instead of "too-large".
    const bytes = await encodePng(randomSpec(0, 8, 4, 4, 12));
    new DataView(bytes.buffer).setUint32(16, 100_000);
    new DataView(bytes.buffer).setUint32(20, 100_000);
    bytes.fill(0xff, 41, bytes.length - 12);
    expect(pngDimensions(bytes)).toEqual({ width: 100_000, height: 100_000 });
    expect((await decodeError(bytes, { maxPixels: 50_000_000 })).code).toBe("too-large");
    // The limit is inclusive.
    const ok = await encodePng(randomSpec(0, 8, 10, 10, 13));
    expect((await decodePng(ok, { maxPixels: 100 })).width).toBe(10);
    expect((await decodeError(ok, { maxPixels: 99 })).code).toBe("too-large");
  });

  it("ignores zlib output past the image data, even a 64 MiB bomb", async () => {
    const spec = randomSpec(0, 8, 4, 4, 14);
    const plain = await encodePng(spec);
    const img = await decodePng(plain, LIMITS);
    // Same header, but the zlib stream inflates to 64 MiB of zeros after the 20 image bytes.
    const big = new Uint8Array(20 + (64 << 20));
    const z = await deflate(big);
    expect(z.length).toBeLessThan(200_000);
    const idat = new Uint8Array(12 + z.length);
    new DataView(idat.buffer).setUint32(0, z.length);
    idat.set([73, 68, 65, 84], 4);
    idat.set(z, 8);
    const bomb = new Uint8Array([...plain.subarray(0, 33), ...idat, ...plain.subarray(plain.length - 12)]);
    const out = await decodePng(bomb, LIMITS);
    expect(out.pixels.length).toBe(img.pixels.length);
  });

  it("returns null dimensions for non-PNG input", () => {
    expect(pngDimensions(new Uint8Array([0xff, 0xd8, 0xff, 0xe0]))).toBeNull();
    expect(pngDimensions(new Uint8Array(0))).toBeNull();
  });
});

/**
 * The gate's decode: rows streamed from the inflater into the area-average downscaler. The
 * reference here sums every source pixel into its cell (floor(x·num/den)) in one plain loop,
 * from the samples, independently of the decoder's row bookkeeping.
 */
function referenceScaled(spec: PngSpec): { width: number; height: number; pixels: number[] } {
  const { channels, pixels } = expectedPixels(spec);
  const plan = planScale(spec.width, spec.height);
  const cells = plan.width * plan.height;
  const sums = new Float64Array(cells * channels);
  const counts = new Float64Array(cells);
  for (let y = 0; y < spec.height; y++) {
    const oy = Math.min(plan.height - 1, Math.floor((y * plan.yNum) / plan.yDen));
    for (let x = 0; x < spec.width; x++) {
      const ox = Math.min(plan.width - 1, Math.floor((x * plan.xNum) / plan.xDen));
      const cell = oy * plan.width + ox;
      counts[cell]!++;
      for (let c = 0; c < channels; c++)
        sums[cell * channels + c]! += pixels[(y * spec.width + x) * channels + c]!;
    }
  }
  const out = Array.from(sums, (s, i) => Math.round(s / counts[Math.floor(i / channels)]!));
  return { width: plan.width, height: plan.height, pixels: out };
}

describe("decodePng at the PDQ size (streamed, downscaled while decoding)", () => {
  // 4200 columns exceed PDQ_MAX_SIDE (a fractional factor on that axis); 9×4200 the other way;
  // both are cheap to encode here. 1100×1030 takes the integer 2×2 path on both axes.
  const SHAPES: [number, number][] = [
    [4200, 9],
    [9, 4200],
  ];
  for (const [colorType, depth] of COMBOS) {
    it(`matches the reference area average for colour type ${colorType}, ${depth}-bit, plain and Adam7`, async () => {
      for (const [w, h] of SHAPES) {
        for (const interlace of [false, true]) {
          const spec = { ...randomSpec(colorType, depth, w, h, w + colorType * 7 + depth), interlace };
          const img = await decodePng(await encodePng(spec), LIMITS);
          const want = referenceScaled(spec);
          expect([img.width, img.height]).toEqual([want.width, want.height]);
          expect(Math.max(img.width, img.height)).toBe(PDQ_MAX_SIDE);
          expect(Array.from(img.pixels)).toEqual(want.pixels);
        }
      }
    });
  }

  it("reduces a 1030x1024 image by 2x2 boxes (the shorter side stays >= 512)", {
    timeout: 60_000,
  }, async () => {
    const spec = randomSpec(0, 8, 1030, 1024, 21);
    const bytes = await encodePng(spec);
    const img = await decodePng(bytes, { maxPixels: 2_000_000 });
    expect([img.width, img.height, img.channels]).toEqual([515, 512, 1]);
    expect(Array.from(img.pixels)).toEqual(referenceScaled(spec).pixels);
    const full = await decodePng(bytes, { maxPixels: 2_000_000, fullResolution: true });
    expect(Array.from(full.pixels)).toEqual(expectedPixels(spec).pixels);
  });

  it("decodes the same pixels however the zlib stream is split into IDAT chunks", {
    timeout: 60_000,
  }, async () => {
    const r = rng(31);
    for (const [colorType, depth, interlace, w, h] of [
      [6, 8, false, 40, 12],
      [0, 2, true, 37, 9],
      [2, 16, false, 4200, 2],
    ] as const) {
      const spec = { ...randomSpec(colorType, depth, w, h, 40 + colorType), interlace };
      const want = w > PDQ_MAX_SIDE ? referenceScaled(spec).pixels : expectedPixels(spec).pixels;
      for (let n = 0; n < 8; n++) {
        // Chunk sizes from 1 byte up: the inflater's input windows end anywhere.
        const most = w > PDQ_MAX_SIDE ? 2000 : n < 4 ? 5 : 300;
        const sizes = Array.from({ length: 1 + Math.floor(r() * 5) }, () => 1 + Math.floor(r() * most));
        const img = await decodePng(await encodePng(spec, sizes), LIMITS);
        expect(Array.from(img.pixels), sizes.join(",")).toEqual(want);
      }
    }
  });

  it("decodes rows that straddle the inflater's output chunks (64 KiB) exactly, every filter", {
    timeout: 60_000,
  }, async () => {
    // 3 to 8 bytes a pixel, widths whose rows do not divide 64 KiB: every few hundred rows one is
    // assembled across two output chunks and unfiltered in place (Paeth in SIMD lanes for 3 and 4).
    for (const [colorType, depth, w, h] of [
      [2, 8, 301, 160],
      [6, 8, 257, 130],
      [6, 16, 131, 120],
      [0, 8, 1001, 140],
    ] as const) {
      for (const interlace of [false, true]) {
        const spec = { ...randomSpec(colorType, depth, w, h, 60 + colorType), interlace };
        const img = await decodePng(await encodePng(spec), { maxPixels: 1_000_000, fullResolution: true });
        expect(Array.from(img.pixels)).toEqual(expectedPixels(spec).pixels);
      }
    }
  });
});
