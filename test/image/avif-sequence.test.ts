/**
 * AVIF image sequences (`avis`, issue 12): the track parser (avif-tracks.ts) on a sequence written
 * by libavif's avifenc (avis-fixture.ts: inter frames, an alpha track) and on sequences assembled
 * here from jSquash-encoded stills in every table layout; the AV1 sequence headers of the track
 * checked against its declared size before any decoder runs; hostile tables refused with a clear
 * ImageDecodeError in bounded time. Test images are generated benign patterns.
 */
import { describe, expect, it } from "vitest";
import { avifDecodeBytes } from "../../src/image/avif.ts";
import { readAvifHeader } from "../../src/image/avif-header.ts";
import { trackDecodeBytes } from "../../src/image/avif-sequence.ts";
import { MAX_TRACK_SAMPLES } from "../../src/image/avif-tracks.ts";
import { decodeImage, withDecodedFrames } from "../../src/image/decode.ts";
import { FRAMES_TOTAL, isFrameHashed } from "../../src/image/frames.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { rng } from "../helpers/random.ts";
import { boxAt, buildAvifSequence, mdatPayload, type SequenceLayout } from "./avif-boxes.ts";
import { AVIS_FIXTURE_BASE64 } from "./avis-fixture.ts";
import { encodeAvif, testPattern } from "./encoders.ts";

const GATE = { maxPixels: 250_000_000 };

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Stills of the same size with different content: each a key frame with its sequence header. */
async function stills(width: number, height: number, count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const px = testPattern(width, height);
    for (let p = 0; p < px.length; p += 4) px[p] = (px[p]! + i * 70) & 255;
    out.push(await encodeAvif(px, width, height, { quality: 50 }));
  }
  return out;
}

/** Sets a big-endian u32 at `at`. */
function setU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value);
  return out;
}

/** The decode's reservations and outcome (an error, or the image's size). */
async function tryDecode(bytes: Uint8Array) {
  const asked: number[] = [];
  const out = await decodeImage(bytes, { ...GATE, reserve: (n) => asked.push(n) }).catch((e: unknown) => e);
  return { asked, out };
}

describe("AVIF sequence tracks", () => {
  it("lists the samples, sync flags, durations and alpha track of a sequence avifenc wrote", () => {
    const file = fromBase64(AVIS_FIXTURE_BASE64);
    const header = readAvifHeader(file);
    if (!header.ok) throw new Error(header.detail);
    expect(header).toMatchObject({ width: 64, height: 48, depth: 8, alpha: true, sequence: true });
    expect([header.decodeWidth, header.decodeHeight]).toEqual([64, 48]);
    const { color, alpha } = header.tracks!;
    expect(color).toMatchObject({ id: 1, handler: "pict", codedWidth: 64, codedHeight: 48, auxFor: null });
    expect(color).toMatchObject({ timescale: 10, declaredSamples: 3, maxFrameWidth: 64, maxFrameHeight: 48 });
    expect(color.samples.map((s) => [s.sync, s.duration])).toEqual([
      [true, 1],
      [false, 1],
      [false, 1],
    ]);
    expect(alpha).toMatchObject({ id: 2, handler: "auxv", auxFor: 1, declaredSamples: 3, chroma: 0 });
    // Samples lie back to back inside the mdat, and each starts with an OBU (type 1..8, no forbidden bit).
    const mdat = boxAt(file, "mdat") + 4;
    const end = new DataView(file.buffer).getUint32(mdat - 8) + mdat - 8;
    for (const s of [...color.samples, ...alpha!.samples]) {
      expect(s.offset).toBeGreaterThanOrEqual(mdat);
      expect(s.offset + s.size).toBeLessThanOrEqual(end);
      expect(file[s.offset]! & 0x80).toBe(0);
    }
    expect(color.samples[1]!.offset).toBe(color.samples[0]!.offset + color.samples[0]!.size);
  });

  it("decodes every frame of the avifenc sequence (inter frames) close to the pattern it was made from", async () => {
    const file = fromBase64(AVIS_FIXTURE_BASE64);
    // avis-fixture.sh's pattern, frame i, as the luminance PDQ hashes (the decoder's output;
    // alpha aside: PDQ ignores it and it is not decoded).
    const luma = (x: number, y: number, i: number) =>
      0.299 * ((x * 4 + i * 60) & 255) +
      0.587 * ((y * 5) & 255) +
      0.114 * ((128 + Math.trunc(100 * Math.sin((x + y + i * 7) / 5))) & 255);
    const { frames, error } = await withDecodedFrames(file, GATE, (img, index) => {
      let diff = 0;
      for (let y = 0; y < img.height; y++)
        for (let x = 0; x < img.width; x++)
          diff += Math.abs(img.pixels[y * img.width + x]! - luma(x, y, index));
      return { size: [img.width, img.height, img.channels], diff: diff / (img.width * img.height) };
    });
    expect(error).toBeUndefined();
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2]);
    for (const f of frames) {
      expect(f.value.size).toEqual([64, 48, 1]);
      expect(f.value.diff, `frame ${f.index}`).toBeLessThan(12);
    }
  });

  it("hashes the first FRAMES_ALL frames of a long sequence, then samples, as animations are", {
    timeout: 60_000,
  }, async () => {
    const two = await stills(16, 16, 2);
    const total = FRAMES_TOTAL + 20;
    const file = buildAvifSequence(Array.from({ length: total }, (_, i) => two[i % 2]!));
    const { frames, error } = await withDecodedFrames(file, GATE, (img) => img.pixels[0]!);
    expect(error).toBeUndefined();
    const hashed = Array.from({ length: total }, (_, i) => i).filter((i) => isFrameHashed(i, total));
    expect(frames.map((f) => f.index)).toEqual(hashed);
    expect(hashed.length).toBe(FRAMES_TOTAL);
    // Frames alternate between the two stills: each decoded frame is its own sample's picture.
    expect(new Set(frames.filter((f) => f.index % 2 === 0).map((f) => f.value)).size).toBe(1);
    expect(frames[0]!.value).not.toBe(frames[1]!.value);
  });

  it("finds the stills' AV1 data as samples in every chunk layout (stco, co64, 1-3 per chunk, stss)", {
    timeout: 60_000,
  }, async () => {
    const frames = await stills(64, 40, 3);
    const layouts: SequenceLayout[] = [{}, { perChunk: 1 }, { perChunk: 2, co64: true }, { sync: [1, 3] }];
    for (const layout of layouts) {
      const file = buildAvifSequence(frames, layout);
      const header = readAvifHeader(file);
      if (!header.ok) throw new Error(`${JSON.stringify(layout)}: ${header.detail}`);
      const samples = header.tracks!.color.samples;
      expect(samples.map((s) => file.subarray(s.offset, s.offset + s.size))).toEqual(frames.map(mdatPayload));
      expect(samples.map((s) => s.sync)).toEqual(layout.sync ? [true, false, true] : [true, true, true]);
    }
    // libavif decodes the assembled track: the container is what a decoder reads.
    const img = await decodeImage(buildAvifSequence(frames, { perChunk: 2 }), GATE);
    expect([img.width, img.height, img.channels]).toEqual([64, 40, 1]);
  });
});

describe("AVIF sequence: AV1 sequence headers against the track's declared size", () => {
  it("refuses a track declaring less than its AV1 frames before anything is reserved or decoded", {
    timeout: 60_000,
  }, async () => {
    const big = await stills(640, 480, 2);
    const small = await stills(64, 48, 1);
    const lying = [
      buildAvifSequence(big, { trackSize: [64, 48], entrySize: [64, 48] }), // both sizes lie
      buildAvifSequence(big, { entrySize: [64, 48] }), // the coded size lies
      buildAvifSequence(big, { trackSize: [640, 479] }), // the shown size lies by a row
      buildAvifSequence([small[0]!, big[1]!], { trackSize: [64, 48], entrySize: [64, 48] }), // frame 2 only
      buildAvifSequence([small[0]!, big[1]!], { item: small[0]!, trackSize: [64, 48], entrySize: [64, 48] }),
    ];
    for (const [i, bytes] of lying.entries()) {
      const { asked, out } = await tryDecode(bytes);
      expect(out, `file ${i}`).toBeInstanceOf(ImageDecodeError);
      expect(out, `file ${i}`).toMatchObject({
        code: "corrupt",
        message: expect.stringMatching(/AV1 frames up to 640x480 exceed its declared size/),
      });
      expect(asked, `file ${i}: nothing reserved, so the decoder never ran`).toEqual([]);
    }
  });

  it("refuses, after decoding, a frame smaller than the size the track declares (reserved for the larger)", {
    timeout: 60_000,
  }, async () => {
    const file = buildAvifSequence(await stills(320, 240, 2), {
      trackSize: [640, 480],
      entrySize: [640, 480],
    });
    const { asked, out } = await tryDecode(file);
    expect(out).toMatchObject({ code: "corrupt", message: expect.stringMatching(/frame 1 is 320x240/) });
    const header = readAvifHeader(file);
    if (!header.ok) throw new Error(header.detail);
    expect(asked).toEqual([trackDecodeBytes(header.tracks!.color)]);
  });

  it("reserves for the track's frames when a small still item fronts a larger sequence", {
    timeout: 60_000,
  }, async () => {
    const [small] = await stills(64, 48, 1);
    const big = await stills(320, 240, 2);
    const file = buildAvifSequence(big, { item: small! });
    expect(readAvifHeader(file)).toMatchObject({ ok: true, width: 320, height: 240, sequence: true });
    const header = readAvifHeader(file);
    if (!header.ok) throw new Error(header.detail);
    const track = header.tracks!.color;
    const { asked, out } = await tryDecode(file);
    expect(asked).toEqual([trackDecodeBytes(track)]);
    const still = { width: 320, height: 240, tileWidth: 320, tileHeight: 240, depth: 8, chroma: 0.5 };
    expect(trackDecodeBytes(track)).toBeGreaterThan(avifDecodeBytes({ ...still, inputBytes: 0 }));
    expect(out).toMatchObject({ width: 320, height: 240 });
    // Frame by frame: the item (a picture of its own), then each frame of the track.
    const frames = await withDecodedFrames(file, GATE, (img, index) => [index, img.width, img.height]);
    expect(frames).toEqual({
      frames: [
        { index: 0, value: [0, 64, 48] },
        { index: 1, value: [1, 320, 240] },
        { index: 2, value: [2, 320, 240] },
      ],
    });
    // With `avif` as major brand libavif shows the item; the track is still checked and reserved for.
    const itemShown = readAvifHeader(buildAvifSequence(big, { item: small!, majorBrand: "avif" }));
    expect(itemShown).toMatchObject({ ok: true, width: 64, height: 48, sequence: false, decodeWidth: 320 });
  });
});

describe("AVIF sequence: hostile tables", () => {
  it("refuses counts beyond their boxes, disordered chunks, shared bytes and samples past the file", {
    timeout: 60_000,
  }, async () => {
    const frames = await stills(48, 32, 3);
    const file = buildAvifSequence(frames, { perChunk: 1 });
    const at = (type: string) => boxAt(file, type) + 4; // payload start of the (first) box
    const cases: [string, Uint8Array, string, RegExp][] = [
      ["stsz count", setU32(file, at("stsz") + 8, 1_000_000), "corrupt", /stsz lists 1000000 entries/],
      ["stco count", setU32(file, at("stco") + 4, 0xffffffff), "corrupt", /stco lists/],
      ["stsc count", setU32(file, at("stsc") + 4, 5000), "corrupt", /stsc lists/],
      ["stsc first chunk", setU32(file, at("stsc") + 8, 0), "corrupt", /stsc run 1 starts at chunk 0/],
      ["stco past file", setU32(file, at("stco") + 12, file.length - 4), "truncated", /past the end/],
      [
        "shared bytes",
        setU32(file, at("stco") + 12, new DataView(file.buffer).getUint32(at("stco") + 8)),
        "corrupt",
        /share bytes/,
      ],
      ["empty sample", setU32(file, at("stsz") + 12, 0), "corrupt", /sample 1 is empty/],
      ["too few chunks", setU32(file, at("stco") + 4, 2), "corrupt", /hold 2 of its 3 samples/],
      ["no sample entry", setU32(file, at("stsd") + 4, 0), "unsupported", /sample descriptions/],
      [
        "not AV1",
        file.slice().fill(0x68, boxAt(file, "av01"), boxAt(file, "av01") + 1),
        "unsupported",
        /codes hv01/,
      ],
    ];
    for (const [name, bytes, code, message] of cases) {
      const { asked, out } = await tryDecode(bytes);
      expect(out, name).toBeInstanceOf(ImageDecodeError);
      expect(out, name).toMatchObject({ code, message: expect.stringMatching(message) });
      expect(asked, name).toEqual([]);
    }
  });

  it("lists at most MAX_TRACK_SAMPLES of a track declaring 2^32 - 1 samples, in bounded time", async () => {
    const [frame] = await stills(48, 32, 1);
    // One chunk holding 2^32 - 1 samples of one byte each: walked until they leave the file.
    let file = buildAvifSequence([frame!]);
    file = setU32(file, boxAt(file, "stsz") + 8, 1); // constant size 1 (the table entry stays, unread)
    file = setU32(file, boxAt(file, "stsz") + 12, 0xffffffff);
    file = setU32(file, boxAt(file, "stsc") + 16, 0xffffffff);
    const started = Date.now();
    const header = readAvifHeader(file);
    expect(Date.now() - started).toBeLessThan(2000);
    // Listed one by one up to MAX_TRACK_SAMPLES at most: here they leave the file first.
    expect(header).toMatchObject({ ok: false, reason: "truncated" });
    expect(MAX_TRACK_SAMPLES).toBeLessThan(file.length + 65_536);
  });

  it("judges the first MAX_TRACK_SAMPLES frames of a longer track, then reports it too large", {
    timeout: 120_000,
  }, async () => {
    const two = await stills(16, 16, 2);
    const total = MAX_TRACK_SAMPLES + 1;
    const file = buildAvifSequence(Array.from({ length: total }, (_, i) => two[i % 2]!));
    const header = readAvifHeader(file);
    if (!header.ok) throw new Error(header.detail);
    expect(header.tracks!.color).toMatchObject({ declaredSamples: total });
    expect(header.tracks!.color.samples).toHaveLength(MAX_TRACK_SAMPLES);
    const { frames, error } = await withDecodedFrames(file, GATE, () => 0);
    expect(frames).toHaveLength(FRAMES_TOTAL);
    expect(error).toMatchObject({
      code: "too-large",
      message: expect.stringMatching(/the first 16384 were judged/),
    });
  });

  it("refuses every cut of a sequence and random damage with an ImageDecodeError only", {
    timeout: 120_000,
  }, async () => {
    const file = buildAvifSequence(await stills(48, 32, 2), { perChunk: 1, sync: [1, 2] });
    for (let cut = 0; cut < file.length; cut += Math.max(1, file.length >> 6)) {
      const out = await decodeImage(file.subarray(0, cut), GATE).catch((e: unknown) => e);
      expect(out, `cut at ${cut}`).toBeInstanceOf(ImageDecodeError);
      if (cut >= 32) expect((out as ImageDecodeError).code, `cut at ${cut}`).toBe("truncated");
    }
    const random = rng(7);
    const moov = boxAt(file, "moov");
    const moovEnd = moov - 4 + new DataView(file.buffer).getUint32(moov - 4);
    for (let round = 0; round < 60; round++) {
      const bad = file.slice();
      // Damage inside the movie box: the tables this parser reads.
      for (let k = 0; k < 3; k++)
        bad[moov + Math.floor(random() * (moovEnd - moov))] = Math.floor(random() * 256);
      const header = readAvifHeader(bad);
      if (!header.ok && round % 6) continue;
      const out = await decodeImage(bad, GATE).catch((e: unknown) => e);
      if (out instanceof Error) expect(out, `round ${round}`).toBeInstanceOf(ImageDecodeError);
      else expect(out, `round ${round}`).toMatchObject({ channels: 1 });
    }
  });
});
