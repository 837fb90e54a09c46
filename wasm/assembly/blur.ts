// Steps 2-3 of PDQ: two-pass Jarosz box blur, then decimation to 64x64.
//
// A 1-D box of width W at index i averages in[i - floor((W-1)/2) .. i + floor(W/2)], clipped,
// with a float32 running sum that adds the entering sample and then subtracts the leaving one.
// The running sum carries rounding from every earlier step, so to reproduce the reference bit
// for bit each output must be computed by the same sequence of float32 operations. Within that
// constraint the work is reorganised:
//  - the luma image is never materialised: input rows arrive one at a time (the host streams
//    them in strips), are converted, box-filtered along the row and kept in a ring of W+1 rows,
//    which is all the column pass needs;
//  - the column pass keeps one running sum per column and advances all columns row by row
//    (contiguous, SIMD) instead of walking each column with a stride;
//  - the second pass only has to produce the 64 columns and 64 rows that decimation keeps, so
//    its row scan stores 64 values per row and its column pass runs on an h x 64 buffer.

import { lumaRow } from "./luma";
import { align16 } from "./memory";

/** Blur window sizes of the last hash (exposed for the stage-by-stage tests). */
export let lastWindowAlongRows: i32 = 0;
export let lastWindowAlongCols: i32 = 0;

/** Window of the reference for a dimension: ceil(dim / 128), so 1 below 128 px. */
export function windowFor(dim: i32): i32 {
  return (dim + 127) / 128;
}

/**
 * Box filter of width `w` over `len` samples at `inp` (stride `stride` bytes) into `out` (stride
 * `outStride`; must not overlap the input). Phases: grow (no sample leaves yet), steady (one enters, one leaves), shrink.
 */
export function boxLine(inp: usize, out: usize, len: i32, w: i32, stride: usize, outStride: usize): void {
  const ahead = w >> 1; // samples to the right of i
  const behind = (w + 1) >> 1; // distance from i to the sample that leaves at i
  let sum: f32 = 0;
  let pe = inp; // next entering sample
  for (let i = 0; i < ahead; i++) {
    sum += load<f32>(pe);
    pe += stride;
  }
  let po = out;
  let pl = inp; // next leaving sample
  let o = 0;
  // Grow: o < behind, entering index o + ahead < len.
  const growEnd = min(behind, len - ahead);
  for (; o < growEnd; o++) {
    sum += load<f32>(pe);
    pe += stride;
    store<f32>(po, sum / <f32>(o + ahead + 1));
    po += outStride;
  }
  // Steady: both an entering and a leaving sample.
  const fw = <f32>w;
  const steadyEnd = len - ahead;
  for (; o < steadyEnd; o++) {
    sum += load<f32>(pe);
    pe += stride;
    sum -= load<f32>(pl);
    pl += stride;
    store<f32>(po, sum / fw);
    po += outStride;
  }
  // Shrink: only leaving samples; the window holds indices l+1 .. len-1.
  for (; o < len; o++) {
    sum -= load<f32>(pl);
    pl += stride;
    const left = o - behind + 1;
    store<f32>(po, sum / <f32>(len - left));
    po += outStride;
  }
}

/** Row indices (or column indices) that decimation keeps: floor((i + 0.5) * dim / 64) in double. */
export function decimationIndex(i: i32, dim: i32): i32 {
  return <i32>Math.floor(((<f64>i + 0.5) * <f64>dim) / 64.0);
}

// Workspace of the image being blurred (module state keeps signatures short).
let W: i32 = 0; // image width
let H: i32 = 0; // image height
let C: i32 = 0; // channels
let winRows: i32 = 0; // window along rows (horizontal)
let winCols: i32 = 0; // window along columns (vertical)
let rowBytes: usize = 0;
let lineA: usize = 0; // luma of the current input row
let ring: usize = 0; // winCols + 1 first-pass rows
let ringRows: i32 = 0;
let colSum: usize = 0; // running column sums of the first column pass
let lineB: usize = 0; // one output row of the first column pass
let lineC: usize = 0; // that row after the second row pass
let mid: usize = 0; // H x 64: second row pass, decimated columns only
let colTmp: usize = 0; // one column of the second column pass
let rowsIn: i32 = 0; // input rows received so far
const COL_SEL: usize = memory.data(64 * 4, 16); // decimated column indices

/** Bytes of workspace blurBegin needs for a w x h image. */
export function blurWorkspace(w: i32, h: i32): usize {
  const rb = align16((<usize>w) << 2);
  return rb * <usize>(windowFor(h) + 5) + align16(((<usize>h) << 6) << 2) + align16((<usize>h) << 2);
}

/** Prepares to blur a w x h image using the workspace at `work` (blurWorkspace bytes, already mapped). */
export function blurBegin(w: i32, h: i32, channels: i32, work: usize): void {
  W = w;
  H = h;
  C = channels;
  winRows = windowFor(w); // the pass along rows uses the column count
  winCols = windowFor(h);
  lastWindowAlongRows = winRows;
  lastWindowAlongCols = winCols;
  rowBytes = align16((<usize>w) << 2);
  ringRows = winCols + 1;
  lineA = work;
  ring = lineA + rowBytes;
  colSum = ring + rowBytes * <usize>ringRows;
  lineB = colSum + rowBytes;
  lineC = lineB + rowBytes;
  mid = lineC + rowBytes;
  colTmp = mid + align16(((<usize>h) << 6) << 2);
  memory.fill(colSum, 0, rowBytes);
  for (let j = 0; j < 64; j++) store<i32>(COL_SEL + ((<usize>j) << 2), decimationIndex(j, w));
  rowsIn = 0;
}

/**
 * Takes the next input row (W pixels of C bytes at `row`): luma, first row pass, and every
 * column-pass output row that is now complete (output o needs rows up to o + floor(W/2)).
 */
export function blurRow(row: usize): void {
  const y = rowsIn++;
  lumaRow(row, W, C, lineA);
  const slot = ring + rowBytes * <usize>(y % ringRows);
  boxLine(lineA, slot, W, winRows, 4, 4);
  const ahead = winCols >> 1;
  if (y < ahead) addRow(colSum, slot, W);
  else emitColumnRow(y - ahead, y);
}

/** After all H rows: the last column-pass rows, the second column pass and decimation into `out64`. */
export function blurFinish(out64: usize): void {
  for (let o = H - (winCols >> 1); o < H; o++) emitColumnRow(o, -1);
  // Second column pass on the 64 kept columns (stride 64 floats), then keep 64 rows.
  for (let j = 0; j < 64; j++) {
    boxLine(mid + ((<usize>j) << 2), colTmp, H, winCols, 256, 4);
    for (let i = 0; i < 64; i++) {
      const v = load<f32>(colTmp + ((<usize>decimationIndex(i, H)) << 2));
      store<f32>(out64 + ((<usize>((i << 6) + j)) << 2), v);
    }
  }
}

/**
 * Emits output row `o` of the first column pass (`entering` is the row that enters the window,
 * or -1 past the end), then runs the second row pass on it and keeps the decimated columns.
 */
function emitColumnRow(o: i32, entering: i32): void {
  if (entering >= 0) addRow(colSum, ring + rowBytes * <usize>(entering % ringRows), W);
  const leaving = o - ((winCols + 1) >> 1);
  if (leaving >= 0) subRow(colSum, ring + rowBytes * <usize>(leaving % ringRows), W);
  const hi = entering >= 0 ? entering : H - 1;
  const lo = max(leaving + 1, 0);
  divRow(colSum, lineB, W, <f32>(hi - lo + 1));
  boxLine(lineB, lineC, W, winRows, 4, 4);
  const dst = mid + (((<usize>o) << 6) << 2);
  for (let j = 0; j < 64; j++) {
    const x = load<i32>(COL_SEL + ((<usize>j) << 2));
    store<f32>(dst + ((<usize>j) << 2), load<f32>(lineC + ((<usize>x) << 2)));
  }
}

/** acc[x] += row[x] for x < n, four columns at a time (same per-element operation as scalar). */
function addRow(acc: usize, row: usize, n: i32): void {
  let x = 0;
  for (; x + 4 <= n; x += 4) {
    const o = (<usize>x) << 2;
    v128.store(acc + o, f32x4.add(v128.load(acc + o), v128.load(row + o)));
  }
  for (; x < n; x++) {
    const o = (<usize>x) << 2;
    store<f32>(acc + o, load<f32>(acc + o) + load<f32>(row + o));
  }
}

/** acc[x] -= row[x]. */
function subRow(acc: usize, row: usize, n: i32): void {
  let x = 0;
  for (; x + 4 <= n; x += 4) {
    const o = (<usize>x) << 2;
    v128.store(acc + o, f32x4.sub(v128.load(acc + o), v128.load(row + o)));
  }
  for (; x < n; x++) {
    const o = (<usize>x) << 2;
    store<f32>(acc + o, load<f32>(acc + o) - load<f32>(row + o));
  }
}

/** out[x] = acc[x] / count. */
function divRow(acc: usize, out: usize, n: i32, count: f32): void {
  const c = f32x4.splat(count);
  let x = 0;
  for (; x + 4 <= n; x += 4) {
    const o = (<usize>x) << 2;
    v128.store(out + o, f32x4.div(v128.load(acc + o), c));
  }
  for (; x < n; x++) {
    const o = (<usize>x) << 2;
    store<f32>(out + o, load<f32>(acc + o) / count);
  }
}
