/**
 * A large lossy WebP of a listed picture (test data, see listed-picture.ts: a benign fixture
 * photo's hash) through the gate with the default configuration: decoded scaled by libwebp and
 * blocked. Before issue 12 the gate decoded WebP at full size and reserved 4 bytes per pixel.
 * The same picture as a lossless WebP: decoded through libwebp's sliding window (our patch,
 * wasm/libwebp/patches), where libwebp held the whole image as ARGB (46 MiB at 12 MP) before:
 * a 12 MP one then needed more than a 24 MiB budget, and a 16 MP one with a photo's file size
 * more than the default 80 MiB (both recorded unscanned; both fail against the unpatched build).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { encodeWebp } from "../image/encoders.ts";
import { bridgeGrey, type GreyPicture, listTheBridge, upload } from "./listed-picture.ts";

let photo: Uint8Array;
let lossless12: Uint8Array;
let lossless16: Uint8Array;

/** The bridge enlarged (nearest neighbour) by `factor`, as RGBA; `noise`: ±6 levels per channel. */
function enlarged(bridge: GreyPicture, factor: number, noise: boolean) {
  const w = Math.round(bridge.width * factor);
  const h = Math.round(bridge.height * factor);
  const rgba = new Uint8Array(w * h * 4).fill(255);
  let x = 7;
  for (let y = 0; y < h; y++) {
    const row = Math.floor((y * bridge.height) / h) * bridge.width;
    for (let i = 0; i < w; i++) {
      const grey = bridge.grey[row + Math.floor((i * bridge.width) / w)]!;
      for (let c = 0; c < 3; c++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const n = noise ? ((x >>> 24) % 13) - 6 : 0;
        rgba[(y * w + i) * 4 + c] = Math.min(255, Math.max(0, grey + n));
      }
    }
  }
  return { w, h, rgba };
}

beforeAll(async () => {
  await listTheBridge();
  const bridge = await bridgeGrey();
  // 5.5×: 4400x2761, 12.1 MP.
  const big = enlarged(bridge, 5.5, false);
  photo = await encodeWebp(big.rgba, big.w, big.h, { lossless: false, quality: 80 });
  // Lossless, fastest encoder settings: 0.05 bytes a pixel.
  lossless12 = await encodeWebp(big.rgba, big.w, big.h, { lossless: true, quality: 0, method: 0 });
  // 6.35×: 5080x3188, 16.2 MP, with sensor-like noise, so that the lossless file is as large as
  // a photo's (about 1.8 bytes a pixel).
  const noisy = enlarged(bridge, 6.35, true);
  lossless16 = await encodeWebp(noisy.rgba, noisy.w, noisy.h, { lossless: true, quality: 0, method: 0 });
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

describe("a lossless WebP in the gate", () => {
  it("of 12 MP is decoded reduced and blocked with the default configuration", {
    timeout: 120_000,
  }, async () => {
    expect(lossless12.subarray(12, 16)).toEqual(new TextEncoder().encode("VP8L"));
    const { res, sent, origin } = await upload(lossless12, "image/webp");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const f = (sent[0] as MatchMessage).files[0]!;
    expect(f).toMatchObject({ sniffedType: "image/webp" });
    expect(f.matches[0]).toMatchObject({ kind: "pdq" });
  });

  it("of 12 MP fits a 24 MiB budget (holding it as ARGB would reserve 46 MiB and be refused)", {
    timeout: 120_000,
  }, async () => {
    const { res, origin } = await upload(lossless12, "image/webp", {
      ISOLATE_MEMORY_BYTES: String(24 * 1024 * 1024),
    });
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
  });

  it("of 16 MP and a photo's file size is blocked with the default configuration (held whole: 62 MiB beside its 28 MiB input, refused)", {
    timeout: 120_000,
  }, async () => {
    expect(lossless16.subarray(12, 16)).toEqual(new TextEncoder().encode("VP8L"));
    expect(lossless16.length).toBeGreaterThan(24 * 2 ** 20);
    const { res, sent, origin } = await upload(lossless16, "image/webp");
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    expect((sent[0] as MatchMessage).files[0]!.matches[0]).toMatchObject({ kind: "pdq" });
  });
});
