/**
 * GIFs for bench/gif.ts, made from a benign fixture photo (TEST DATA): the photo resampled to
 * the size wanted and quantised to a 6×7×6 colour cube with a 4×4 ordered dither, as GIF
 * encoders render photos, so the LZW data has a photo's texture rather than flat areas. Encoded
 * by the tests' GIF writer (test/image/gif-builder.ts: real LZW, interlacing, several frames).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeImage } from "../../src/image/decode.ts";
import type { DecodedImage } from "../../src/image/types.ts";
import { buildGif, type GifFrameSpec } from "../../test/image/gif-builder.ts";
import { FIXTURES_DIR } from "../../test/node/fixtures-dir.ts";

/** The 4032×3024 fixture photo (the 12 MP one of ../shared/fixtures/pdq). */
export const PHOTO = "pdq/images/reg-test-input/exif-rotn/exif-rotn-6.jpg";

/** 6 × 7 × 6 levels of R, G, B (252 entries), the global palette. */
const LEVELS = [6, 7, 6] as const;
export const CUBE = Array.from({ length: 252 }, (_, i) => [
  Math.round(((i % 6) * 255) / 5),
  Math.round(((Math.floor(i / 6) % 7) * 255) / 6),
  Math.round((Math.floor(i / 42) * 255) / 5),
]);
const BAYER = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5];

export async function loadPhoto(): Promise<DecodedImage> {
  const bytes = new Uint8Array(readFileSync(join(FIXTURES_DIR, PHOTO)));
  return decodeImage(bytes, { maxPixels: 1e8, fullResolution: true });
}

/**
 * The region (sx, sy, sw, sh) of `photo` resampled (nearest pixel) to `w`×`h` and dithered into
 * CUBE indices.
 */
export function ditheredIndices(
  photo: DecodedImage,
  region: { sx: number; sy: number; sw: number; sh: number },
  w: number,
  h: number,
): Uint8Array {
  const { width: pw, channels: ch, pixels } = photo;
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const py = region.sy + Math.floor(((y + 0.5) * region.sh) / h);
    for (let x = 0; x < w; x++) {
      const s = (py * pw + region.sx + Math.floor(((x + 0.5) * region.sw) / w)) * ch;
      const t = (BAYER[(y & 3) * 4 + (x & 3)]! + 0.5) / 16 - 0.5;
      let index = 0;
      for (let c = 2; c >= 0; c--) {
        const n = LEVELS[c]!;
        const level = Math.min(n - 1, Math.max(0, Math.round((pixels[s + c]! * (n - 1)) / 255 + t)));
        index = index * n + level;
      }
      out[y * w + x] = index;
    }
  }
  return out;
}

/** A still GIF of the whole photo at `w`×`h`. */
export function stillGif(photo: DecodedImage, w: number, h: number, interlaced: boolean): Uint8Array {
  const whole = { sx: 0, sy: 0, sw: photo.width, sh: photo.height };
  return buildGif({
    width: w,
    height: h,
    globalPalette: CUBE,
    frame: { width: w, height: h, indices: ditheredIndices(photo, whole, w, h), interlaced },
  });
}

/**
 * An animation of `frames` frames of `w`×`h`: a pan across the photo (each frame a window of
 * half the photo's size, moved along the diagonal), every frame covering the screen, kept
 * (disposal 1) as an encoder writing a video clip does.
 */
export function panGif(photo: DecodedImage, w: number, h: number, frames: number): Uint8Array {
  const sw = photo.width >> 1;
  const sh = photo.height >> 1;
  const specs: GifFrameSpec[] = [];
  for (let i = 0; i < frames; i++) {
    const sx = Math.floor(((photo.width - sw) * i) / Math.max(1, frames - 1));
    const sy = Math.floor(((photo.height - sh) * i) / Math.max(1, frames - 1));
    specs.push({
      width: w,
      height: h,
      indices: ditheredIndices(photo, { sx, sy, sw, sh }, w, h),
      disposal: 1,
    });
  }
  return buildGif({
    width: w,
    height: h,
    globalPalette: CUBE,
    frame: specs[0]!,
    moreFrames: specs.slice(1),
  });
}
