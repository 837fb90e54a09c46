/**
 * Animated WebP: every frame composited as the WebP container specification says (blend,
 * dispose, frame rectangles), checked against a compositor written here from the specification
 * (floating point, no shared code); at a reduced canvas for large animations; frames beyond 50
 * sampled; cut and corrupted files end in an ImageDecodeError, never in anything else.
 */
import { describe, expect, it } from "vitest";
import { decodeImageFrames, withDecodedFrames } from "../../src/image/decode.ts";
import { FRAMES_TOTAL, isFrameHashed } from "../../src/image/frames.ts";
import { type DecodedImage, ImageDecodeError } from "../../src/image/types.ts";
import { encodeWebp, testPattern } from "./encoders.ts";
import { type AnimFrame, buildAnimatedWebp } from "./webp-anim-builder.ts";

const LIMITS = { maxPixels: 50_000_000 };

interface Layer {
  rgba: Uint8Array;
  width: number;
  height: number;
  x: number;
  y: number;
  blend: boolean;
  dispose: boolean;
}

/** RGBA with alpha in steps (0, partial, opaque) and colour unlike testPattern's. */
function spotted(width: number, height: number, seed: number): Uint8Array {
  const px = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const x = i % width;
    const y = Math.floor(i / width);
    px[i * 4] = (x * 9 + seed * 50) & 255;
    px[i * 4 + 1] = (y * 13 + seed * 30) & 255;
    px[i * 4 + 2] = (x * y + seed) & 255;
    px[i * 4 + 3] = [0, 64, 128, 200, 255][(x + 2 * y + seed) % 5]!;
  }
  return px;
}

/** The specification's compositing, in floating point: the canvas after each frame. */
function referenceComposite(width: number, height: number, layers: Layer[]): Uint8Array[] {
  const canvas = new Float64Array(width * height * 4);
  const shown: Uint8Array[] = [];
  let disposeRect: Layer | null = null;
  for (const l of layers) {
    if (disposeRect) {
      for (let r = 0; r < disposeRect.height; r++)
        for (let c = 0; c < disposeRect.width; c++)
          canvas.fill(
            0,
            ((disposeRect.y + r) * width + disposeRect.x + c) * 4,
            ((disposeRect.y + r) * width + disposeRect.x + c) * 4 + 4,
          );
    }
    for (let r = 0; r < l.height; r++) {
      for (let c = 0; c < l.width; c++) {
        const s = (r * l.width + c) * 4;
        const d = ((l.y + r) * width + l.x + c) * 4;
        if (!l.blend) {
          for (let k = 0; k < 4; k++) canvas[d + k] = l.rgba[s + k]!;
          continue;
        }
        const as = l.rgba[s + 3]! / 255;
        const ad = canvas[d + 3]! / 255;
        const a = as + ad * (1 - as);
        for (let k = 0; k < 3; k++)
          canvas[d + k] = a === 0 ? 0 : (l.rgba[s + k]! * as + canvas[d + k]! * ad * (1 - as)) / a;
        canvas[d + 3] = a * 255;
      }
    }
    shown.push(Uint8Array.from(canvas, (v) => Math.round(v)));
    disposeRect = l.dispose ? l : null;
  }
  return shown;
}

async function animation(width: number, height: number, layers: Layer[]): Promise<Uint8Array> {
  const frames: AnimFrame[] = [];
  for (const l of layers) {
    const webp = await encodeWebp(l.rgba, l.width, l.height, { lossless: true });
    frames.push({ webp, x: l.x, y: l.y, blend: l.blend, dispose: l.dispose });
  }
  return buildAnimatedWebp(width, height, frames);
}

async function allFrames(
  bytes: Uint8Array,
  limits: object,
): Promise<{ index: number; image: DecodedImage }[]> {
  const out = [];
  for await (const f of decodeImageFrames(bytes, { ...LIMITS, ...limits })) {
    out.push({ index: f.index, image: { ...f.image, pixels: f.image.pixels.slice() } });
  }
  return out;
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const layer = (w: number, h: number, x: number, y: number, seed: number, o: Partial<Layer> = {}): Layer => ({
  rgba: seed === 0 ? testPattern(w, h) : spotted(w, h, seed),
  width: w,
  height: h,
  x,
  y,
  blend: true,
  dispose: false,
  ...o,
});

describe("animated WebP frames", () => {
  const layers = [
    layer(64, 48, 0, 0, 0),
    layer(30, 20, 10, 6, 1, { dispose: true }),
    layer(20, 20, 40, 20, 2, { blend: false }),
    layer(24, 16, 8, 8, 3),
    layer(64, 48, 0, 0, 4, { blend: false, dispose: true }),
    layer(16, 10, 2, 30, 5),
  ];

  it("composites blend, replace and dispose as the specification does", async () => {
    const webp = await animation(64, 48, layers);
    const frames = await allFrames(webp, { fullResolution: true });
    const expected = referenceComposite(64, 48, layers);
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const [i, f] of frames.entries()) {
      expect([f.image.width, f.image.height, f.image.channels]).toEqual([64, 48, 4]);
      expect(maxAbsDiff(f.image.pixels, expected[i]!), `frame ${i}`).toBeLessThanOrEqual(1);
    }
    // The test tells blending from replacing and disposing from keeping.
    const replacing = referenceComposite(
      64,
      48,
      layers.map((l) => ({ ...l, blend: false })),
    );
    const keeping = referenceComposite(
      64,
      48,
      layers.map((l) => ({ ...l, dispose: false })),
    );
    expect(maxAbsDiff(frames[3]!.image.pixels, replacing[3]!)).toBeGreaterThan(50);
    expect(maxAbsDiff(frames[5]!.image.pixels, keeping[5]!)).toBeGreaterThan(50);
  });

  it("composites a large canvas at the reduced size, close to the full composite reduced", async () => {
    // 1200x1040 reduces by 2x2 boxes (the shorter side stays >= 512).
    const big = [
      layer(1200, 1040, 0, 0, 0),
      layer(400, 300, 200, 100, 1),
      layer(300, 200, 600, 500, 2, { blend: false }),
    ];
    const webp = await animation(1200, 1040, big);
    const scaled = await allFrames(webp, {});
    const full = referenceComposite(1200, 1040, big);
    expect(scaled).toHaveLength(3);
    for (const [i, f] of scaled.entries()) {
      expect([f.image.width, f.image.height]).toEqual([600, 520]);
      let sum = 0;
      for (let y = 0; y < 520; y++)
        for (let x = 0; x < 600; x++)
          for (let k = 0; k < 4; k++) {
            const at = (sy: number, sx: number) => full[i]![((2 * y + sy) * 1200 + 2 * x + sx) * 4 + k]!;
            const box = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4;
            sum += Math.abs(f.image.pixels[(y * 600 + x) * 4 + k]! - box);
          }
      // Measured 2026-11-30: mean 0.12, 0.17, 0.52 per channel (the rescaler's filter; blending
      // after reducing instead of before).
      expect(sum / (600 * 520 * 4), `frame ${i}`).toBeLessThan(1.5);
    }
  }, 60_000);

  it("hashes the first 50 frames, then samples up to FRAMES_TOTAL", async () => {
    const dot = await encodeWebp(testPattern(2, 2), 2, 2, { lossless: true });
    const frames: AnimFrame[] = Array.from({ length: 130 }, (_, i) => ({ webp: dot, x: (i % 8) * 2, y: 0 }));
    const webp = buildAnimatedWebp(16, 16, frames);
    const got = (await allFrames(webp, {})).map((f) => f.index);
    const want = Array.from({ length: 130 }, (_, i) => i).filter((i) => isFrameHashed(i, 130));
    expect(got).toEqual(want);
    expect(got).toHaveLength(FRAMES_TOTAL);
  });

  it("ends a cut or corrupted animation in an ImageDecodeError, keeping the frames before", async () => {
    const webp = await animation(64, 48, layers);
    for (let cut = 12; cut < webp.length; cut += 7) {
      const err = await allFrames(webp.subarray(0, cut), {}).catch((e: unknown) => e);
      expect(err, `cut at ${cut}`).toBeInstanceOf(ImageDecodeError);
    }
    // Frame 3's entropy code damaged after its (valid) VP8L header: the demuxer accepts the file,
    // frames 0–2 are judged, then decoding frame 3 fails.
    const broken = webp.slice();
    let anmf = 0;
    for (let at = 12, n = 0; at < broken.length; ) {
      const size = broken[at + 4]! | (broken[at + 5]! << 8) | (broken[at + 6]! << 16);
      if (String.fromCharCode(...broken.subarray(at, at + 4)) === "ANMF" && n++ === 3) anmf = at;
      at += 8 + size + (size & 1);
    }
    expect(String.fromCharCode(...broken.subarray(anmf + 24, anmf + 28))).toBe("VP8L");
    broken.fill(0xff, anmf + 37, anmf + 60);
    const r = await withDecodedFrames(broken, LIMITS, (img) => img.width);
    expect(r.frames.map((f) => f.index)).toEqual([0, 1, 2]);
    expect(r.error).toBeInstanceOf(ImageDecodeError);
    // Random damage: a result or an ImageDecodeError, nothing else, and the decoder goes on working.
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let t = 0; t < 150; t++) {
      const m = webp.slice();
      for (let k = 0; k < 1 + (next() % 6); k++) m[next() % m.length] = next() & 255;
      const res = await withDecodedFrames(m, LIMITS, (img) => img.pixels.length).catch((e: unknown) => e);
      expect(res instanceof Error ? res : null).toBeNull();
    }
    expect(await allFrames(webp, {})).toHaveLength(6);
  });
});
