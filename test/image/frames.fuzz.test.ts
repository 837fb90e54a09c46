/**
 * Differential fuzz of animated GIF decoding: random animations (frame rectangles that may
 * overhang the screen, local palettes, transparency, every disposal method, interlacing) are
 * built, and every frame the decoder yields is compared with a plain compositor written here
 * from the GIF89a rules. Also the frame sampling: which frames of a long animation are hashed,
 * and animations on screens too large for the full-size canvas (composited at the PDQ size):
 * their first frame against the reduced full decode, mutated ones for errors of the right type.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeImageFrames } from "../../src/image/decode.ts";
import { CANVAS_MAX_PIXELS, FRAMES_ALL, FRAMES_TOTAL, isFrameHashed } from "../../src/image/frames.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { fuzzRuns, fuzzSeed } from "../helpers/fuzz-runs.ts";
import { buildGif, expectedRgba, type GifFrameSpec, type GifSpec } from "./gif-builder.ts";
import { boxLuma } from "./large-gif-data.ts";

const LIMITS = { maxPixels: 1_000_000, fullResolution: true };

/** The screens a browser shows after each frame: GIF89a disposal applied after each. */
function composite(spec: GifSpec, frames: GifFrameSpec[]): Uint8Array[] {
  const screen = new Uint8Array(spec.width * spec.height * 4);
  const shown: Uint8Array[] = [];
  for (const f of frames) {
    const before = screen.slice();
    const palette = f.localPalette ?? spec.globalPalette!;
    for (let y = 0; y < f.height; y++) {
      for (let x = 0; x < f.width; x++) {
        const sx = (f.left ?? 0) + x;
        const sy = (f.top ?? 0) + y;
        const idx = f.indices[y * f.width + x]!;
        if (sx >= spec.width || sy >= spec.height || idx === f.transparentIndex) continue;
        const [r, g, b] = palette[idx] ?? [0, 0, 0];
        screen.set([r!, g!, b!, 255], (sy * spec.width + sx) * 4);
      }
    }
    shown.push(screen.slice());
    if (f.disposal === 2) {
      for (let y = f.top ?? 0; y < Math.min(spec.height, (f.top ?? 0) + f.height); y++) {
        for (let x = f.left ?? 0; x < Math.min(spec.width, (f.left ?? 0) + f.width); x++) {
          screen.fill(0, (y * spec.width + x) * 4, (y * spec.width + x) * 4 + 4);
        }
      }
    } else if (f.disposal === 3) screen.set(before);
  }
  return shown;
}

const colour = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map((c) => [...c]);
const frameArb = (w: number, h: number) =>
  fc
    .record({
      left: fc.nat(w),
      top: fc.nat(h),
      width: fc.integer({ min: 1, max: w + 2 }),
      height: fc.integer({ min: 1, max: h + 2 }),
      disposal: fc.constantFrom(0, 1, 2, 3),
      transparent: fc.option(fc.nat(3), { nil: undefined }),
      local: fc.option(fc.array(colour, { minLength: 4, maxLength: 4 }), { nil: undefined }),
      interlaced: fc.boolean(),
      seed: fc.nat(),
    })
    .map((r): GifFrameSpec => {
      const indices = Uint8Array.from(
        { length: r.width * r.height },
        (_, i) => ((i * 2654435761 + r.seed) >>> 13) & 3,
      );
      return {
        left: r.left,
        top: r.top,
        width: r.width,
        height: r.height,
        indices,
        disposal: r.disposal,
        interlaced: r.interlaced,
        ...(r.transparent !== undefined ? { transparentIndex: r.transparent } : {}),
        ...(r.local ? { localPalette: r.local } : {}),
      };
    });

const animation = fc
  .record({ w: fc.integer({ min: 1, max: 24 }), h: fc.integer({ min: 1, max: 24 }) })
  .chain(({ w, h }) =>
    fc.record({
      w: fc.constant(w),
      h: fc.constant(h),
      palette: fc.array(colour, { minLength: 4, maxLength: 4 }),
      frames: fc.array(frameArb(w, h), { minLength: 1, maxLength: 6 }),
    }),
  );

describe("fuzz: animated GIF frames against a plain compositor", () => {
  it("yields every frame as the GIF89a rules composite it", async () => {
    await fc.assert(
      fc.asyncProperty(animation, async ({ w, h, palette, frames }) => {
        const [first, ...rest] = frames;
        const spec: GifSpec = {
          width: w,
          height: h,
          globalPalette: palette,
          frame: first!,
          moreFrames: rest,
        };
        const got: Uint8Array[] = [];
        for await (const f of decodeImageFrames(buildGif(spec), LIMITS)) got.push(f.image.pixels);
        expect(got).toEqual(composite(spec, frames));
      }),
      { numRuns: fuzzRuns(200), seed: fuzzSeed() },
    );
  });

  it("hashes the first FRAMES_ALL frames, then FRAMES_TOTAL in all spread over the rest", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), (total) => {
        const picked: number[] = [];
        for (let i = 0; i < total; i++) if (isFrameHashed(i, total)) picked.push(i);
        expect(picked.length).toBe(Math.min(total, FRAMES_TOTAL));
        expect(picked.slice(0, FRAMES_ALL)).toEqual(
          Array.from({ length: Math.min(total, FRAMES_ALL) }, (_, i) => i),
        );
        if (total > FRAMES_TOTAL) {
          // Evenly: gaps between the sampled frames differ by at most one.
          const gaps = picked
            .slice(FRAMES_ALL)
            .map((v, i, a) => (i === 0 ? v - (FRAMES_ALL - 1) : v - a[i - 1]!));
          expect(Math.max(...gaps.slice(1)) - Math.min(...gaps.slice(1))).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: fuzzRuns(100), seed: fuzzSeed() },
    );
  });

  it("composites animations on screens over 2048x2048 at the PDQ size; mutated ones fail cleanly", async () => {
    const large = fc.record({
      w: fc.integer({ min: 2049, max: 2300 }),
      h: fc.integer({ min: 2049, max: 2200 }),
      dx: fc.nat(2260),
      dy: fc.nat(2160),
      flips: fc.array(fc.tuple(fc.nat(), fc.nat(7)), { maxLength: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(animation, large, async ({ palette, frames }, { w, h, dx, dy, flips }) => {
        // The small random frames, moved somewhere on the large screen.
        const moved = frames.map((f) => ({ ...f, left: (f.left ?? 0) + dx, top: (f.top ?? 0) + dy }));
        const [first, ...rest] = moved;
        const spec: GifSpec = {
          width: w,
          height: h,
          globalPalette: palette,
          frame: first!,
          moreFrames: rest,
        };
        expect(w * h).toBeGreaterThan(CANVAS_MAX_PIXELS);
        const bytes = buildGif(spec);
        for (const [at, bit] of flips) bytes[13 + (at % (bytes.length - 13))]! ^= 1 << bit;
        const got: Uint8Array[] = [];
        try {
          for await (const f of decodeImageFrames(bytes, { maxPixels: 16_000_000 })) {
            expect(f.image.channels).toBe(1);
            got.push(f.image.pixels);
          }
        } catch (e) {
          if (!(e instanceof ImageDecodeError)) throw e;
          if (flips.length === 0) throw e;
        }
        if (flips.length > 0) return;
        expect(got).toHaveLength(frames.length);
        // Drawn on a blank screen, the first frame is exact: the reduced full decode, rounded alike.
        const reference = boxLuma(expectedRgba({ ...spec, moreFrames: [] }), w, h).pixels;
        let worst = 0;
        for (let i = 0; i < reference.length; i++)
          worst = Math.max(worst, Math.abs(got[0]![i]! - reference[i]!));
        expect(worst).toBeLessThanOrEqual(1);
      }),
      { numRuns: fuzzRuns(25), seed: fuzzSeed() },
    );
  });
});
