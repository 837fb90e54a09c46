/**
 * Animated images (GIF, APNG): which frames are hashed, and the canvas they are composited on.
 * A listed picture shown as any frame is a match, so every frame is hashed up to FRAMES_ALL,
 * then frames are sampled evenly up to FRAMES_TOTAL: hashing (a downscale plus PDQ) is the
 * cost per frame, and a long animation of near-identical frames gains little from more.
 * Frames are composited in order at full size (each frame draws over what the previous left),
 * on an RGBA canvas bounded by CANVAS_MAX_PIXELS; a GIF on a larger screen is composited at the
 * PDQ size instead (reduced-canvas.ts).
 */
import { downscaleImage } from "./downscale.ts";
import { type DecodedImage, ImageDecodeError } from "./types.ts";

/** Every frame up to this many is hashed. */
export const FRAMES_ALL = 50;
/** Frames hashed at most per file: the first FRAMES_ALL, then the rest sampled evenly. */
export const FRAMES_TOTAL = 100;
/**
 * Largest animation canvas composited (2048×2048): 16 MiB of RGBA, plus as much again while a
 * frame that restores "previous" is drawn. Larger APNGs are refused as too large.
 */
export const CANVAS_MAX_PIXELS = 2048 * 2048;
/**
 * Frame pixels composited per file at most (decoding cost: about a second of CPU). An animation
 * that goes on beyond it has its frames up to there judged, then is reported too large.
 */
export const ANIMATION_MAX_PIXELS = 2 ** 28;

/** The frame pixels composited so far plus this frame's, refused past ANIMATION_MAX_PIXELS. */
export function spendAnimationPixels(composited: number, pixels: number, frame: number): number {
  const total = composited + pixels;
  if (total > ANIMATION_MAX_PIXELS) {
    throw new ImageDecodeError(
      "too-large",
      `animation exceeds ${ANIMATION_MAX_PIXELS} pixels at frame ${frame}`,
    );
  }
  return total;
}

/** One decoded frame: its position in the file and its pixels (already at the PDQ size). */
export interface DecodedFrame {
  index: number;
  image: DecodedImage;
}

/** Whether frame `i` of `total` is hashed: all of the first FRAMES_ALL, then FRAMES_TOTAL - FRAMES_ALL spread evenly. */
export function isFrameHashed(i: number, total: number): boolean {
  if (i < FRAMES_ALL || total <= FRAMES_TOTAL) return i < total;
  const rest = total - FRAMES_ALL;
  const picks = FRAMES_TOTAL - FRAMES_ALL;
  // Frame i is picked when it is the first at or after one of the evenly spaced positions.
  const k = Math.ceil(((i - FRAMES_ALL) * picks) / rest);
  return k < picks && Math.floor((k * rest) / picks) === i - FRAMES_ALL;
}

/** An RGBA canvas of an animation, starting transparent black. */
export class Canvas {
  readonly width: number;
  readonly height: number;
  readonly pixels: Uint8Array;
  private composited = 0;

  constructor(width: number, height: number, format: string) {
    if (width * height > CANVAS_MAX_PIXELS) {
      throw new ImageDecodeError(
        "too-large",
        `animated ${format} canvas ${width}x${height} exceeds ${CANVAS_MAX_PIXELS} pixels`,
      );
    }
    this.width = width;
    this.height = height;
    this.pixels = new Uint8Array(width * height * 4);
  }

  /** Counts a frame's pixels against ANIMATION_MAX_PIXELS before it is drawn. */
  spend(pixels: number, frame: number): void {
    this.composited = spendAnimationPixels(this.composited, pixels, frame);
  }

  /** A copy of a region's pixels (for "restore to previous"). */
  save(x: number, y: number, w: number, h: number): Uint8Array {
    const out = new Uint8Array(w * h * 4);
    for (let r = 0; r < h; r++) {
      const o = ((y + r) * this.width + x) * 4;
      out.set(this.pixels.subarray(o, o + w * 4), r * w * 4);
    }
    return out;
  }

  restore(x: number, y: number, w: number, h: number, saved: Uint8Array): void {
    for (let r = 0; r < h; r++)
      this.pixels.set(saved.subarray(r * w * 4, (r + 1) * w * 4), ((y + r) * this.width + x) * 4);
  }

  clear(x: number, y: number, w: number, h: number): void {
    for (let r = 0; r < h; r++) {
      const o = ((y + r) * this.width + x) * 4;
      this.pixels.fill(0, o, o + w * 4);
    }
  }

  /** The canvas as it is now, at the PDQ size (or full size), in pixels of its own. */
  snapshot(full: boolean): DecodedImage {
    const image: DecodedImage = { width: this.width, height: this.height, channels: 4, pixels: this.pixels };
    const scaled = downscaleImage(image, full);
    // The caller frees the frame's pixels after hashing it: never hand out the canvas itself.
    return scaled === image ? { ...image, pixels: this.pixels.slice() } : scaled;
  }
}
