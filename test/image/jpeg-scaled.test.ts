import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.ts";
import { decodeJpegScaled } from "../../src/image/jpeg-scaled.ts";
import type { DecodedImage } from "../../src/image/types.ts";
import { pdqHasher } from "../../src/pdq/worker.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { hamming } from "../helpers/pdq-distance.ts";
import { fixtureImages, sofOffset } from "./fixture-list.ts";
import { buildFlatJpeg } from "./jpeg-builder.ts";
import { type EncoderComponent, encodeTestJpeg, photoPlane, randomScript, seeded } from "./jpeg-encoder.ts";

/** Components of a W x H test image with the given sampling factors (photo-like planes). */
function planes(w: number, h: number, sampling: number[][]): EncoderComponent[] {
  const hmax = Math.max(...sampling.map((s) => s[0]!));
  const vmax = Math.max(...sampling.map((s) => s[1]!));
  return sampling.map(([sh, sv], i) => ({
    id: i + 1,
    h: sh!,
    v: sv!,
    samples: photoPlane(Math.ceil((w * sh!) / hmax), Math.ceil((h * sv!) / vmax), 7 + i),
  }));
}

const SAMPLINGS = [
  [[1, 1]],
  [[2, 2]],
  [
    [1, 1],
    [1, 1],
    [1, 1],
  ],
  [
    [2, 2],
    [1, 1],
    [1, 1],
  ],
  [
    [2, 1],
    [1, 1],
    [1, 1],
  ],
  [
    [1, 2],
    [1, 1],
    [1, 1],
  ],
  [
    [4, 1],
    [1, 1],
    [1, 1],
  ],
  [
    [1, 1],
    [2, 2],
    [1, 1],
  ],
  [
    [3, 2],
    [1, 2],
    [2, 1],
  ],
];

/** Area average of `full` by `r` in both directions (edge cells average what they cover). */
function boxReduce(full: DecodedImage, r: number): Uint8Array {
  const w = Math.ceil(full.width / r);
  const h = Math.ceil(full.height / r);
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      let n = 0;
      for (let j = y * r; j < Math.min(full.height, y * r + r); j++) {
        for (let i = x * r; i < Math.min(full.width, x * r + r); i++, n++)
          s += full.pixels[j * full.width + i]!;
      }
      out[y * w + x] = Math.round(s / n);
    }
  }
  return out;
}

describe("scaled JPEG luma decoding (the gate's JPEG path)", () => {
  it("keeps every fixture's PDQ within 8 bits of the full-resolution reference (quality >= 80, shorter side >= 512)", async () => {
    const jpegs = (await fixtureImages()).filter((f) => f.format === "JPEG");
    const report: string[] = [];
    let checked = 0;
    for (const f of jpegs) {
      const img = await decodeImage(await fixtureBytes(f.file), { maxPixels: 50_000_000 });
      const short = Math.min(f.width, f.height);
      const r = [8, 4, 2].find((k) => Math.ceil(short / k) >= 512) ?? 1;
      expect([f.file, img.channels, img.width, img.height]).toEqual([
        f.file,
        1,
        Math.ceil(f.width / r),
        Math.ceil(f.height / r),
      ]);
      const { hash } = pdqHasher().hash(img);
      const d = hamming(hash, f.fullresHex);
      report.push(`${f.file.split("/").pop()} 1/${r}: ${d}`);
      if (f.fullresQuality >= 80 && short >= 512) {
        checked++;
        expect(d, f.file).toBeLessThanOrEqual(8);
      }
    }
    expect(checked).toBe(17);
    console.log(`scaled JPEG PDQ distance to fullres_hex: ${report.join(", ")}`);
  }, 60_000);

  it("gives libjpeg's grey levels at full scale (greyscale, within 1 level: float vs integer IDCT)", async () => {
    for (const sampling of [[[1, 1]], [[2, 2]]]) {
      const bytes = encodeTestJpeg({
        width: 75,
        height: 53,
        components: planes(75, 53, sampling),
        quality: 90,
      });
      const ours = await decodeJpegScaled(bytes, { shortSide: 0 });
      const ref = await decodeImage(bytes, { maxPixels: 1e6, fullResolution: true });
      expect([ours.width, ours.height, ref.channels]).toEqual([75, 53, 1]);
      let max = 0;
      for (let i = 0; i < 75 * 53; i++) max = Math.max(max, Math.abs(ours.pixels[i]! - ref.pixels[i]!));
      expect(max).toBeLessThanOrEqual(1);
    }
  }, 60_000);

  it("takes the luma of YCbCr files from Y alone, matching libjpeg's RGB through PDQ's luma", async () => {
    // A photo fixture at scale 1/1 (shorter side 1004 < 1024): Y vs 0.299 R + 0.587 G + 0.114 B.
    const bytes = await fixtureBytes("pdq/images/reg-test-input/dih/bridge-1-original.jpg");
    const ours = await decodeJpegScaled(bytes);
    const ref = await decodeImage(bytes, { maxPixels: 1e8, fullResolution: true });
    expect([ours.width, ours.height]).toEqual([ref.width, ref.height]);
    let sum = 0;
    for (let i = 0; i < ours.width * ours.height; i++) {
      const p = ref.pixels.subarray(i * 4, i * 4 + 3);
      sum += Math.abs(0.299 * p[0]! + 0.587 * p[1]! + 0.114 * p[2]! - ours.pixels[i]!);
    }
    expect(sum / (ours.width * ours.height)).toBeLessThan(1.5);
  }, 60_000);

  it("renders 1/2, 1/4 and 1/8 close to the area average of the full decode, for every sampling", async () => {
    for (const sampling of SAMPLINGS) {
      const bytes = encodeTestJpeg({
        width: 83,
        height: 61,
        components: planes(83, 61, sampling),
        quality: 90,
      });
      const full = await decodeJpegScaled(bytes, { shortSide: 0 });
      const short = Math.min(full.width, full.height);
      for (const r of [2, 4, 8]) {
        const side = Math.ceil(short / r);
        const img = await decodeJpegScaled(bytes, { shortSide: side });
        const want = boxReduce(full, r);
        expect([img.width, img.height]).toEqual([Math.ceil(full.width / r), Math.ceil(full.height / r)]);
        let sum = 0;
        for (let i = 0; i < want.length; i++) sum += Math.abs(want[i]! - img.pixels[i]!);
        expect(sum / want.length, `${JSON.stringify(sampling)} 1/${r}`).toBeLessThan(3);
      }
    }
  }, 60_000);

  it("decodes progressive files in random valid scan orders exactly as their baseline twin, at every scale, with and without restarts", async () => {
    const rand = seeded(12);
    let files = 0;
    for (const sampling of SAMPLINGS) {
      const comps = planes(83, 61, sampling);
      for (const restartInterval of [0, 1, 5]) {
        const base = encodeTestJpeg({
          width: 83,
          height: 61,
          components: comps,
          quality: 85,
          restartInterval,
        });
        const separate = encodeTestJpeg({
          width: 83,
          height: 61,
          components: comps,
          quality: 85,
          restartInterval,
          separateScans: true,
        });
        const progs = [0, 1].map(() => {
          const scans = randomScript(comps.length, rand);
          return {
            scans,
            bytes: encodeTestJpeg({
              width: 83,
              height: 61,
              components: comps,
              quality: 85,
              restartInterval,
              scans,
            }),
          };
        });
        files += progs.length;
        for (const side of [0, 30, 15, 7]) {
          const want = await decodeJpegScaled(base, { shortSide: side });
          expect((await decodeJpegScaled(separate, { shortSide: side })).pixels).toEqual(want.pixels);
          for (const p of progs) {
            const got = await decodeJpegScaled(p.bytes, { shortSide: side });
            expect(got.pixels, JSON.stringify(p.scans)).toEqual(want.pixels);
          }
        }
      }
    }
    expect(files).toBe(SAMPLINGS.length * 3 * 2);
  }, 120_000);

  it("computes luma from every component for CMYK, YCCK and RGB files", async () => {
    // Stored Adobe CMYK is inverted ink: R = C' * K' / 255 (C', K' stored values).
    const inks = [
      [0, 0, 0, 0],
      [255, 0, 0, 0],
      [0, 255, 255, 0],
      [0, 0, 0, 128],
    ];
    const stored = (c: number, bx: number, by: number) => 255 - inks[by * 2 + bx]![c]!;
    for (const adobeTransform of [0, null]) {
      const img = await decodeJpegScaled(
        buildFlatJpeg({ width: 16, height: 16, components: 4, value: stored, adobeTransform }),
        { shortSide: 0 },
      );
      for (let b = 0; b < 4; b++) {
        const ink = inks[b]!;
        const rgb = [0, 1, 2].map((c) => ((255 - ink[c]!) * (255 - ink[3]!)) / 255);
        const want = 0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!;
        expect(Math.abs(img.pixels[(b >> 1) * 8 * 16 + (b & 1) * 8]! - want)).toBeLessThanOrEqual(1);
      }
    }
    // YCCK: Y=Cb=Cr flat grey levels with K' = 255 (no black) give the grey level; K' = 0 gives black.
    const ycck = await decodeJpegScaled(
      buildFlatJpeg({
        width: 16,
        height: 8,
        components: 4,
        value: (c, bx) => (c === 3 ? (bx === 0 ? 255 : 0) : c === 0 ? 200 : 128),
        adobeTransform: 2,
      }),
      { shortSide: 0 },
    );
    expect([ycck.pixels[0], ycck.pixels[8]]).toEqual([200, 0]);
    // RGB (Adobe transform 0, three components): luma of the three.
    const rgb = await decodeJpegScaled(
      buildFlatJpeg({
        width: 8,
        height: 8,
        components: 3,
        value: (c) => [200, 100, 50][c]!,
        adobeTransform: 0,
      }),
      { shortSide: 0 },
    );
    expect(rgb.pixels[0]).toBe(Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
  });

  it("refuses arithmetic coding, lossless, hierarchical and 12-bit frames as unsupported", async () => {
    const original = await fixtureBytes("pdq/images/reg-test-input/labelme-subset/q0122.jpg");
    for (const [offset, value] of [
      [1, 0xc9],
      [1, 0xca],
      [1, 0xc3],
      [1, 0xc5],
      [4, 12],
    ] as const) {
      const bytes = original.slice();
      bytes[sofOffset(bytes) + offset] = value;
      await expect(decodeJpegScaled(bytes), `${offset}:${value}`).rejects.toMatchObject({
        code: "unsupported",
      });
    }
  });

  it("refuses a file whose luma scan is missing (no pixels of an earlier image can show through)", async () => {
    const comps = planes(32, 32, SAMPLINGS[3]!);
    const whole = encodeTestJpeg({
      width: 32,
      height: 32,
      components: comps,
      quality: 90,
      separateScans: true,
    });
    const sos = [...whole.keys()].filter((i) => whole[i] === 0xff && whole[i + 1] === 0xda);
    expect(sos).toHaveLength(3);
    const withoutLuma = Uint8Array.from([...whole.subarray(0, sos[0]), ...whole.subarray(sos[1])]);
    await decodeJpegScaled(whole, { shortSide: 0 }); // the core's memory now holds this image's luma
    await expect(decodeJpegScaled(withoutLuma, { shortSide: 0 })).rejects.toMatchObject({ code: "corrupt" });
  });

  it("refuses coded data that ends early even when EOI is present, and restart markers out of order", async () => {
    const comps = planes(64, 64, [[1, 1]]);
    const whole = encodeTestJpeg({ width: 64, height: 64, components: comps, quality: 90 });
    const cut = Uint8Array.from([...whole.subarray(0, whole.length - 200), 0xff, 0xd9]);
    await expect(decodeJpegScaled(cut)).rejects.toMatchObject({ code: "truncated" });
    const withRst = encodeTestJpeg({
      width: 64,
      height: 64,
      components: comps,
      quality: 90,
      restartInterval: 2,
    });
    const rst = withRst.findIndex((b, i) => b === 0xff && withRst[i + 1] === 0xd1);
    const swapped = withRst.slice();
    swapped[rst + 1] = 0xd3;
    await expect(decodeJpegScaled(swapped)).rejects.toMatchObject({ code: "corrupt" });
    await expect(decodeJpegScaled(withRst)).resolves.toMatchObject({ width: 64, height: 64 });
  });
});
