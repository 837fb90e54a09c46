/**
 * Animated images and the formats added with them in the gate: a listed picture (test data,
 * see listed-picture.ts) shown as a later frame is blocked, and the case says which frame
 * matched; as BMP or TIFF it is blocked too. Before, the gate read only a GIF's first frame and
 * an APNG's default image, and did not decode BMP or TIFF: all these uploads reached the origin.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { isFrameHashed } from "../../src/image/frames.ts";
import { bodyOf } from "../helpers/origin.ts";
import { buildApng } from "../image/apng-builder.ts";
import { encodeBmp } from "../image/bmp-builder.ts";
import { encodeWebp } from "../image/encoders.ts";
import { buildGif } from "../image/gif-builder.ts";
import { encodeTiff } from "../image/tiff-builder.ts";
import { buildAnimatedWebp } from "../image/webp-anim-builder.ts";
import { bridgeGrey, type GreyPicture, listTheBridge, unrelatedGrey, upload } from "./listed-picture.ts";

const GREY_RAMP = Array.from({ length: 256 }, (_, i) => [i, i, i]);
let bridge: GreyPicture;
let other: GreyPicture;

beforeAll(async () => {
  await listTheBridge();
  bridge = await bridgeGrey();
  other = unrelatedGrey(bridge.width, bridge.height);
}, 60_000);

function gifOf(...frames: GreyPicture[]): Uint8Array {
  const [first, ...rest] = frames.map((f) => ({ width: f.width, height: f.height, indices: f.grey }));
  return buildGif({
    width: bridge.width,
    height: bridge.height,
    globalPalette: GREY_RAMP,
    frame: first!,
    moreFrames: rest,
  });
}

function apngOf(...frames: GreyPicture[]): Promise<Uint8Array> {
  return buildApng({
    width: bridge.width,
    height: bridge.height,
    colorType: 0,
    depth: 8,
    frames: frames.map((f) => ({ image: { width: f.width, height: f.height, samples: Array.from(f.grey) } })),
  });
}

/** An animated WebP of lossy frames, each replacing the whole canvas. */
async function webpOf(...frames: GreyPicture[]): Promise<Uint8Array> {
  const encoded = [];
  for (const f of frames) {
    const rgba = new Uint8Array(f.width * f.height * 4);
    for (let i = 0; i < f.grey.length; i++)
      rgba.fill(f.grey[i]!, i * 4, i * 4 + 3).fill(255, i * 4 + 3, i * 4 + 4);
    const webp = await encodeWebp(rgba, f.width, f.height, { lossless: false, quality: 85 });
    encoded.push({ webp, x: 0, y: 0, blend: false });
  }
  return buildAnimatedWebp(bridge.width, bridge.height, encoded);
}

describe("every frame of an animation is judged", () => {
  it("blocks a GIF whose second frame is the listed picture, and records the frame", {
    timeout: 60_000,
  }, async () => {
    const { res, sent, origin } = await upload(gifOf(other, bridge, other), "image/gif");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const f = (sent[0] as MatchMessage).files[0]!;
    expect(f.matches[0]).toMatchObject({ kind: "pdq", frame: 1 });
    expect(f.matches[0]!.distance).toBeLessThanOrEqual(31);
  });

  it("blocks an APNG whose third frame is the listed picture", { timeout: 60_000 }, async () => {
    const { res, sent, origin } = await upload(await apngOf(other, other, bridge), "image/png");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    expect((sent[0] as MatchMessage).files[0]!.matches[0]).toMatchObject({ frame: 2 });
  });

  it("blocks an animated WebP whose second frame is the listed picture", { timeout: 60_000 }, async () => {
    const { res, sent, origin } = await upload(await webpOf(other, bridge, other), "image/webp");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const f = (sent[0] as MatchMessage).files[0]!;
    expect(f).toMatchObject({ sniffedType: "image/webp" });
    expect(f.matches[0]).toMatchObject({ kind: "pdq", frame: 1 });
  });

  it("forwards an animated WebP none of whose frames is listed, untouched", { timeout: 60_000 }, async () => {
    const webp = await webpOf(other, unrelatedGrey(bridge.width, bridge.height), other);
    const { res, sent, origin } = await upload(webp, "image/webp");
    expect(res.status).toBe(201);
    expect(sent).toEqual([]);
    expect(bodyOf(origin[0]!)).toEqual(webp);
  });

  it("forwards an animation none of whose frames is listed, untouched", { timeout: 60_000 }, async () => {
    const gif = gifOf(other, unrelatedGrey(bridge.width, bridge.height), other);
    const { res, sent, origin } = await upload(gif, "image/gif");
    expect(res.status).toBe(201);
    expect(sent).toEqual([]);
    expect(bodyOf(origin[0]!)).toEqual(gif);
  });
});

describe("BMP and TIFF are hashed", () => {
  const rgbOf = (p: GreyPicture) => {
    const rgb = new Uint8Array(p.width * p.height * 3);
    for (let i = 0; i < p.grey.length; i++) rgb.fill(p.grey[i]!, i * 3, i * 3 + 3);
    return rgb;
  };

  it("blocks the listed picture as a BMP", { timeout: 60_000 }, async () => {
    const bmp = encodeBmp({ width: bridge.width, height: bridge.height, rgb: rgbOf(bridge), bpp: 24 });
    const { res, sent, origin } = await upload(bmp, "image/bmp");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const f = (sent[0] as MatchMessage).files[0]!;
    expect(f).toMatchObject({ sniffedType: "image/bmp" });
    expect(f.matches[0]).toMatchObject({ kind: "pdq" });
  });

  it("blocks the listed picture as an LZW TIFF", { timeout: 60_000 }, async () => {
    const tiff = await encodeTiff({
      width: bridge.width,
      height: bridge.height,
      channels: 1,
      samples: bridge.grey,
      compression: 5,
      predictor: true,
      rowsPerStrip: 16,
    });
    const { res, sent, origin } = await upload(tiff, "image/tiff");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    expect((sent[0] as MatchMessage).files[0]!.matches[0]).toMatchObject({ kind: "pdq" });
  });
});

describe("frames of a long animation beyond the first 50 are sampled (SECURITY.md, known gaps)", () => {
  // 102 frames: 0 is a clean picture, 1..101 change one pixel, except one that shows the listed
  // picture for a single frame and then restores the previous screen (disposal 3). With 52
  // frames after the first 50 and 50 samples among them, frame 76 is hashed and frame 75 is not.
  function longGif(listedAt: number): Uint8Array {
    const dot = { width: 1, height: 1, indices: Uint8Array.of(200) };
    const frames = Array.from({ length: 101 }, (_, i) =>
      i + 1 === listedAt
        ? { width: bridge.width, height: bridge.height, indices: bridge.grey, disposal: 3 }
        : { ...dot, left: i },
    );
    const [first, ...rest] = frames;
    return buildGif({
      width: bridge.width,
      height: bridge.height,
      globalPalette: GREY_RAMP,
      frame: { width: other.width, height: other.height, indices: other.grey },
      secondFrame: first!,
      moreFrames: rest,
    });
  }

  it("blocks the listed picture shown in a sampled frame", { timeout: 120_000 }, async () => {
    expect([isFrameHashed(76, 102), isFrameHashed(75, 102)]).toEqual([true, false]);
    const { res, sent } = await upload(longGif(76), "image/gif");
    expect(res.status).toBe(451);
    expect((sent[0] as MatchMessage).files[0]!.matches[0]).toMatchObject({ frame: 76 });
  });

  it("passes it when it is shown only in a frame the sampling skips (the gap, pinned)", {
    timeout: 120_000,
  }, async () => {
    const { res, origin } = await upload(longGif(75), "image/gif");
    expect(res.status).toBe(201);
    expect(origin).toHaveLength(1);
  });
});
