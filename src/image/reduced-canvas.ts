/**
 * An animation canvas kept at the PDQ size: each cell of the area-average plan (downscale.ts)
 * holds the mean luma of its screen pixels, so an animation whose screen is too large for a
 * full-size canvas (frames.ts, 2048×2048) is composited in memory that follows the output.
 * Luma alone, because PDQ hashes luma and drops alpha: a pixel no frame covers, or a cleared
 * one, is transparent black, luma 0.
 *
 * A cell a frame covers entirely with opaque pixels gets exactly the mean of those pixels, and
 * a cell the frame does not touch keeps its value. A cell covered in part (the frame's edge, or
 * transparent pixels in it) keeps its old mean for the part not drawn, as if the pixels under
 * it were its average: the approximation, measured in test/image/gif-reduced.test.ts against
 * compositing at full size. Clearing a rectangle (disposal 2) scales a partly covered cell the
 * same way; "restore to previous" (disposal 3) restores a copy of the cells, which is exact.
 */
import type { ScalePlan } from "./downscale.ts";
import { spendAnimationPixels } from "./frames.ts";
import type { DecodedImage } from "./types.ts";

/** Bytes a ReducedLumaCanvas of `plan` holds at most, for the budget (see the fields below). */
export function reducedCanvasBytes(plan: ScalePlan, screenWidth: number, screenHeight: number): number {
  return plan.width * plan.height * 17 + (screenWidth + screenHeight + plan.width + plan.height + 2) * 4;
}

export class ReducedLumaCanvas {
  readonly plan: ScalePlan;
  /** Mean luma of each cell. */
  private readonly mean: Float32Array;
  /** The frame being drawn: sum and count of the opaque pixels drawn in each cell. */
  private readonly drawnSum: Uint32Array;
  private readonly drawnCount: Uint32Array;
  /** The cells before the frame, kept while a frame that restores "previous" is drawn. */
  private saved: Float32Array | null = null;
  /** Cell of each screen column / row, and the first column / row of each cell. */
  private readonly cellOfX: Int32Array;
  private readonly cellOfY: Int32Array;
  private readonly colStart: Int32Array;
  private readonly rowStart: Int32Array;
  private composited = 0;

  constructor(screenWidth: number, screenHeight: number, plan: ScalePlan) {
    this.plan = plan;
    const cells = plan.width * plan.height;
    this.mean = new Float32Array(cells);
    this.drawnSum = new Uint32Array(cells);
    this.drawnCount = new Uint32Array(cells);
    this.colStart = starts(plan.width, plan.xNum, plan.xDen, screenWidth);
    this.rowStart = starts(plan.height, plan.yNum, plan.yDen, screenHeight);
    this.cellOfX = cellsOf(screenWidth, plan.width, plan.xNum, plan.xDen);
    this.cellOfY = cellsOf(screenHeight, plan.height, plan.yNum, plan.yDen);
  }

  /** Counts a frame's pixels against ANIMATION_MAX_PIXELS before it is drawn. */
  spend(pixels: number, frame: number): void {
    this.composited = spendAnimationPixels(this.composited, pixels, frame);
  }

  /** Keeps a copy of the cells, for restore(). */
  save(): void {
    this.saved = this.mean.slice();
  }

  restore(): void {
    if (this.saved) this.mean.set(this.saved);
    this.saved = null;
  }

  /**
   * Draws `count` palette indices of screen row `y` from x = x0 (already clipped to the screen):
   * `luma` gives each index's luma, `transparent` (-1: none) leaves the canvas as it was.
   */
  drawRow(
    y: number,
    x0: number,
    indices: Uint8Array,
    count: number,
    luma: Uint8Array,
    transparent: number,
  ): void {
    const row = this.cellOfY[y]! * this.plan.width;
    const { cellOfX, colStart, drawnSum, drawnCount } = this;
    // Cell by cell, summed in locals: one read-modify-write of the sums per cell, not per pixel.
    for (let x = x0, i = 0; x < x0 + count; ) {
      const cell = cellOfX[x]!;
      const stop = Math.min(x0 + count, colStart[cell + 1]!);
      let sum = 0;
      let drawn = 0;
      for (; x < stop; x++, i++) {
        const idx = indices[i]!;
        if (idx === transparent) continue;
        sum += luma[idx]!;
        drawn++;
      }
      drawnSum[row + cell]! += sum;
      drawnCount[row + cell]! += drawn;
    }
  }

  /** Ends the frame drawn in the rectangle (clipped to the screen): blends each of its cells. */
  endFrame(x: number, y: number, w: number, h: number): void {
    this.eachCell(x, y, w, h, (c, area) => {
      const n = this.drawnCount[c]!;
      if (n === 0) return;
      this.mean[c] = (this.drawnSum[c]! + (area - n) * this.mean[c]!) / area;
      this.drawnSum[c] = 0;
      this.drawnCount[c] = 0;
    });
  }

  /** Clears the rectangle to transparent black (disposal 2). */
  clear(x: number, y: number, w: number, h: number): void {
    this.eachCell(x, y, w, h, (c, area, covered) => {
      this.mean[c] = (this.mean[c]! * (area - covered)) / area;
    });
  }

  /** The canvas as it is now: one-channel luma at the plan's size, in pixels of its own. */
  snapshot(): DecodedImage {
    const { width, height } = this.plan;
    const pixels = new Uint8Array(width * height);
    for (let i = 0; i < pixels.length; i++) pixels[i] = Math.min(255, Math.round(this.mean[i]!));
    return { width, height, channels: 1, pixels };
  }

  /** Calls `f` for each cell the rectangle touches, with the cell's area and how much of it the rectangle covers. */
  private eachCell(
    x: number,
    y: number,
    w: number,
    h: number,
    f: (c: number, area: number, covered: number) => void,
  ): void {
    if (w <= 0 || h <= 0) return;
    const { colStart, rowStart, cellOfX, cellOfY } = this;
    const overlap = (starts: Int32Array, i: number, a: number, b: number) =>
      Math.min(b, starts[i + 1]!) - Math.max(a, starts[i]!);
    for (let cy = cellOfY[y]!; cy <= cellOfY[y + h - 1]!; cy++) {
      const rows = rowStart[cy + 1]! - rowStart[cy]!;
      const coveredRows = overlap(rowStart, cy, y, y + h);
      for (let cx = cellOfX[x]!; cx <= cellOfX[x + w - 1]!; cx++) {
        const cols = colStart[cx + 1]! - colStart[cx]!;
        f(cy * this.plan.width + cx, rows * cols, coveredRows * overlap(colStart, cx, x, x + w));
      }
    }
  }
}

/** First source index of each of `n` cells (and the end), as AreaDownscaler places them. */
function starts(n: number, num: number, den: number, side: number): Int32Array {
  const out = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) out[i] = Math.min(side, Math.ceil((i * den) / num));
  out[n] = side;
  return out;
}

function cellsOf(side: number, n: number, num: number, den: number): Int32Array {
  const out = new Int32Array(side);
  for (let i = 0; i < side; i++) out[i] = Math.min(n - 1, Math.floor((i * num) / den));
  return out;
}
