import { describe, expect, it } from "vitest";
import { decodeImage } from "../../src/image/decode.ts";
import { LzwRowDecoder, lzwDecode } from "../../src/image/gif-lzw.ts";
import { ImageDecodeError } from "../../src/image/types.ts";
import { buildGif, expectedRgba, type GifSpec, lzwEncode } from "./gif-builder.ts";

const LIMITS = { maxPixels: 50_000_000 };

// Deterministic pseudo-random bytes (test data), so failures reproduce.
function noise(n: number, mod: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 24) % mod;
  }
  return out;
}

function palette(n: number): number[][] {
  return Array.from({ length: n }, (_, i) => [i, (i * 7) & 255, 255 - i]);
}

async function expectDecodesTo(spec: GifSpec) {
  const img = await decodeImage(buildGif(spec), LIMITS);
  expect([img.width, img.height, img.channels]).toEqual([spec.width, spec.height, 4]);
  expect(img.pixels).toEqual(expectedRgba(spec));
}

describe("GIF first frame", () => {
  it("decodes a tiny two-colour image exactly", async () => {
    const indices = Uint8Array.from([0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1]);
    await expectDecodesTo({
      width: 4,
      height: 4,
      globalPalette: [
        [255, 0, 0],
        [0, 0, 255],
      ],
      frame: { width: 4, height: 4, indices },
    });
  });

  it("decodes 256-colour noise exactly (12-bit codes and table resets)", async () => {
    const indices = noise(200 * 120, 256, 1);
    await expectDecodesTo({
      width: 200,
      height: 120,
      globalPalette: palette(256),
      frame: { width: 200, height: 120, indices },
    });
  });

  it("decodes long runs exactly (KwKwK codes)", async () => {
    const indices = new Uint8Array(97 * 53).fill(3);
    indices.fill(1, 2000, 4000);
    await expectDecodesTo({
      width: 97,
      height: 53,
      globalPalette: palette(4),
      frame: { width: 97, height: 53, indices },
    });
  });

  it("de-interlaces an interlaced frame", async () => {
    for (const height of [1, 2, 3, 5, 8, 13, 29]) {
      const indices = noise(11 * height, 16, height);
      await expectDecodesTo({
        width: 11,
        height,
        globalPalette: palette(16),
        frame: { width: 11, height, indices, interlaced: true },
      });
    }
  });

  it("uses the local palette over the global one and honours the transparent index", async () => {
    const indices = noise(30 * 20, 8, 7);
    await expectDecodesTo({
      width: 30,
      height: 20,
      globalPalette: palette(8),
      frame: {
        width: 30,
        height: 20,
        indices,
        localPalette: palette(8).map(([r, g, b]) => [b!, r!, g!]),
        transparentIndex: 5,
      },
    });
  });

  it("places an offset frame on a transparent screen and clips what overhangs it", async () => {
    await expectDecodesTo({
      width: 40,
      height: 30,
      globalPalette: palette(4),
      frame: { left: 25, top: 20, width: 20, height: 15, indices: noise(300, 4, 3) },
    });
  });

  it("returns the first frame of an animation", async () => {
    const spec: GifSpec = {
      width: 16,
      height: 16,
      globalPalette: palette(4),
      frame: { width: 16, height: 16, indices: noise(256, 4, 9) },
      secondFrame: { width: 16, height: 16, indices: noise(256, 4, 10) },
    };
    await expectDecodesTo(spec);
  });

  it("round-trips the LZW coder at every code size", () => {
    for (let size = 2; size <= 8; size++) {
      const data = noise(5000, 1 << size, size);
      expect(lzwDecode(lzwEncode(data, size), size, data.length)).toEqual(data);
    }
  });

  it("decodes strings older than its output window (a table never cleared), pushed in any slicing", () => {
    const [width, rows] = [700, 500];
    const data = noise(width * rows, 4, 77);
    const coded = lzwEncode(data, 2, "freeze");
    const out = new Uint8Array(width * rows);
    const lzw = new LzwRowDecoder(2, width, rows, (r, row) => out.set(row, r * width));
    const sizes = noise(coded.length, 255, 78);
    for (let at = 0, k = 0; at < coded.length; k++) {
      const n = 1 + sizes[k]!;
      lzw.push(coded.subarray(at, at + n));
      at += n;
    }
    lzw.finish();
    // The first index decoded wrong (-1: none), not a diff of 350,000 values.
    const firstWrong = (decoded: Uint8Array) => decoded.findIndex((v, i) => v !== data[i]);
    expect(firstWrong(out)).toBe(-1);
    expect(firstWrong(lzwDecode(coded, 2, data.length))).toBe(-1);
  });
});

describe("GIF errors", () => {
  const good = buildGif({
    width: 64,
    height: 64,
    globalPalette: palette(16),
    frame: { width: 64, height: 64, indices: noise(4096, 16, 2) },
  });

  async function codeOf(bytes: Uint8Array, maxPixels = 50_000_000): Promise<string> {
    try {
      await decodeImage(bytes, { maxPixels });
      return "decoded";
    } catch (err) {
      expect(err).toBeInstanceOf(ImageDecodeError);
      return (err as ImageDecodeError).code;
    }
  }

  it("says truncated for a file cut before the image data ends", async () => {
    // The last 2 bytes are the block terminator and trailer; any earlier cut loses data.
    for (let cut = 6; cut < good.length - 2; cut += 7)
      expect(await codeOf(good.subarray(0, cut))).toBe("truncated");
  });

  it("fills a frame whose data ends a few rows early with index 0, as before", async () => {
    const spec: GifSpec = {
      width: 40,
      height: 30,
      globalPalette: palette(4),
      frame: { width: 40, height: 30, indices: noise(40 * 28, 4, 5) }, // data for 28 rows of 30
    };
    const filled = new Uint8Array(40 * 30);
    filled.set(spec.frame.indices);
    const img = await decodeImage(buildGif(spec), LIMITS);
    expect(img.pixels).toEqual(expectedRgba({ ...spec, frame: { ...spec.frame, indices: filled } }));
  });

  it("says truncated, without filling it, for a tiny file whose frame claims 240 megapixels", async () => {
    const bomb = buildGif({
      width: 16,
      height: 16,
      globalPalette: palette(2),
      frame: { width: 16, height: 16, indices: new Uint8Array(256) },
    });
    const descriptor = bomb.indexOf(0x2c, 13);
    for (const at of [6, descriptor + 5]) bomb.set([0x80, 0x3e, 0x98, 0x3a], at); // 16000 x 15000
    expect(bomb.length).toBeLessThan(100);
    expect(await codeOf(bomb, 250_000_000)).toBe("truncated");
  });

  it("refuses a logical screen over the pixel limit before decoding", async () => {
    expect(await codeOf(good, 64 * 64 - 1)).toBe("too-large");
    const huge = good.slice();
    huge.set([0xff, 0xff, 0xff, 0xff], 6); // 65535 x 65535 screen
    expect(await codeOf(huge)).toBe("too-large");
  });

  it("says corrupt for zero dimensions, no palette, bad code sizes and undefined codes", async () => {
    const zero = good.slice();
    zero.set([0, 0], 6);
    expect(await codeOf(zero)).toBe("corrupt");
    const noPalette = buildGif({
      width: 4,
      height: 4,
      frame: { width: 4, height: 4, indices: new Uint8Array(16) },
    });
    expect(await codeOf(noPalette)).toBe("corrupt");
    expect(() => lzwDecode(Uint8Array.from([0xff]), 12, 10)).toThrow(ImageDecodeError);
    // Clear (4), then code 7, which no entry defines yet.
    expect(() => lzwDecode(Uint8Array.from([0b111_100, 0]), 2, 10)).toThrow(/not yet defined|non-literal/);
  });
});
