/**
 * APNG frames against a compositor written here from the APNG rules: blend source/over,
 * dispose none/background/previous (previous on the first frame is background), frames at
 * offsets, and a default image that is not part of the animation yielded as a frame of its own.
 */
import { describe, expect, it } from "vitest";
import { decodeImageFrames } from "../../src/image/decode.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { rng } from "../helpers/random.ts";
import { type ApngFrameSpec, buildApng } from "./apng-builder.ts";

const LIMITS = { maxPixels: 1_000_000, fullResolution: true };

function rgbaFrame(w: number, h: number, seed: number, x = 0, y = 0): ApngFrameSpec {
  const r = rng(seed);
  // Alpha 0, 255 and in between, so both blend ops matter.
  const samples = Array.from({ length: w * h * 4 }, (_, i) =>
    i % 4 === 3 ? [0, 255, 128, 255][Math.floor(r() * 4)]! : Math.floor(r() * 256),
  );
  return { image: { width: w, height: h, samples }, x, y };
}

function composite(W: number, H: number, frames: ApngFrameSpec[]): number[][] {
  const canvas = new Float64Array(W * H * 4);
  const out: number[][] = [];
  frames.forEach((f, n) => {
    const { width: w, height: h, samples } = f.image;
    const [fx, fy] = [f.x ?? 0, f.y ?? 0];
    const saved = canvas.slice();
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const d = ((fy + y) * W + fx + x) * 4;
        const s = (y * w + x) * 4;
        const a = samples[s + 3]!;
        if ((f.blend ?? 0) === 0) {
          // Source: the frame's pixel replaces the canvas (a transparent one as transparent black).
          for (let c = 0; c < 4; c++) canvas[d + c] = a === 0 ? 0 : samples[s + c]!;
        } else if (a > 0) {
          const da = (canvas[d + 3]! * (255 - a)) / 255;
          const oa = a + da;
          for (let c = 0; c < 3; c++)
            canvas[d + c] = Math.round((samples[s + c]! * a + canvas[d + c]! * da) / oa);
          canvas[d + 3] = Math.round(oa);
        }
      }
    }
    out.push(Array.from(canvas));
    const dispose = n === 0 && f.dispose === 2 ? 1 : (f.dispose ?? 0);
    if (dispose === 1) {
      for (let y = 0; y < h; y++) canvas.fill(0, ((fy + y) * W + fx) * 4, ((fy + y) * W + fx + w) * 4);
    } else if (dispose === 2) canvas.set(saved);
  });
  return out;
}

async function framesOf(bytes: Uint8Array): Promise<number[][]> {
  const out: number[][] = [];
  for await (const f of decodeImageFrames(bytes, LIMITS)) out.push(Array.from(f.image.pixels));
  return out;
}

describe("APNG", () => {
  it("composites every blend and dispose combination as the APNG rules say", async () => {
    for (const dispose of [0, 1, 2]) {
      for (const blend of [0, 1]) {
        const frames: ApngFrameSpec[] = [
          { ...rgbaFrame(11, 7, 1), dispose },
          { ...rgbaFrame(5, 4, 2, 3, 2), dispose, blend },
          { ...rgbaFrame(6, 3, 3, 5, 4), blend: 1 },
        ];
        const bytes = await buildApng({ width: 11, height: 7, colorType: 6, depth: 8, frames });
        expect(await framesOf(bytes), `dispose ${dispose} blend ${blend}`).toEqual(composite(11, 7, frames));
      }
    }
  });

  it("also yields a default image that is not part of the animation", async () => {
    const hidden = rgbaFrame(6, 5, 4).image;
    const frames = [rgbaFrame(6, 5, 5)];
    const bytes = await buildApng({
      width: 6,
      height: 5,
      colorType: 6,
      depth: 8,
      defaultImage: hidden,
      frames,
    });
    const got = await framesOf(bytes);
    expect(got).toHaveLength(2);
    expect(got[0]).toEqual(hidden.samples);
    expect(got[1]).toEqual(composite(6, 5, frames)[0]);
  });

  it("refuses a frame outside the canvas", async () => {
    const bytes = await buildApng({
      width: 6,
      height: 5,
      colorType: 6,
      depth: 8,
      frames: [rgbaFrame(6, 5, 6), rgbaFrame(4, 4, 7, 3, 3)],
    });
    await expect(framesOf(bytes)).rejects.toBeInstanceOf(ImageDecodeError);
  });
});
