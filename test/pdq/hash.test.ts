import { describe, expect, it } from "vitest";
import { decodePng } from "../../src/image/png.ts";
import { pdqHash, pdqHasher } from "../../src/pdq/worker.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { stagesHasher } from "../helpers/pdq-debug.ts";
import { readTsv } from "./tsv.ts";

const LIMITS = { maxPixels: 50_000_000 };

async function hashFixture(path: string) {
  const img = await decodePng(await fixtureBytes(`pdq/${path}`), LIMITS);
  return pdqHasher().hash(img);
}

describe("PDQ on the reference fixtures (benign test images)", () => {
  it("hashes every decoded-pixel fixture to exactly the reference fullres hash and quality", async () => {
    const rows = await readTsv("pixels.tsv");
    expect(rows.length).toBe(7);
    for (const r of rows) {
      const res = await hashFixture(r.pixels_file!);
      expect({ file: r.pixels_file, hash: res.hash, quality: res.quality }).toEqual({
        file: r.pixels_file,
        hash: r.fullres_hex,
        quality: Number(r.fullres_quality),
      });
    }
  });

  it("gives the reference's 8 dihedral hashes on the decoded-pixel fixtures", async () => {
    const dihedral = new Map((await readTsv("dihedral_fullres.tsv")).map((r) => [r.file!, r]));
    for (const r of await readTsv("pixels.tsv")) {
      const want = dihedral.get(r.from_image!)!;
      const res = await hashFixture(r.pixels_file!);
      const names = ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"];
      expect(res.dihedral).toEqual(names.map((n) => want[n]));
      expect(res.dihedral[0]).toBe(res.hash);
    }
  });

  it("hashes every fixture PNG to exactly the reference fullres hash and quality", async () => {
    const pngs = (await readTsv("manifest_ext.tsv")).filter((r) => r.format === "PNG");
    expect(pngs.length).toBe(5);
    for (const r of pngs) {
      const res = await hashFixture(r.file!);
      expect([r.file, res.hash, res.quality]).toEqual([r.file, r.fullres_hex, Number(r.fullres_quality)]);
    }
  });
});

describe("PDQ edge cases", () => {
  function solid(width: number, height: number, channels: 1 | 3 | 4, f: (x: number, y: number) => number) {
    const pixels = new Uint8Array(width * height * channels);
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        pixels.fill(f(x, y), (y * width + x) * channels, (y * width + x + 1) * channels);
    return { width, height, channels, pixels };
  }
  const zero = "0".repeat(64);

  it("gives the zero hash and quality 0 below 5 px on a side", () => {
    for (const [w, h] of [
      [4, 100],
      [100, 4],
      [1, 1],
    ] as const) {
      const res = pdqHasher().hash(solid(w, h, 3, (x, y) => (x * 37 + y * 11) & 255));
      expect(res).toEqual({ hash: zero, quality: 0, dihedral: Array(8).fill(zero) });
    }
  });

  it("gives a non-zero hash at 5 px", () => {
    const res = pdqHasher().hash(solid(5, 5, 1, (x, y) => (x * 50 + y * 20) & 255));
    expect(res.hash).not.toBe(zero);
  });

  it("skips the blur at exactly 64x64: the stage buffer is the float32 luma itself", () => {
    const hasher = stagesHasher();
    const img = solid(64, 64, 3, (x, y) => (x * 7 + y * 13) & 255);
    for (let i = 0; i < img.pixels.length; i += 3) img.pixels[i + 1] = (i * 31) & 255; // fractional luma
    hasher.hash(img);
    const f = Math.fround;
    const luma = Array.from({ length: 64 * 64 }, (_, i) => {
      const [r, g, b] = [img.pixels[3 * i]!, img.pixels[3 * i + 1]!, img.pixels[3 * i + 2]!];
      return f(f(f(f(0.299) * r) + f(f(0.587) * g)) + f(f(0.114) * b));
    });
    expect(Array.from(hasher.stages().buffer64)).toEqual(luma);
  });

  it("drops alpha instead of compositing it", () => {
    const rgb = solid(40, 30, 3, (x, y) => (x * 9 + y * 5) & 255);
    const rgba = { ...rgb, channels: 4 as const, pixels: new Uint8Array(40 * 30 * 4) };
    for (let i = 0; i < 40 * 30; i++) {
      rgba.pixels.set(rgb.pixels.subarray(i * 3, i * 3 + 3), i * 4);
      rgba.pixels[i * 4 + 3] = i % 251;
    }
    expect(pdqHasher().hash(rgba)).toEqual(pdqHasher().hash(rgb));
  });

  it("rejects a pixel buffer that does not match the dimensions", () => {
    expect(() =>
      pdqHasher().hash({ width: 10, height: 10, channels: 3, pixels: new Uint8Array(299) }),
    ).toThrow(/expected 10x10x3/);
  });
});

describe("pdqHash (the isolate's shared hasher)", () => {
  it("drops an instance that grew past 64 MiB and hashes correctly with the next one", async () => {
    const img = await decodePng(await fixtureBytes("pdq/images/misc-images/c.png"), LIMITS);
    const small = pdqHash(img);
    const before = pdqHasher();
    // Pixels are streamed in strips, but the blur keeps 64 floats per row: a very tall image
    // makes the core's memory grow past the limit.
    const tall = { width: 5, height: 300_000, channels: 1 as const, pixels: new Uint8Array(5 * 300_000) };
    expect(pdqHash(tall).quality).toBe(0); // flat: no gradient
    expect(pdqHasher()).not.toBe(before);
    expect(pdqHash(img)).toEqual(small);
  });

  it("streams pixels through a strip: a 24-megapixel image leaves the core's memory under 8 MiB", () => {
    const big = { width: 6000, height: 4000, channels: 4 as const, pixels: new Uint8Array(6000 * 4000 * 4) };
    for (let y = 0; y < 4000; y++) big.pixels.fill((y * 255) / 4000, y * 24_000, (y + 1) * 24_000); // gradient
    const res = pdqHash(big);
    expect(res.quality).toBeGreaterThan(0);
    expect(pdqHasher().memoryBytes()).toBeLessThan(8 * 1024 * 1024);
  });
});
