/**
 * AVIF image sequences (`avis`) through the gate with the default configuration (issue 12): the
 * track a decoder shows is the one checked, reserved for and hashed, and a sequence whose frames
 * are not all hashed is never passed as clean. The listed picture is test data (listed-picture.ts);
 * sequences are assembled from stills encoded here (avif-boxes.ts).
 *
 * Before: the header of an `avis` with a primary item was read from the item alone, while libavif
 * decodes the track (major brand `avis`): a small unrelated item in front of a track holding the
 * listed picture got a reservation for the item, the decoder built the track's larger frame, and
 * the file was forwarded (recorded as corrupt). And a sequence whose second frame is the listed
 * picture was hashed by its first frame only (libavif's build) and forwarded as clean, with
 * nothing recorded.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { buildAvifSequence } from "../image/avif-boxes.ts";
import { encodeAvif, testPattern } from "../image/encoders.ts";
import { bridgeGrey, type GreyPicture, listTheBridge, unrelatedGrey, upload } from "./listed-picture.ts";

let bridge: GreyPicture;
let other: GreyPicture;

beforeAll(async () => {
  await listTheBridge();
  bridge = await bridgeGrey();
  other = unrelatedGrey(bridge.width, bridge.height);
}, 60_000);

/** A grey picture as an AVIF still (each becomes a key frame of a sequence). */
function avifOf(f: GreyPicture): Promise<Uint8Array> {
  const rgba = new Uint8Array(f.width * f.height * 4);
  for (let i = 0; i < f.grey.length; i++)
    rgba.fill(f.grey[i]!, i * 4, i * 4 + 3).fill(255, i * 4 + 3, i * 4 + 4);
  return encodeAvif(rgba, f.width, f.height, { quality: 70 });
}

describe("AVIF image sequences", () => {
  it("blocks the listed picture in the track of an avis whose still item is a small unrelated picture", {
    timeout: 120_000,
  }, async () => {
    const item = await encodeAvif(testPattern(64, 48), 64, 48);
    const file = buildAvifSequence([await avifOf(bridge)], { item });
    const { res, sent, origin } = await upload(file, "image/avif");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const f = (sent[0] as MatchMessage).files[0]!;
    expect(f).toMatchObject({ sniffedType: "image/avif" });
    expect(f.matches[0]).toMatchObject({ kind: "pdq" });
    expect(f.matches[0]!.distance).toBeLessThanOrEqual(31);
  });

  it("blocks a sequence whose second frame is the listed picture, and records the frame", {
    timeout: 120_000,
  }, async () => {
    const frames = [await avifOf(other), await avifOf(bridge), await avifOf(other)];
    const { res, sent, origin } = await upload(buildAvifSequence(frames), "image/avif");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const f = (sent[0] as MatchMessage).files[0]!;
    expect(f.matches[0]).toMatchObject({ kind: "pdq", frame: 1 });
    expect(f.matches[0]!.distance).toBeLessThanOrEqual(31);
    // The same frames without the listed picture pass, and nothing is recorded.
    const clean = await upload(buildAvifSequence([frames[0]!, frames[2]!]), "image/avif");
    expect(clean.res.status).toBe(201);
    expect(clean.sent).toEqual([]);
  });

  it("holds by policy a sequence whose track declares less than its AV1 frames", {
    timeout: 60_000,
  }, async () => {
    const file = buildAvifSequence([await avifOf(bridge)], { trackSize: [64, 40], entrySize: [64, 40] });
    const held = await upload(file, "image/avif", { IMAGE_FAILURE_POLICY: "hold" });
    expect(held.res.status).toBe(451);
    expect((held.sent[0] as MatchMessage).files[0]).toMatchObject({ imageError: "corrupt" });
  });
});
