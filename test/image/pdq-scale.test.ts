/**
 * Issue 12's bound: the hash of the image the gate decodes (PDQ size, downscale.ts) stays
 * within 8 bits of the full-resolution hash when the shorter side is at least 512, reported per
 * image. Test data: benign fixture photos, and the same photos upscaled 2.5× (bilinear) to stand
 * in for large photos (the fixtures are at most 1600×1004 but for one 4032×3024 JPEG).
 */
import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.ts";
import { downscaleImage } from "../../src/image/downscale.ts";
import type { DecodedImage } from "../../src/image/types.ts";
import { pdqHasher } from "../../src/pdq/worker.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { hamming } from "../helpers/pdq-distance.ts";
import { fixtureImages } from "./fixture-list.ts";

const LIMITS = { maxPixels: 50_000_000 };
const UPSCALED = [
  "bridge-1-original.jpg",
  "bridge-2-rotate-90.jpg",
  "bridge-6-flipy.jpg",
  "pen-and-coaster.png",
  "c.png",
  "L.png",
];

/** Bilinear upscale by `f` (pixel centres aligned), to make a large test image from a fixture. */
function upscale(img: DecodedImage, f: number): DecodedImage {
  const { width: w, height: h, channels: ch, pixels: src } = img;
  const W = Math.round(w * f);
  const H = Math.round(h * f);
  const out = new Uint8Array(W * H * ch);
  const axis = (i: number, n: number) => {
    const s = Math.min(n - 1, Math.max(0, (i + 0.5) / f - 0.5));
    const i0 = Math.floor(s);
    return [i0, Math.min(n - 1, i0 + 1), s - i0] as const;
  };
  for (let y = 0; y < H; y++) {
    const [y0, y1, fy] = axis(y, h);
    for (let x = 0; x < W; x++) {
      const [x0, x1, fx] = axis(x, w);
      for (let c = 0; c < ch; c++) {
        const p = (yy: number, xx: number) => src[(yy * w + xx) * ch + c]!;
        const top = p(y0, x0) * (1 - fx) + p(y0, x1) * fx;
        const bottom = p(y1, x0) * (1 - fx) + p(y1, x1) * fx;
        out[(y * W + x) * ch + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return { width: W, height: H, channels: ch, pixels: out };
}

describe("PDQ at the gate's decode size against full resolution", () => {
  it("stays within 8 bits for fixtures and large images with a shorter side >= 512", {
    timeout: 300_000,
  }, async () => {
    const report: string[] = [];
    let max = 0;
    const check = (name: string, full: DecodedImage, scaled: DecodedImage) => {
      expect(Math.min(scaled.width, scaled.height), name).toBeGreaterThanOrEqual(512);
      const d = hamming(pdqHasher().hash(scaled).hash, pdqHasher().hash(full).hash);
      report.push(`${name} ${full.width}x${full.height}->${scaled.width}x${scaled.height}: ${d}`);
      max = Math.max(max, d);
      expect.soft(d, name).toBeLessThanOrEqual(8);
    };
    const fixtures = (await fixtureImages()).filter(
      (f) => Math.min(f.width, f.height) >= 512 && f.fullresQuality >= 80,
    );
    for (const f of fixtures) {
      const name = f.file.split("/").pop()!;
      const bytes = await fixtureBytes(f.file);
      const full = await decodeImage(bytes, { ...LIMITS, fullResolution: true });
      // PNGs go through the gate's own streamed decode; JPEG's scaled decode is another module's.
      check(name, full, f.format === "PNG" ? await decodeImage(bytes, LIMITS) : downscaleImage(full));
      if (UPSCALED.includes(name)) {
        const big = upscale(full, 2.5);
        check(`${name}×2.5`, big, downscaleImage(big));
      }
    }
    expect(report.length).toBe(fixtures.length + UPSCALED.length);
    console.log(`PDQ distance, gate decode size vs full resolution (max ${max}):\n  ${report.join("\n  ")}`);
  });
});
