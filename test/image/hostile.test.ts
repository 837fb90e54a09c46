import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { encodeWebp, testPattern } from "./encoders.ts";
import { sofOffset } from "./fixture-list.ts";
import { buildGif } from "./gif-builder.ts";
import { buildFlatJpeg } from "./jpeg-builder.ts";

const LIMITS = { maxPixels: 50_000_000 };
type Code = ImageDecodeError["code"];

/** The decode outcome: "ok" or the error code; anything but an ImageDecodeError fails the test. */
async function outcome(bytes: Uint8Array, limits = LIMITS): Promise<"ok" | Code> {
  try {
    const img = await decodeImage(bytes, limits);
    expect(img.pixels.length).toBe(img.width * img.height * img.channels);
    return "ok";
  } catch (err) {
    if (!(err instanceof ImageDecodeError)) throw err;
    return err.code;
  }
}

// Test data: two fixture JPEGs (progressive 34x42, baseline 256x256), a CMYK JPEG, a GIF and a WebP made here.
let samples: Record<string, Uint8Array>;
beforeAll(async () => {
  samples = {
    progressive: await fixtureBytes("pdq/images/misc-images/wee.jpg"),
    baseline: await fixtureBytes("pdq/images/reg-test-input/labelme-subset/q0122.jpg"),
    gif: buildGif({
      width: 24,
      height: 24,
      globalPalette: [
        [0, 0, 0],
        [255, 255, 255],
        [255, 0, 0],
        [0, 255, 0],
      ],
      frame: {
        width: 24,
        height: 24,
        indices: Uint8Array.from({ length: 576 }, (_, i) => (i * 7) % 4),
        interlaced: true,
      },
    }),
    webp: await encodeWebp(testPattern(24, 24, true), 24, 24, { lossless: false }),
    cmyk: buildFlatJpeg({
      width: 32,
      height: 16,
      components: 4,
      value: (c, bx, by) => (c * 60 + bx * 30 + by * 90) & 255,
      adobeTransform: 0,
    }),
  };
});

describe("hostile and broken images", () => {
  it("says truncated for JPEGs cut anywhere after the signature", async () => {
    for (const name of ["progressive", "baseline", "cmyk"]) {
      const b = samples[name]!;
      const cuts = new Set([3, 4, 20, 100, b.length - 2, b.length - 1]);
      for (let k = 1; k < 60; k++) cuts.add(Math.floor((b.length * k) / 60));
      for (const cut of cuts)
        expect([name, cut, await outcome(b.subarray(0, cut))]).toEqual([name, cut, "truncated"]);
    }
  });

  it("refuses a header claiming 100000x100000 before decoding, whatever the format", async () => {
    const jpeg = samples.baseline!.slice();
    const sof = sofOffset(jpeg);
    // JPEG sizes are 16-bit: 65535 x 65535 is the largest a JPEG can claim.
    jpeg.set([0xff, 0xff, 0xff, 0xff], sof + 5);
    expect(await outcome(jpeg)).toBe("too-large");
    const png = new Uint8Array(64);
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(png.buffer).setUint32(16, 100000);
    new DataView(png.buffer).setUint32(20, 100000);
    expect(await outcome(png)).toBe("too-large");
    expect(await outcome(samples.baseline!, { maxPixels: 256 * 256 - 1 })).toBe("too-large");
    // Even a caller allowing everything does not get a 4-gigapixel JPEG into the WASM heap.
    expect(await outcome(jpeg, { maxPixels: Number.MAX_SAFE_INTEGER })).toBe("too-large");
    expect(await outcome(samples.baseline!, { maxPixels: 256 * 256 })).toBe("ok");
  });

  it("says corrupt for zero-size dimensions", async () => {
    const jpeg = samples.baseline!.slice();
    jpeg.set([0, 0], sofOffset(jpeg) + 5); // height 0 (a DNL-defined height, which libjpeg refuses)
    expect(await outcome(jpeg)).toBe("corrupt");
    const gif = samples.gif!.slice();
    gif.set([0, 0], 8);
    expect(await outcome(gif)).toBe("corrupt");
  });

  it("refuses garbage after the magic bytes with a typed error", async () => {
    const garbage = Uint8Array.from({ length: 2000 }, (_, i) => (i * 151 + 7) & 255);
    const magics = [
      [0xff, 0xd8, 0xff],
      [0x47, 0x49, 0x46, 0x38, 0x39, 0x61],
      [...new TextEncoder().encode("RIFF\x10\0\0\0WEBP")],
    ];
    for (const magic of magics) {
      const b = new Uint8Array(magic.length + garbage.length);
      b.set(magic);
      b.set(garbage, magic.length);
      // Garbage as a GIF screen size reads as 40000 x 65000-ish: refused as too large, also fine.
      expect(["corrupt", "truncated", "too-large"]).toContain(await outcome(b));
    }
    expect(await outcome(new TextEncoder().encode("%PDF-1.4 not an image"))).toBe("unsupported");
  });

  it("refuses a progressive JPEG with thousands of scans without decoding it", async () => {
    const sof = [0xff, 0xc2, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0];
    const sos = [0xff, 0xda, 0, 8, 1, 1, 0, 0, 0, 0];
    const parts = [0xff, 0xd8, ...sof];
    for (let i = 0; i < 5000; i++) parts.push(...sos, 0x00);
    parts.push(0xff, 0xd9);
    const err = await decodeImage(Uint8Array.from(parts), LIMITS).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "corrupt", message: expect.stringContaining("more than 200 scans") });
  });

  it("flips a bit in every header byte of a baseline and a progressive JPEG without a crash", async () => {
    const seen = new Map<string, number>();
    for (const name of ["baseline", "progressive"]) {
      const b = samples[name]!;
      const sos = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xda); // headers end at the first scan
      for (let at = 0; at < sos + 12; at++) {
        const flipped = b.slice();
        flipped[at] = flipped[at]! ^ (1 << (at % 8));
        const result = await outcome(flipped);
        seen.set(result, (seen.get(result) ?? 0) + 1);
      }
    }
    // Both outcomes occur: many header bits are slack (e.g. APPn payloads), others are fatal.
    expect(seen.get("ok")).toBeGreaterThan(0);
    expect(
      (seen.get("corrupt") ?? 0) + (seen.get("unsupported") ?? 0) + (seen.get("truncated") ?? 0),
    ).toBeGreaterThan(0);
  });

  it("never throws anything but ImageDecodeError on mutated images (property)", async () => {
    const names = ["progressive", "baseline", "cmyk", "gif", "webp"];
    const mutation = fc.record({
      sample: fc.constantFrom(...names),
      edits: fc.array(
        fc.record({
          at: fc.nat(),
          value: fc.nat(255),
          kind: fc.constantFrom("set", "flip", "cut", "insert"),
        }),
        {
          minLength: 1,
          maxLength: 6,
        },
      ),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ sample, edits }) => {
        let b = samples[sample]!.slice();
        for (const e of edits) {
          const at = e.at % b.length;
          if (e.kind === "set") b[at] = e.value;
          else if (e.kind === "flip") b[at] = b[at]! ^ (1 << (e.value & 7));
          else if (e.kind === "cut") b = b.slice(0, Math.max(1, at));
          else b = Uint8Array.from([...b.subarray(0, at), e.value, ...b.subarray(at)]);
        }
        await outcome(b); // throws (fails the property) on anything that is not an ImageDecodeError
      }),
      { numRuns: 300, seed: 20261128 },
    );
  });

  it("still decodes correctly after a run of failures (the WASM instance is renewed)", async () => {
    const good = await decodeImage(samples.baseline!, LIMITS);
    for (let cut = 700; cut < 4000; cut += 500) await outcome(samples.baseline!.subarray(0, cut));
    const bad = samples.baseline!.slice();
    bad.fill(0x55, 600, 2000);
    await outcome(bad);
    expect((await decodeImage(samples.baseline!, LIMITS)).pixels).toEqual(good.pixels);
  });
});
