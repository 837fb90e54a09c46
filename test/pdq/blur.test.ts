import { describe, expect, it } from "vitest";
import type { DecodedImage } from "../../src/image/types.ts";
import { stagesHasher } from "../helpers/pdq-debug.ts";
import { rng } from "../helpers/random.ts";
import { naiveBuffer64 } from "./naive.ts";

/** Smooth gradients plus noise, so every window size sees varied sums. */
function randomImage(r: () => number, width: number, height: number, channels: 1 | 3 | 4): DecodedImage {
  const pixels = new Uint8Array(width * height * channels);
  const fx = r() * 0.1;
  const fy = r() * 0.1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < channels; c++) {
        const v = 128 + 100 * Math.sin(x * fx + y * fy + c) + (r() - 0.5) * 60;
        pixels[(y * width + x) * channels + c] = Math.max(0, Math.min(255, Math.round(v)));
      }
  return { width, height, channels, pixels };
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

describe("blur and decimation", () => {
  it("equal a plain whole-buffer implementation bit for bit on random sizes and windows", () => {
    const r = rng(2026);
    // Sizes around the window steps (127/128/129, 255/256/257), odd widths (SIMD tails),
    // and a few random ones up to windows of 5.
    const sizes: [number, number][] = [
      [5, 5],
      [63, 65],
      [64, 64],
      [127, 128],
      [129, 257],
      [255, 131],
      [256, 97],
      [301, 7],
      [9, 333],
      ...Array.from({ length: 6 }, (): [number, number] => [
        5 + Math.floor(r() * 600),
        5 + Math.floor(r() * 600),
      ]),
    ];
    const hasher = stagesHasher();
    sizes.forEach(([w, h], k) => {
      const img = randomImage(r, w, h, ([1, 3, 4] as const)[k % 3]!);
      hasher.hash(img);
      expect({ size: `${w}x${h}`, bits: bits(hasher.stages().buffer64) }).toEqual({
        size: `${w}x${h}`,
        bits: bits(naiveBuffer64(img)),
      });
    });
  });
});
