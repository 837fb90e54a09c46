/**
 * A listed picture saved as a large GIF is blocked with the default configuration. Before issue
 * 12's GIF work, a GIF whose screen exceeded the 2048×2048 animation canvas was refused as too
 * large and, under the default IMAGE_FAILURE_POLICY, forwarded as unscanned; an animation on
 * such a screen is now composited at the PDQ size. The list holds the
 * full-resolution PDQ hash of a benign fixture photo (listed-picture.ts): TEST DATA.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { configFor } from "../../src/gate/config.ts";
import { testEnv } from "../helpers/faults.ts";
import { buildGif } from "../image/gif-builder.ts";
import { bridgeGrey, type GreyPicture, listTheBridge, unrelatedGrey, upload } from "./listed-picture.ts";

const GREY_RAMP = Array.from({ length: 256 }, (_, i) => [i, i, i]);
let bridge: GreyPicture;

beforeAll(async () => {
  await listTheBridge();
  bridge = await bridgeGrey();
}, 60_000);

/** A grey picture enlarged (nearest pixel) to `size`×`size`, as palette indices of GREY_RAMP. */
function enlarged(p: GreyPicture, size: number): Uint8Array {
  const indices = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    const row = Math.floor((y * p.height) / size) * p.width;
    for (let x = 0; x < size; x++) indices[y * size + x] = p.grey[row + Math.floor((x * p.width) / size)]!;
  }
  return indices;
}

/** The listed picture enlarged to `size`×`size` as a one-frame grey GIF. */
function largeGif(size: number, interlaced: boolean): Uint8Array {
  const indices = enlarged(bridge, size);
  return buildGif({
    width: size,
    height: size,
    globalPalette: GREY_RAMP,
    frame: { width: size, height: size, indices, interlaced },
  });
}

describe("a listed picture as a large GIF (default configuration)", () => {
  it("runs with the shipped pixel limit, far above 2048x2048", () => {
    expect(configFor(testEnv()).imageMaxPixels).toBeGreaterThanOrEqual(3000 * 3000);
  });

  it("blocks it as the second frame of a 3000x3000 animation, and names the frame", {
    timeout: 120_000,
  }, async () => {
    const size = 3000;
    const first = enlarged(unrelatedGrey(bridge.width, bridge.height), size);
    // The second frame draws the picture over most of the screen, offset off the 5x5 cells.
    const [left, top] = [7, 3];
    const shown = enlarged(bridge, size);
    const indices = new Uint8Array((size - left) * (size - top));
    for (let y = 0; y < size - top; y++)
      indices.set(shown.subarray((y + top) * size + left, (y + top + 1) * size), y * (size - left));
    const gif = buildGif({
      width: size,
      height: size,
      globalPalette: GREY_RAMP,
      frame: { width: size, height: size, indices: first },
      secondFrame: { left, top, width: size - left, height: size - top, indices },
    });
    const { res, sent, origin } = await upload(gif, "image/gif");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const file = (sent[0] as MatchMessage).files[0]!;
    expect(file.imageError).toBeUndefined();
    expect(file.matches[0]).toMatchObject({ kind: "pdq", entryId: "bridge-entry", frame: 1 });
  });

  for (const interlaced of [false, true]) {
    it(`blocks it as a 3000x3000 GIF${interlaced ? ", interlaced" : ""}`, { timeout: 120_000 }, async () => {
      const { res, sent, origin } = await upload(largeGif(3000, interlaced), "image/gif");
      expect(res.status).toBe(451);
      expect(origin).toHaveLength(0);
      const file = (sent[0] as MatchMessage).files[0]!;
      expect(file.imageError).toBeUndefined();
      expect(file.matches[0]).toMatchObject({ listId: "pdq-formats", kind: "pdq", entryId: "bridge-entry" });
      expect(file.matches[0]!.distance).toBeLessThanOrEqual(31);
    });
  }
});
