/**
 * Animated GIFs on a screen larger than the full-size canvas (2048×2048) are composited at the
 * PDQ size (reduced-canvas.ts). Measured here against compositing at full size, written in this
 * file from the GIF89a rules: the PDQ distance of every frame, and its pixels against the area
 * average of the full composite. Frames cover the screen or not, at offsets that do not fall on
 * cell edges, with transparent pixels (a delta frame, random holes), every disposal method,
 * interlaced, local palette. Test data: a benign fixture photo, upright and turned, quantised.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { decodeImageFrames } from "../../src/image/decode.ts";
import { CANVAS_MAX_PIXELS } from "../../src/image/frames.ts";
import type { DecodedImage } from "../../src/image/types.ts";
import { pdqHasher } from "../../src/pdq/worker.ts";
import { rng } from "../helpers/random.ts";
import { buildGif, type GifFrameSpec, type GifSpec } from "./gif-builder.ts";
import {
  boxLuma,
  CUBE,
  GREYS,
  hamming,
  loadBridge,
  pictureIndices,
  randomSubBlocks,
} from "./large-gif-data.ts";

const LIMITS = { maxPixels: 250_000_000 };
/** An index CUBE does not use: the delta frames' transparent index. */
const HOLE = 255;
/** Bound on every frame's PDQ distance to the full-size composite (the measured worst is printed). */
const MAX_BITS = 10;
/** Bound on the distance to the full-size composite reduced the same way: the compositing's own error. */
const MAX_COMPOSITING_BITS = 4;

let bridge: DecodedImage;

beforeAll(async () => {
  bridge = await loadBridge();
}, 60_000);

/** The screens shown after each frame, composited at full size (GIF89a: disposal after each frame). */
function compositeFull(spec: GifSpec, frames: GifFrameSpec[]): Uint8Array[] {
  const { width, height } = spec;
  const screen = new Uint8Array(width * height * 4);
  const shown: Uint8Array[] = [];
  for (const f of frames) {
    const before = f.disposal === 3 ? screen.slice() : null;
    const palette = f.localPalette ?? spec.globalPalette!;
    const [left, top] = [f.left ?? 0, f.top ?? 0];
    for (let y = 0; y < f.height && top + y < height; y++) {
      for (let x = 0; x < f.width && left + x < width; x++) {
        const idx = f.indices[y * f.width + x]!;
        if (idx === f.transparentIndex) continue;
        const [r, g, b] = palette[idx] ?? [0, 0, 0];
        screen.set([r!, g!, b!, 255], ((top + y) * width + left + x) * 4);
      }
    }
    shown.push(screen.slice());
    if (f.disposal === 2) {
      for (let y = top; y < Math.min(height, top + f.height); y++)
        screen.fill(0, (y * width + left) * 4, (y * width + Math.min(width, left + f.width)) * 4);
    } else if (before) screen.set(before);
  }
  return shown;
}

/** A rectangle cut out of a w-wide index image. */
function crop(indices: Uint8Array, w: number, x: number, y: number, cw: number, ch: number): Uint8Array {
  const out = new Uint8Array(cw * ch);
  for (let r = 0; r < ch; r++) out.set(indices.subarray((y + r) * w + x, (y + r) * w + x + cw), r * cw);
  return out;
}

/** Six frames over the bridge (B) and the bridge turned a quarter (M) on a `w`×`h` screen. */
function animation(w: number, h: number, interlaced: boolean): GifSpec {
  const b = pictureIndices(bridge, w, h, false);
  const other = turned(bridge);
  const m = pictureIndices(other, w, h, false);
  const next = rng(11);
  // A delta frame: B with a rectangle of M, every unchanged pixel transparent.
  const delta = { left: 997, top: 703, width: 910, height: 801 };
  const changed = crop(m, w, delta.left, delta.top, delta.width, delta.height);
  const under = crop(b, w, delta.left, delta.top, delta.width, delta.height);
  const deltaIndices = changed.map((v, i) => (v === under[i] ? HOLE : v));
  // B again in a smaller rectangle, a quarter of its pixels holes (the cleared screen shows through).
  const holed = crop(b, w, 1001, 705, 905, 795).map((v) => (next() < 0.25 ? HOLE : v));
  const greyM = pictureIndices(other, w, h, true);
  const sub = randomSubBlocks(12);
  const frames: GifFrameSpec[] = [
    { width: w, height: h, indices: b, disposal: 1, interlaced, subBlockSize: sub },
    { left: 333, top: 201, width: 1201, height: 907, indices: crop(m, w, 333, 201, 1201, 907), disposal: 3 },
    { ...delta, indices: deltaIndices, transparentIndex: HOLE, disposal: 2, interlaced },
    {
      left: 1001,
      top: 705,
      width: 905,
      height: 795,
      indices: holed,
      transparentIndex: HOLE,
      subBlockSize: sub,
    },
    { width: w, height: h, indices: greyM, localPalette: GREYS, interlaced: true },
    // B over the whole screen with half its pixels holes: every cell covered in part.
    { width: w, height: h, indices: b.map((v) => (next() < 0.5 ? HOLE : v)), transparentIndex: HOLE },
  ];
  const [first, ...rest] = frames;
  return { width: w, height: h, globalPalette: CUBE, frame: first!, moreFrames: rest };
}

/** The picture turned a quarter (its mirror image would make a symmetric mix, whose PDQ bits are noise). */
function turned(p: DecodedImage): DecodedImage {
  const { width: w, height: h, channels: ch } = p;
  const out = new Uint8Array(p.pixels.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const s = (y * w + x) * ch;
      out.set(p.pixels.subarray(s, s + ch), (x * h + (h - 1 - y)) * ch);
    }
  return { width: h, height: w, channels: ch, pixels: out };
}

describe("animated GIFs larger than the full-size canvas", () => {
  for (const [w, h, interlaced] of [
    [2600, 2100, false],
    [3000, 2000, true],
  ] as const) {
    it(`${w}x${h}${interlaced ? " interlaced" : ""}: every frame within ${MAX_BITS} bits of full-size compositing`, {
      timeout: 240_000,
    }, async () => {
      expect(w * h).toBeGreaterThan(CANVAS_MAX_PIXELS);
      const spec = animation(w, h, interlaced);
      const frames = [spec.frame, ...spec.moreFrames!];
      const reference = compositeFull(spec, frames);
      const report: string[] = [];
      let n = 0;
      for await (const { index, image } of decodeImageFrames(buildGif(spec), LIMITS)) {
        expect(index).toBe(n);
        const full = { width: w, height: h, channels: 4 as const, pixels: reference[n]! };
        const reduced = boxLuma(reference[n]!, w, h);
        expect([image.width, image.height, image.channels]).toEqual([reduced.width, reduced.height, 1]);
        let diff = 0;
        for (let i = 0; i < image.pixels.length; i++) diff += Math.abs(image.pixels[i]! - reduced.pixels[i]!);
        const hash = pdqHasher().hash(image).hash;
        const fullPdq = pdqHasher().hash(full);
        const d = hamming(hash, fullPdq.hash);
        // The compositing's own error: against the full composite reduced the same way.
        const dReduced = hamming(hash, pdqHasher().hash(reduced).hash);
        report.push(
          `frame ${n} (quality ${fullPdq.quality}): ${d} bits from full size (${dReduced} from the full composite reduced), mean |luma difference| ${(diff / image.pixels.length).toFixed(2)}`,
        );
        expect.soft(d, `frame ${n}`).toBeLessThanOrEqual(MAX_BITS);
        expect.soft(dReduced, `frame ${n}`).toBeLessThanOrEqual(MAX_COMPOSITING_BITS);
        // The first frame covers the screen with opaque pixels: exact, as a still GIF's.
        if (n === 0) expect(diff / image.pixels.length).toBeLessThan(0.5);
        n++;
      }
      expect(n).toBe(frames.length);
      console.log(`GIF ${w}x${h}, reduced compositing vs full size:\n  ${report.join("\n  ")}`);
    });
  }
});
