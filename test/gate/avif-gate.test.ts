/**
 * AVIF through the gate with the default configuration (issue 12): a listed picture (test data,
 * listed-picture.ts) uploaded as AVIF is blocked, at 1600x1004 and as 12 and 24 MP photos
 * (dav1d decodes into the PDQ working size: before, an AVIF above ~2.8 MP was refused as too
 * large and forwarded as unscanned); an AVIF whose header says more pixels than the isolate's
 * memory budget can decode is recorded as unscanned (or held by policy), never passed as clean.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { decodeImage } from "../../src/image/decode.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { bodyOf } from "../helpers/origin.ts";
import { withIspe } from "../image/avif-boxes.ts";
import { encodeAvif, testPattern } from "../image/encoders.ts";
import { bridgeGrey, LISTED_FILE, listTheBridge, upload } from "./listed-picture.ts";

/** The bridge enlarged (nearest neighbour) to `w`×`h`, as RGBA: a phone-sized photo of it. */
async function enlargedBridge(w: number, h: number): Promise<Uint8Array> {
  const bridge = await bridgeGrey();
  const rgba = new Uint8Array(w * h * 4).fill(255);
  for (let y = 0; y < h; y++) {
    const row = Math.floor((y * bridge.height) / h) * bridge.width;
    for (let x = 0; x < w; x++)
      rgba.fill(bridge.grey[row + Math.floor((x * bridge.width) / w)]!, (y * w + x) * 4, (y * w + x) * 4 + 3);
  }
  return rgba;
}

let listed = "";
beforeAll(async () => {
  listed = await listTheBridge();
});

describe("AVIF uploads", () => {
  it("blocks the listed picture uploaded as a 1600x1004 AVIF, and forwards an unrelated AVIF", {
    timeout: 120_000,
  }, async () => {
    const bridge = await decodeImage(await fixtureBytes(LISTED_FILE), {
      maxPixels: 1e8,
      fullResolution: true,
    });
    const avif = await encodeAvif(bridge.pixels, bridge.width, bridge.height, { quality: 60 });
    const { res, sent, origin } = await upload(avif, "image/avif");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const file = (sent[0] as MatchMessage).files[0]!;
    expect(file).toMatchObject({ sniffedType: "image/avif" });
    expect(file.matches[0]).toMatchObject({ kind: "pdq" });
    expect(file.matches[0]!.distance).toBeLessThanOrEqual(31);
    expect(listed).toMatch(/^[0-9a-f]{64}$/);

    const other = await encodeAvif(testPattern(640, 480), 640, 480);
    const clean = await upload(other, "image/avif");
    expect(clean.res.status).toBe(201);
    expect(clean.sent).toEqual([]);
    expect(bodyOf(clean.origin[0]!)).toEqual(other);
  });

  for (const [mp, w, h] of [
    [12, 4000, 3000],
    [24, 5664, 4248],
  ] as const) {
    it(`blocks the listed picture as a ${mp} MP AVIF (${w}x${h}) with the default memory budget`, {
      timeout: 300_000,
    }, async () => {
      const avif = await encodeAvif(await enlargedBridge(w, h), w, h, { quality: 60 });
      const { res, sent, origin } = await upload(avif, "image/avif");
      expect(res.status).toBe(451);
      expect(origin).toHaveLength(0);
      const file = (sent[0] as MatchMessage).files[0]!;
      expect(file).toMatchObject({ sniffedType: "image/avif" });
      expect(file.matches[0]).toMatchObject({ kind: "pdq" });
    });
  }

  it("records an AVIF too large for the memory budget as unscanned, or holds it by policy", async () => {
    // 96 MP by its header: under IMAGE_MAX_PIXELS, over what ISOLATE_MEMORY_BYTES can decode
    // (dav1d holds the whole frame: about 2.3 bytes per pixel at 8-bit 4:2:0).
    const big = withIspe(await encodeAvif(testPattern(64, 48), 64, 48), 12000, 8000);
    const forwarded = await upload(big, "image/avif");
    expect(forwarded.res.status).toBe(201);
    expect(forwarded.sent).toEqual([
      expect.objectContaining({ type: "unscanned", reason: expect.stringContaining("too-large") }),
    ]);

    const held = await upload(big, "image/avif", { IMAGE_FAILURE_POLICY: "hold" });
    expect(held.res.status).toBe(451);
    expect(held.origin).toHaveLength(0);
    expect((held.sent[0] as MatchMessage).files[0]).toMatchObject({
      sniffedType: "image/avif",
      imageError: "too-large",
    });
  });
});
