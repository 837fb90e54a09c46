/**
 * AVIF decoding for PDQ (issue 12; hashgate's dav1d build, src/image/avif.ts): the header read
 * before decoding, the memory reserved from it, the hash of an AVIF against the hash of the same
 * pixels as PNG, every depth and chroma layout and the colr box's colour description against
 * libavif's own full decode (test-only reference), grids, and cut or damaged files refused with
 * an ImageDecodeError. Test images are encoded here from benign fixture photos
 * (../shared/fixtures/pdq) and generated patterns.
 */
import { describe, expect, it } from "vitest";
import { av1MaxFrame } from "../../src/image/av1-sequence-header.ts";
import { avifDecodeBytes } from "../../src/image/avif.ts";
import { readAvifHeader } from "../../src/image/avif-header.ts";
import { readAvifImage } from "../../src/image/avif-items.ts";
import { decodeImage } from "../../src/image/decode.ts";
import { recognise } from "../../src/image/recognise.ts";
import { imageDimensions, sniffType } from "../../src/image/sniff.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { pdqHasher } from "../../src/pdq/worker.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { hamming } from "../helpers/pdq-distance.ts";
import { rng } from "../helpers/random.ts";
import { boxAt, buildGridAvif, mdatPayload, withConfigObus, withIspe } from "./avif-boxes.ts";
import { decodeAvifReference, encodeAvif, testPattern } from "./encoders.ts";
import { encodePng } from "./png-encoder.ts";

const GATE = { maxPixels: 250_000_000 };

/** PDQ's luminance of RGBA pixels, rounded: what the gate's AVIF decode gives per pixel. */
function lumaOf(rgba: Uint8Array): Uint8Array {
  const out = new Uint8Array(rgba.length / 4);
  for (let i = 0; i < out.length; i++)
    out[i] = Math.round(0.299 * rgba[i * 4]! + 0.587 * rgba[i * 4 + 1]! + 0.114 * rgba[i * 4 + 2]!);
  return out;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

/** A fixture photo's RGBA at full resolution. */
async function photo(file: string) {
  const img = await decodeImage(await fixtureBytes(file), { maxPixels: 1e8, fullResolution: true });
  if (img.channels !== 4) throw new Error(`${file}: ${img.channels} channels`);
  return img;
}

describe("AVIF header", () => {
  it("is sniffed as an image the gate hashes, with its size, depth, chroma and alpha from the boxes", async () => {
    const px = testPattern(48, 32, true);
    const plain = await encodeAvif(testPattern(48, 32), 48, 32);
    expect(sniffType(plain)).toBe("image/avif");
    expect(recognise(plain.subarray(0, 512))).toEqual({ kind: "image", type: "image/avif" });
    expect(imageDimensions(plain)).toEqual({ format: "avif", width: 48, height: 32 });
    expect(readAvifHeader(plain)).toMatchObject({
      ok: true,
      depth: 8,
      alpha: false,
      chroma: 0.5,
      grid: false,
    });
    const deep = readAvifHeader(await encodeAvif(px, 48, 32, { depth: 12, chroma: "444" }));
    expect(deep).toMatchObject({ ok: true, width: 48, height: 32, depth: 12, alpha: true, chroma: 2 });
    const ten = readAvifHeader(await encodeAvif(testPattern(48, 32), 48, 32, { depth: 10, chroma: "422" }));
    expect(ten).toMatchObject({ depth: 10, alpha: false, chroma: 1 });
  });

  it("reserves the measured peak from the header before decoding, and is refused when the budget cannot hold it", async () => {
    const avif = await encodeAvif(testPattern(64, 40), 64, 40);
    const asked: number[] = [];
    await decodeImage(avif, { ...GATE, reserve: (n) => asked.push(n) });
    const data = readAvifImage(avif).tiles[0]!.data.length;
    const shape = { width: 64, height: 40, tileWidth: 64, tileHeight: 40, depth: 8, chroma: 0.5 };
    expect(asked).toEqual([avifDecodeBytes({ ...shape, inputBytes: data })]);
    // 8-bit 4:2:0 at 12 MP: dav1d's planes and state, not full-size RGBA (bench/image-memory.ts).
    const phone = { width: 4000, height: 3000, tileWidth: 4000, tileHeight: 3000, depth: 8, chroma: 0.5 };
    expect(avifDecodeBytes({ ...phone, inputBytes: 4e6 })).toBeLessThan(64 * 2 ** 20);
    const huge = withIspe(avif, 40_000, 30_000);
    let decoded = false;
    const refuse = (n: number) => {
      throw new ImageDecodeError("too-large", `${n} bytes`);
    };
    const err = await decodeImage(huge, { ...GATE, reserve: refuse })
      .then(() => (decoded = true))
      .catch((e: unknown) => e);
    expect(decoded).toBe(false);
    expect(err).toMatchObject({ code: "too-large" });
    await expect(decodeImage(huge, { maxPixels: 1e8 })).rejects.toMatchObject({ code: "too-large" });
  });
});

describe("AVIF decoding", () => {
  it("hashes like the same pixels given as PNG, within 12 bits (photos as the gate decodes them; measured 0-10)", {
    timeout: 180_000,
  }, async () => {
    // Fixture photos of PDQ quality 100 (q0003/q0004 are 3 and 4: their hashes mean nothing).
    const files = [
      "pdq/images/reg-test-input/dih/bridge-1-original.jpg",
      "pdq/images/reg-test-input/labelme-subset/q0122.jpg",
      "pdq/images/reg-test-input/labelme-subset/q0291.jpg",
      "pdq/images/reg-test-input/labelme-subset/q0746.jpg",
      "pdq/images/reg-test-input/pen-and-coaster.png",
    ];
    const distances: number[] = [];
    for (const file of files) {
      const img = await photo(file);
      const samples = Array.from(img.pixels.filter((_, i) => i % 4 !== 3));
      const png = await encodePng({ width: img.width, height: img.height, colorType: 2, depth: 8, samples });
      const avif = await encodeAvif(img.pixels, img.width, img.height, { quality: 80 });
      const fromPng = pdqHasher().hash(await decodeImage(png, GATE)).hash;
      const fromAvif = pdqHasher().hash(await decodeImage(avif, GATE)).hash;
      distances.push(hamming(fromPng, fromAvif));
    }
    console.log(`AVIF (quality 80) vs PNG of the same pixels, PDQ distance: ${distances.join(" ")}`);
    for (const d of distances) expect(d).toBeLessThanOrEqual(12);
  });

  it("decodes every depth and chroma layout to the luminance of its colours (alpha not composited), as libavif's full decode, reduced to the PDQ size", {
    timeout: 120_000,
  }, async () => {
    const rgba = testPattern(96, 64, true);
    const want = lumaOf(rgba);
    const layouts = [
      { depth: 8, chroma: "420" },
      { depth: 8, chroma: "422" },
      { depth: 8, chroma: "444" },
      { depth: 8, chroma: "400" },
      { depth: 10, chroma: "420" },
      { depth: 10, chroma: "444" },
      { depth: 12, chroma: "444" },
      { depth: 12, chroma: "400" },
    ] as const;
    for (const opts of layouts) {
      const avif = await encodeAvif(rgba, 96, 64, { ...opts, quality: 95 });
      const img = await decodeImage(avif, GATE);
      expect([img.width, img.height, img.channels]).toEqual([96, 64, 1]);
      // Close to the source, and closer still to libavif's own decode of the same file (it
      // interpolates chroma where dav1d's glue takes the co-sited sample).
      expect(meanAbsDiff(img.pixels, want), JSON.stringify(opts)).toBeLessThan(4);
      const reference = lumaOf((await decodeAvifReference(avif)).rgba);
      expect(meanAbsDiff(img.pixels, reference), JSON.stringify(opts)).toBeLessThan(1.5);
    }
    const big = await encodeAvif(testPattern(1100, 1030), 1100, 1030, { quality: 60 });
    const reduced = await decodeImage(big, GATE);
    expect([reduced.width, reduced.height, reduced.channels]).toEqual([550, 515, 1]);
    const full = await decodeImage(big, { ...GATE, fullResolution: true });
    expect([full.width, full.height]).toEqual([1100, 1030]);
    // The reduced image is the 2×2 area average of the full one (the same conversion).
    let worst = 0;
    for (let y = 0; y < 515; y++)
      for (let x = 0; x < 550; x++) {
        const at = (dx: number, dy: number) => full.pixels[(2 * y + dy) * 1100 + 2 * x + dx]!;
        const mean = (at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1)) / 4;
        worst = Math.max(worst, Math.abs(reduced.pixels[y * 550 + x]! - mean));
      }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it("converts by the colr box's matrix coefficients and range, as libavif does", {
    timeout: 60_000,
  }, async () => {
    const rgba = testPattern(64, 48);
    // Quality below 100: a lossless file would be coded as GBR (identity) already.
    const avif = await encodeAvif(rgba, 64, 48, { quality: 95, chroma: "444" });
    const colr = boxAt(avif, "colr") + 4;
    expect(String.fromCharCode(...avif.subarray(colr, colr + 4))).toBe("nclx");
    const plain = await decodeImage(avif, GATE);
    const edits: [string, (b: Uint8Array) => void][] = [
      ["limited range", (b) => (b[colr + 10] = b[colr + 10]! & 0x7f)],
      ["BT.709", (b) => (b[colr + 9] = 1)],
      ["BT.2020", (b) => (b[colr + 9] = 9)],
      ["identity (GBR)", (b) => (b[colr + 9] = 0)],
      ["YCgCo", (b) => (b[colr + 9] = 8)],
    ];
    for (const [name, edit] of edits) {
      const bytes = avif.slice();
      edit(bytes);
      const img = await decodeImage(bytes, GATE);
      const reference = lumaOf((await decodeAvifReference(bytes)).rgba);
      expect(meanAbsDiff(img.pixels, reference), name).toBeLessThan(1);
      expect(meanAbsDiff(img.pixels, plain.pixels), `${name} changes the picture`).toBeGreaterThan(1);
    }
  });

  it("decodes a grid (tiled) AVIF whole: each tile in its place, output cropped to the grid's size, reduced across tile edges", {
    timeout: 60_000,
  }, async () => {
    const tile = (shade: number, side: number) => {
      const px = new Uint8Array(side * side * 4).fill(255);
      for (let i = 0; i < px.length; i += 4) px.fill(shade, i, i + 3);
      return encodeAvif(px, side, side, { quality: 90 });
    };
    const shades = [30, 220, 120, 180];
    const small = await Promise.all(shades.map((s) => tile(s, 64)));
    const grid = buildGridAvif(small, 2, 2, 120, 100);
    // Tiles that leave part of the canvas uncovered, or a whole column outside it: refused.
    for (const [w, h] of [
      [129, 100],
      [64, 100],
    ])
      await expect(decodeImage(buildGridAvif(small, 2, 2, w!, h!), GATE), `${w}x${h}`).rejects.toMatchObject({
        code: "corrupt",
        message: expect.stringMatching(/tiles do not fit/),
      });
    expect(readAvifHeader(grid)).toMatchObject({ ok: true, width: 120, height: 100, grid: true });
    const img = await decodeImage(grid, GATE);
    expect([img.width, img.height, img.channels]).toEqual([120, 100, 1]);
    const at = (x: number, y: number) => img.pixels[y * 120 + x]!;
    const near = (v: number, want: number) => Math.abs(v - want) <= 3;
    expect([at(10, 10), at(110, 10), at(10, 90), at(110, 90)].map((v, i) => near(v, shades[i]!))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    // 2×2 tiles of 600 cropped to 1100×1100: reduced by 2 to 550×550, cells meeting at x = y = 300.
    const large = buildGridAvif(await Promise.all(shades.map((s) => tile(s, 600))), 2, 2, 1100, 1100);
    const reduced = await decodeImage(large, GATE);
    expect([reduced.width, reduced.height, reduced.channels]).toEqual([550, 550, 1]);
    const cell = (x: number, y: number) => reduced.pixels[y * 550 + x]!;
    for (const [i, [x, y]] of [
      [150, 150],
      [299, 10],
      [300, 10],
      [10, 299],
      [549, 549],
    ].entries()) {
      const want = shades[(y! >= 300 ? 2 : 0) + (x! >= 300 ? 1 : 0)]!;
      expect(Math.abs(cell(x!, y!) - want), `cell ${i}`).toBeLessThanOrEqual(3);
    }
  });

  it("refuses grid tiles that share bytes (each would be copied and decoded again) before reserving or decoding", {
    timeout: 60_000,
  }, async () => {
    const tiles = await Promise.all([1, 2, 3, 4].map(() => encodeAvif(testPattern(64, 64), 64, 64)));
    const grid = buildGridAvif(tiles, 2, 2, 128, 128);
    // Every tile's extent (iloc version 0, 4-byte fields) made the whole run of tile data.
    const iloc = boxAt(grid, "iloc") + 4;
    const view = new DataView(grid.buffer);
    const extent = (i: number) => iloc + 8 + i * 14 + 6;
    const first = view.getUint32(extent(0));
    const all = [0, 1, 2, 3].reduce((n, i) => n + view.getUint32(extent(i) + 4), 0);
    for (let i = 0; i < 4; i++) {
      view.setUint32(extent(i), first);
      view.setUint32(extent(i) + 4, all);
    }
    const asked: number[] = [];
    await expect(decodeImage(grid, { ...GATE, reserve: (n) => asked.push(n) })).rejects.toMatchObject({
      code: "corrupt",
      message: expect.stringMatching(/tiles hold more data than the file/),
    });
    expect(asked).toEqual([]);
  });

  it("refuses every cut of a file and damaged boxes with an ImageDecodeError", {
    timeout: 120_000,
  }, async () => {
    const avif = await encodeAvif(testPattern(80, 60), 80, 60, { quality: 70 });
    for (let cut = 0; cut < avif.length; cut += Math.max(1, avif.length >> 6)) {
      const err = await decodeImage(avif.subarray(0, cut), GATE).catch((e: unknown) => e);
      expect(err, `cut at ${cut}`).toBeInstanceOf(ImageDecodeError);
      if (cut >= 32) expect((err as ImageDecodeError).code, `cut at ${cut}`).toBe("truncated");
    }
    // ispe that disagrees with the AV1 frame: smaller is refused before decoding (sequence
    // header), larger after (dav1d's picture is checked against it: never other dimensions).
    await expect(decodeImage(withIspe(avif, 40, 30), GATE)).rejects.toMatchObject({ code: "corrupt" });
    await expect(decodeImage(withIspe(avif, 100, 80), GATE)).rejects.toMatchObject({
      code: "corrupt",
      message: expect.stringMatching(/decoded to 80x60, its ispe says 100x80/),
    });
    await expect(decodeImage(withIspe(avif, 0, 60), GATE)).rejects.toMatchObject({ code: "corrupt" });
    // The item's data cut inside its last OBU (iloc's extent length shortened): refused before
    // the decoder runs.
    const iloc = boxAt(avif, "iloc") + 4;
    expect(avif[iloc + 4]).toBe(0x44); // 4-byte offsets and lengths
    const short = avif.slice();
    const lengthAt = new DataView(short.buffer);
    lengthAt.setUint32(iloc + 18, lengthAt.getUint32(iloc + 18) - 10);
    await expect(decodeImage(short, GATE)).rejects.toMatchObject({
      code: "truncated",
      message: expect.stringMatching(/AV1 OBU runs past its data/),
    });
    // The frame OBU turned into a tile group without a frame header, or into a frame header
    // without tiles: dav1d refuses the first and gives no picture for the second, both corrupt.
    const data = boxAt(avif, "mdat") + 4;
    const frameObu = data + 2 + 2 + avif[data + 3]!; // temporal delimiter, sequence header, frame
    expect(avif[frameObu]).toBe(0x32);
    for (const [obuHeader, message] of [
      [0x22, /invalid AV1 data/],
      [0x1a, /gave no picture/],
    ] as const) {
      const bad = avif.slice();
      bad[frameObu] = obuHeader;
      await expect(decodeImage(bad, GATE), `OBU header ${obuHeader}`).rejects.toMatchObject({
        code: "corrupt",
        message: expect.stringMatching(message),
      });
    }
    // Its coded data overwritten: the arithmetic decoder reads any bytes, so an image or an error.
    for (const fill of [0x00, 0xff, 0x5a]) {
      const bad = avif.slice();
      bad.fill(fill, frameObu + 4);
      const out = await decodeImage(bad, GATE).catch((e: unknown) => e);
      if (out instanceof Error) expect(out).toBeInstanceOf(ImageDecodeError);
      else expect(out).toMatchObject({ width: 80, height: 60, channels: 1 });
    }
    // Random byte damage anywhere: an ImageDecodeError, or an image of the header's size.
    const random = rng(12);
    for (let round = 0; round < 40; round++) {
      const bad = avif.slice();
      for (let k = 0; k < 4; k++) bad[Math.floor(random() * bad.length)] = Math.floor(random() * 256);
      const out = await decodeImage(bad, GATE).catch((e: unknown) => e);
      if (out instanceof Error) expect(out, `round ${round}`).toBeInstanceOf(ImageDecodeError);
      else expect(out).toMatchObject({ width: 80, height: 60, channels: 1 });
    }
  });
});

describe("AVIF AV1 data damaged", () => {
  it("bytes changed inside the AV1 data of every layout give an ImageDecodeError or an image of the header's size, and the decoder keeps working", {
    timeout: 180_000,
  }, async () => {
    const random = rng(31);
    const layouts = [
      { depth: 8, chroma: "420" },
      { depth: 10, chroma: "444" },
      { depth: 12, chroma: "400" },
    ] as const;
    const outcomes = { image: 0, error: 0 };
    for (const opts of layouts) {
      const avif = await encodeAvif(testPattern(72, 56), 72, 56, { ...opts, quality: 70 });
      const data = boxAt(avif, "mdat") + 4;
      for (let round = 0; round < 60; round++) {
        const bad = avif.slice();
        for (let k = 0; k < 1 + (round % 6); k++) {
          const at = data + Math.floor(random() * (bad.length - data));
          bad[at] = Math.floor(random() * 256);
        }
        const out = await decodeImage(bad, GATE).catch((e: unknown) => e);
        if (out instanceof Error) {
          expect(out, `${JSON.stringify(opts)} round ${round}`).toBeInstanceOf(ImageDecodeError);
          outcomes.error++;
        } else {
          expect(out, `${JSON.stringify(opts)} round ${round}`).toMatchObject({
            width: 72,
            height: 56,
            channels: 1,
          });
          outcomes.image++;
        }
      }
      // The undamaged file still decodes (a trapped instance was replaced).
      expect(await decodeImage(avif, GATE)).toMatchObject({ width: 72, height: 56 });
    }
    expect(outcomes.image).toBeGreaterThan(0);
    expect(outcomes.error).toBeGreaterThan(0);
  });
});

/** Bits written MSB first, as the AV1 specification's f(n) reads them (test data only). */
function bitWriter() {
  const bits: number[] = [];
  const f = (n: number, v: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push(Math.floor(v / 2 ** i) % 2);
  };
  const uvlc = (v: number) => {
    const lz = Math.floor(Math.log2(v + 1));
    f(lz, 0);
    f(1, 1);
    f(lz, v + 1 - 2 ** lz);
  };
  const bytes = () => {
    while (bits.length % 8) bits.push(0);
    return Array.from({ length: bits.length / 8 }, (_, i) =>
      Number.parseInt(bits.slice(i * 8, i * 8 + 8).join(""), 2),
    );
  };
  return { f, uvlc, bytes };
}

/** A sequence header OBU (spec 5.5) with every optional field before the max frame size present. */
function fullSequenceHeader(maxWidth: number, maxHeight: number): number[] {
  const w = bitWriter();
  w.f(3, 0); // seq_profile
  w.f(1, 0); // still_picture
  w.f(1, 0); // reduced_still_picture_header
  w.f(1, 1); // timing_info_present_flag
  w.f(32, 1001);
  w.f(32, 60000);
  w.f(1, 1); // equal_picture_interval
  w.uvlc(5); // num_ticks_per_picture_minus_1
  w.f(1, 1); // decoder_model_info_present_flag
  w.f(5, 9); // buffer_delay_length_minus_1: 10-bit delays below
  w.f(32, 90000);
  w.f(5, 31);
  w.f(5, 22);
  w.f(1, 1); // initial_display_delay_present_flag
  w.f(5, 1); // operating_points_cnt_minus_1: two operating points
  w.f(12, 0x103);
  w.f(5, 12); // seq_level_idx > 7: seq_tier follows
  w.f(1, 1);
  w.f(1, 1); // decoder_model_present_for_this_op
  w.f(10, 777);
  w.f(10, 555);
  w.f(1, 0);
  w.f(1, 1); // initial_display_delay_present_for_this_op
  w.f(4, 9);
  w.f(12, 0x101);
  w.f(5, 3); // seq_level_idx ≤ 7: no tier
  w.f(1, 0);
  w.f(1, 0);
  w.f(4, 11); // frame_width_bits_minus_1
  w.f(4, 10); // frame_height_bits_minus_1
  w.f(12, maxWidth - 1);
  w.f(11, maxHeight - 1);
  w.f(7, 0x55); // the fields that follow (not read)
  const payload = w.bytes();
  return [0x0a, payload.length, ...payload];
}

describe("AVIF AV1 sequence header against ispe", () => {
  it("reads the max frame size of a real encoded AVIF (equal to its ispe) and of a header with every optional field", async () => {
    const avif = await encodeAvif(testPattern(640, 480), 640, 480, { quality: 50 });
    expect(av1MaxFrame([mdatPayload(avif)])).toEqual({ ok: true, maxWidth: 640, maxHeight: 480 });
    expect(readAvifHeader(avif)).toMatchObject({
      ok: true,
      width: 640,
      height: 480,
      decodeWidth: 640,
      decodeHeight: 480,
    });
    expect(av1MaxFrame([Uint8Array.from(fullSequenceHeader(3000, 1700))])).toEqual({
      ok: true,
      maxWidth: 3000,
      maxHeight: 1700,
    });
    // The same header in av1C's configOBUs is read alongside the item's own.
    const withCopy = withConfigObus(avif, fullSequenceHeader(640, 480));
    expect(readAvifHeader(withCopy)).toMatchObject({ ok: true, decodeWidth: 640, decodeHeight: 480 });
    const img = await decodeImage(withCopy, { ...GATE, fullResolution: true });
    expect([img.width, img.height]).toEqual([640, 480]);
  });

  it("refuses an ispe smaller than the coded AV1 frame before the decoder runs (nothing reserved, nothing decoded)", {
    timeout: 60_000,
  }, async () => {
    const avif = await encodeAvif(testPattern(640, 480), 640, 480, { quality: 50 });
    const grid = buildGridAvif(
      await Promise.all([1, 2, 3, 4].map(() => encodeAvif(testPattern(64, 64), 64, 64))).then((tiles) => [
        withIspe(tiles[0]!, 32, 32), // its ispe is copied as the grid's tile size
        ...tiles.slice(1),
      ]),
      2,
      2,
      60,
      60,
    );
    const lying = [
      withIspe(avif, 64, 48), // the decoder would build 640x480 on a 64x48 reservation
      withIspe(avif, 640, 479),
      withConfigObus(withIspe(avif, 64, 48), fullSequenceHeader(64, 48)), // a truthful-looking av1C copy
      withConfigObus(avif, fullSequenceHeader(4000, 3000)), // av1C allows more than ispe
      grid,
    ];
    for (const [i, bytes] of lying.entries()) {
      const asked: number[] = [];
      const err = await decodeImage(bytes, { ...GATE, reserve: (n) => asked.push(n) }).catch(
        (e: unknown) => e,
      );
      expect(err, `file ${i}`).toBeInstanceOf(ImageDecodeError);
      expect(err, `file ${i}`).toMatchObject({
        code: "corrupt",
        message: expect.stringMatching(/exceed its ispe/),
      });
      expect(asked, `file ${i}: the reservation (made just before the decoder runs) was asked for`).toEqual(
        [],
      );
    }
  });

  it("refuses a cut sequence header, a cut OBU size and an AV1 item without a sequence header with a clear ImageDecodeError", async () => {
    const avif = await encodeAvif(testPattern(64, 40), 64, 40);
    const full = fullSequenceHeader(64, 40);
    const payload = full.slice(2);
    for (let cut = 0; cut < payload.length - 1; cut++) {
      const bytes = withConfigObus(avif, [0x0a, cut, ...payload.slice(0, cut)]);
      const err = await decodeImage(bytes, GATE).catch((e: unknown) => e);
      expect(err, `cut at ${cut}`).toBeInstanceOf(ImageDecodeError);
      expect(err, `cut at ${cut}`).toMatchObject({
        code: "truncated",
        message: expect.stringMatching(/AV1 sequence header is cut short/),
      });
    }
    await expect(decodeImage(withConfigObus(avif, [0x0a, 0x80]), GATE)).rejects.toMatchObject({
      code: "truncated",
      message: expect.stringMatching(/AV1 OBU size is cut short/),
    });
    // The item's own sequence header (after its temporal delimiter) turned into padding (type 15).
    const data = boxAt(avif, "mdat") + 4;
    expect([avif[data], avif[data + 2]]).toEqual([0x12, 0x0a]);
    const noHeader = avif.slice();
    noHeader[data + 2] = 0x7a;
    await expect(decodeImage(noHeader, GATE)).rejects.toMatchObject({
      code: "corrupt",
      message: expect.stringMatching(/no sequence header/),
    });
  });

  it("random bytes in av1C never raise anything but an ImageDecodeError", { timeout: 120_000 }, async () => {
    const avif = await encodeAvif(testPattern(64, 40), 64, 40);
    const random = rng(5);
    const byte = () => Math.floor(random() * 256);
    let decoded = 0;
    for (let round = 0; round < 300; round++) {
      const length = Math.floor(random() * 40);
      const obus = Array.from({ length }, byte);
      // Half the rounds start like a sequence header OBU, to reach its fields.
      if (round % 2 && length > 2) obus.splice(0, 2, 0x0a, Math.floor(random() * length));
      const bytes = withConfigObus(avif, obus);
      const header = readAvifHeader(bytes);
      if (!header.ok && round % 10) continue; // a refusal by the header: decode one in ten
      const out = await decodeImage(bytes, GATE).catch((e: unknown) => e);
      if (out instanceof Error) expect(out, `round ${round}`).toBeInstanceOf(ImageDecodeError);
      else {
        decoded++;
        expect(out, `round ${round}`).toMatchObject({ width: 64, height: 40, channels: 1 });
      }
    }
    expect(decoded).toBeGreaterThan(0);
  });
});
