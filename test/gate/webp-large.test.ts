/**
 * A large lossy WebP of a listed picture (test data, see listed-picture.ts: a benign fixture
 * photo's hash) through the gate with the default configuration: decoded scaled by libwebp and
 * blocked. Before issue 12 the gate decoded WebP at full size and reserved 4 bytes per pixel.
 * The same picture as a lossless WebP: decoded through libwebp's sliding window (our patch,
 * wasm/libwebp/patches), where libwebp held the whole image as ARGB (46 MiB at 12 MP) before.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { encodeWebp } from "../image/encoders.ts";
import { bridgeGrey, listTheBridge, upload } from "./listed-picture.ts";

let photo: Uint8Array;
let losslessPhoto: Uint8Array;

beforeAll(async () => {
  await listTheBridge();
  const bridge = await bridgeGrey();
  // The bridge enlarged 5.5× (nearest neighbour) to 4400x2761, 12.1 MP.
  const w = Math.round(bridge.width * 5.5);
  const h = Math.round(bridge.height * 5.5);
  const rgba = new Uint8Array(w * h * 4).fill(255);
  for (let y = 0; y < h; y++) {
    const row = Math.floor((y * bridge.height) / h) * bridge.width;
    for (let x = 0; x < w; x++)
      rgba.fill(bridge.grey[row + Math.floor((x * bridge.width) / w)]!, (y * w + x) * 4, (y * w + x) * 4 + 3);
  }
  photo = await encodeWebp(rgba, w, h, { lossless: false, quality: 80 });
  // Fastest lossless settings: the file's size does not matter, only that it is a VP8L stream.
  losslessPhoto = await encodeWebp(rgba, w, h, { lossless: true, quality: 0, method: 0 });
}, 300_000);

describe("a 12 MP WebP in the gate (default configuration)", () => {
  it("is decoded reduced and blocked when it shows the listed picture", { timeout: 120_000 }, async () => {
    const { res, sent, origin } = await upload(photo, "image/webp");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const f = (sent[0] as MatchMessage).files[0]!;
    expect(f).toMatchObject({ sniffedType: "image/webp" });
    expect(f.matches[0]).toMatchObject({ kind: "pdq" });
  });

  it("fits a 16 MiB memory budget (a full-size decode would have reserved 46 MiB and been refused)", {
    timeout: 120_000,
  }, async () => {
    const { res, origin } = await upload(photo, "image/webp", {
      ISOLATE_MEMORY_BYTES: String(16 * 1024 * 1024),
    });
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
  });
});

describe("a 12 MP lossless WebP in the gate", () => {
  it("is decoded reduced and blocked with the default configuration", { timeout: 120_000 }, async () => {
    expect(losslessPhoto.subarray(12, 16)).toEqual(new TextEncoder().encode("VP8L"));
    const { res, sent, origin } = await upload(losslessPhoto, "image/webp");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const f = (sent[0] as MatchMessage).files[0]!;
    expect(f).toMatchObject({ sniffedType: "image/webp" });
    expect(f.matches[0]).toMatchObject({ kind: "pdq" });
  });

  it("fits a 24 MiB memory budget (holding the image as ARGB would reserve 46 MiB and be refused)", {
    timeout: 120_000,
  }, async () => {
    const { res, origin } = await upload(losslessPhoto, "image/webp", {
      ISOLATE_MEMORY_BYTES: String(24 * 1024 * 1024),
    });
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
  });
});
