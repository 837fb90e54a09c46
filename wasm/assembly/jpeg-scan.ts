// JPEG scans: the MCU walk, baseline and progressive block decoding, restart intervals.
//
// Baseline: each block of a needed component is dequantised (only its blockSize x blockSize
// corner) and rendered straight into the component's reduced plane; other blocks are decoded
// only to advance. Progressive: coefficients accumulate in per-block records (jpeg-frame.ts:
// recordBytes) and are rendered once every scan is in (finishProgressive). A scan that cannot
// change the needed coefficients (a chroma AC band, or a band above needK) is skipped unread.

import {
  bitsChunk,
  bitsConsumed,
  bitsRemaining,
  bitsStartScan,
  decodeFastAc,
  decodeSymbol,
  getBit,
  getBits,
  huffmanDefined,
  MCU_MARGIN,
  overran,
  receiveExtend,
  takeRestart,
} from "./jpeg-bits";
import {
  blockSize,
  cf,
  components,
  ERR_CORRUPT,
  ERR_TRUNCATED,
  F_BH,
  F_BW,
  F_COEF,
  F_H,
  F_ID,
  F_KEEP,
  F_NEED,
  F_PLANE,
  F_REC,
  F_STRIDE,
  F_TQ,
  F_V,
  mcusX,
  mcusY,
  needK,
  OK,
  progressive,
  QUANT,
  quantDefined,
  restartInterval,
  setCf,
  ZIGZAG,
} from "./jpeg-frame";
import { BLOCK, idctBlock, initIdct } from "./jpeg-idct";

// The current scan.
let scanCount = 0;
const SCAN_COMP: usize = memory.data(4 * 4, 16); // frame component index per scan component
const SCAN_DC: usize = memory.data(4 * 4, 16);
const SCAN_AC: usize = memory.data(4 * 4, 16);
let ss = 0;
let se = 63;
let ah = 0;
let al = 0;
let mcu = 0; // next MCU (or block, in a one-component scan)
let mcuTotal = 0;
let unitsX = 0; // MCUs (or blocks) per row
let todo = 0; // MCUs left in the restart interval
let nextRst = 0;
let eobrun = 0;
let done = true;
const DC_PRED: usize = memory.data(4 * 4, 16);
/** Per component: 1 once a scan carrying it has been decoded (a needed component without one is corrupt). */
const SEEN: usize = memory.data(4, 16);
/** Scratch record for blocks of components the luma does not need (their values are dropped). */
const SCRATCH: usize = memory.data(64 * 2 + 8, 16);
/** For the current blockSize: 1 if zig-zag index k lies in the blockSize x blockSize corner. */
const IN_CORNER: usize = memory.data(64, 16);

/** Parses an SOS header at `p`. Returns OK or ERR_CORRUPT; fills the scan fields. */
function readScanHeader(p: usize, len: i32): i32 {
  if (len < 1) return ERR_CORRUPT;
  scanCount = <i32>load<u8>(p);
  if (scanCount < 1 || scanCount > 4 || len < 4 + 2 * scanCount) return ERR_CORRUPT;
  for (let i = 0; i < scanCount; i++) {
    const id = <i32>load<u8>(p + <usize>(1 + 2 * i));
    let c = 0;
    while (c < components && cf(c, F_ID) !== id) c++;
    if (c === components) return ERR_CORRUPT;
    for (let j = 0; j < i; j++) if (load<i32>(SCAN_COMP + ((<usize>j) << 2)) === c) return ERR_CORRUPT;
    const t = <i32>load<u8>(p + <usize>(2 + 2 * i));
    store<i32>(SCAN_COMP + ((<usize>i) << 2), c);
    store<i32>(SCAN_DC + ((<usize>i) << 2), t >> 4);
    store<i32>(SCAN_AC + ((<usize>i) << 2), 4 + (t & 15));
    if (t >> 4 > 3 || (t & 15) > 3) return ERR_CORRUPT;
  }
  const q = p + <usize>(1 + 2 * scanCount);
  ss = <i32>load<u8>(q);
  se = <i32>load<u8>(q, 1);
  ah = <i32>load<u8>(q, 2) >> 4;
  al = <i32>load<u8>(q, 2) & 15;
  if (progressive) {
    if (ss > se || se > 63 || ah > 13 || al > 13) return ERR_CORRUPT;
    if (ss === 0 && se !== 0) return ERR_CORRUPT; // DC and AC never share a scan
    if (ss > 0 && scanCount !== 1) return ERR_CORRUPT; // AC scans have one component
  } else {
    ss = 0;
    se = 63;
    ah = 0;
    al = 0;
  }
  return OK;
}

/** True when the scan cannot change anything the luma needs, so its data can be skipped. */
function skippable(): bool {
  if (!progressive) {
    for (let i = 0; i < scanCount; i++)
      if (cf(load<i32>(SCAN_COMP + ((<usize>i) << 2)), F_NEED) !== 0) return false;
    return true;
  }
  if (ss === 0) return false; // DC scans: interleaved, cheap, and they set the DC predictors
  const c = load<i32>(SCAN_COMP);
  return cf(c, F_NEED) === 0 || ss > cf(c, F_KEEP);
}

// AC bands seen by the planning pass: (component, ss, se) per scan.
const MAX_PLANNED: i32 = 1024;
const PLANNED: usize = memory.data(MAX_PLANNED * 3 * 4, 16);
let planned = 0;

export function planReset(): void {
  planned = 0;
  memory.fill(SEEN, 0, 4);
}

/** True when every component the luma needs was in some decoded scan. */
export function neededSeen(): bool {
  for (let c = 0; c < components; c++)
    if (cf(c, F_NEED) !== 0 && load<u8>(SEEN + <usize>c) === 0) return false;
  return true;
}

/** First pass over the SOS headers: remembers every AC band of a needed component. */
export function planScan(p: usize, len: i32): i32 {
  const r = readScanHeader(p, len);
  if (r !== OK) return r;
  if (!progressive || ss === 0) return OK;
  const c = load<i32>(SCAN_COMP);
  if (cf(c, F_NEED) === 0) return OK;
  if (planned === MAX_PLANNED) return ERR_CORRUPT;
  const at = PLANNED + <usize>(planned * 12);
  store<i32>(at, c);
  store<i32>(at, ss, 4);
  store<i32>(at, se, 8);
  planned++;
  return OK;
}

/**
 * How far each needed component's decoded bands reach. A band that starts above needK can be
 * skipped only if no decoded band covers its coefficients later: a refinement scan reads their
 * history (which are non-zero). So the reach grows to a fixed point over the planned bands.
 */
export function planFinish(): void {
  for (let c = 0; c < components; c++) {
    if (cf(c, F_NEED) === 0) continue;
    let keep = needK;
    let grew = true;
    while (grew) {
      grew = false;
      for (let i = 0; i < planned; i++) {
        const at = PLANNED + <usize>(i * 12);
        if (load<i32>(at) !== c || load<i32>(at, 4) > keep) continue;
        const e = load<i32>(at, 8);
        if (e > keep) {
          keep = e;
          grew = true;
        }
      }
    }
    setCf(c, F_KEEP, keep);
  }
}

/** Starts a scan. Returns 1 if its data is to be skipped, 0 to decode it, or an error. */
export function beginScan(p: usize, len: i32): i32 {
  const r = readScanHeader(p, len);
  if (r !== OK) return r;
  done = true;
  if (skippable()) return 1;
  for (let i = 0; i < scanCount; i++) {
    const c = load<i32>(SCAN_COMP + ((<usize>i) << 2));
    if (!quantDefined(cf(c, F_TQ))) return ERR_CORRUPT;
    if (ss === 0 && ah === 0 && !huffmanDefined(load<i32>(SCAN_DC + ((<usize>i) << 2)))) return ERR_CORRUPT;
    if (se > 0 && !huffmanDefined(load<i32>(SCAN_AC + ((<usize>i) << 2)))) return ERR_CORRUPT;
    // A band the planning pass did not see (the file changed between passes) would overflow a record.
    if (progressive && ss > 0 && cf(c, F_NEED) !== 0 && se > cf(c, F_KEEP)) return ERR_CORRUPT;
  }
  if (scanCount === 1) {
    const c = load<i32>(SCAN_COMP);
    unitsX = cf(c, F_BW);
    mcuTotal = unitsX * cf(c, F_BH);
  } else {
    unitsX = mcusX;
    mcuTotal = mcusX * mcusY;
  }
  for (let i = 0; i < scanCount; i++) store<u8>(SEEN + <usize>load<i32>(SCAN_COMP + ((<usize>i) << 2)), 1);
  mcu = 0;
  todo = restartInterval;
  nextRst = 0;
  eobrun = 0;
  memory.fill(DC_PRED, 0, 16);
  for (let k = 0; k < 64; k++) {
    const z = <i32>load<u8>(ZIGZAG + <usize>k);
    store<u8>(IN_CORNER + <usize>k, z >> 3 < blockSize && (z & 7) < blockSize ? 1 : 0);
  }
  initIdct();
  bitsStartScan();
  done = mcuTotal === 0;
  return 0;
}

export function scanDone(): bool {
  return done;
}

/**
 * Decodes MCUs from the `n` bytes in the input window, stopping at an MCU boundary when fewer
 * than MCU_MARGIN bytes remain (unless `last`). Returns the bytes consumed or an error.
 */
export function scanData(n: i32, last: bool): i32 {
  bitsChunk(n);
  while (!done && (last || bitsRemaining() >= MCU_MARGIN)) {
    if (restartInterval > 0 && todo === 0) {
      if (!takeRestart(nextRst)) return last && bitsRemaining() < 2 ? ERR_TRUNCATED : ERR_CORRUPT;
      nextRst = (nextRst + 1) & 7;
      todo = restartInterval;
      eobrun = 0;
      memory.fill(DC_PRED, 0, 16);
    }
    const r = decodeMcu();
    if (r !== OK) return r;
    if (overran) return ERR_TRUNCATED;
    mcu++;
    todo--;
    if (mcu === mcuTotal) done = true;
  }
  return bitsConsumed();
}

function decodeMcu(): i32 {
  if (scanCount === 1) {
    const c = load<i32>(SCAN_COMP);
    return decodeBlock(0, c, mcu % unitsX, mcu / unitsX);
  }
  const mx = mcu % unitsX;
  const my = mcu / unitsX;
  for (let i = 0; i < scanCount; i++) {
    const c = load<i32>(SCAN_COMP + ((<usize>i) << 2));
    const h = cf(c, F_H);
    const v = cf(c, F_V);
    for (let by = 0; by < v; by++) {
      for (let bx = 0; bx < h; bx++) {
        const r = decodeBlock(i, c, mx * h + bx, my * v + by);
        if (r !== OK) return r;
      }
    }
  }
  return OK;
}

function decodeBlock(i: i32, c: i32, bx: i32, by: i32): i32 {
  if (!progressive) return baselineBlock(i, c, bx, by);
  const need = cf(c, F_NEED) !== 0;
  let rec = SCRATCH;
  let keep = 63;
  if (need) {
    // Records are laid out on the MCU grid; one-component scans address the same blocks.
    rec = <usize>cf(c, F_COEF) + (<usize>by * <usize>stride(c) + <usize>bx) * <usize>cf(c, F_REC);
    keep = needK;
  }
  if (ss === 0) return ah === 0 ? dcFirst(i, rec) : dcRefine(rec);
  return ah === 0 ? acFirst(i, rec, keep, need) : acRefine(i, rec, keep, need);
}

function stride(c: i32): i32 {
  return cf(c, F_STRIDE) / blockSize; // blocks per row of the MCU grid
}

function baselineBlock(i: i32, c: i32, bx: i32, by: i32): i32 {
  const dcTable = load<i32>(SCAN_DC + ((<usize>i) << 2));
  const acTable = load<i32>(SCAN_AC + ((<usize>i) << 2));
  const t = decodeSymbol(dcTable);
  if (t < 0 || t > 11) return ERR_CORRUPT;
  const predAt = DC_PRED + ((<usize>i) << 2);
  const dc = load<i32>(predAt) + receiveExtend(t);
  store<i32>(predAt, dc);
  const need = cf(c, F_NEED) !== 0;
  const q = QUANT + ((<usize>cf(c, F_TQ)) << 7);
  if (need) {
    for (let y = 0; y < blockSize; y++) memory.fill(BLOCK + <usize>(y << 5), 0, <usize>(blockSize << 2));
    store<f32>(BLOCK, <f32>(dc * <i32>load<u16>(q)));
  }
  let acZero = true;
  let rows = 1; // spectrum rows holding a non-zero coefficient (row 0 has the DC term)
  let k = 1;
  while (k < 64) {
    const f = decodeFastAc(acTable);
    if (f !== 0) {
      k += (f >> 8) & 15;
      if (k > 63) return ERR_CORRUPT;
      if (need && k <= needK && load<u8>(IN_CORNER + <usize>k) !== 0) {
        const z = <usize>load<u8>(ZIGZAG + <usize>k);
        store<f32>(BLOCK + (z << 2), <f32>((f >> 16) * <i32>load<u16>(q + (z << 1))));
        acZero = false;
        rows |= 1 << (<i32>(z >> 3));
      }
      k++;
      continue;
    }
    const rs = decodeSymbol(acTable);
    if (rs < 0) return ERR_CORRUPT;
    const r = rs >> 4;
    const s = rs & 15;
    if (s === 0) {
      if (r !== 15) break;
      k += 16;
      continue;
    }
    k += r;
    if (k > 63) return ERR_CORRUPT;
    const v = receiveExtend(s);
    if (need && k <= needK && load<u8>(IN_CORNER + <usize>k) !== 0) {
      const z = <usize>load<u8>(ZIGZAG + <usize>k);
      store<f32>(BLOCK + (z << 2), <f32>(v * <i32>load<u16>(q + (z << 1))));
      acZero = false;
      rows |= 1 << (<i32>(z >> 3));
    }
    k++;
  }
  if (k > 64) return ERR_CORRUPT;
  if (need && bx < cf(c, F_BW) && by < cf(c, F_BH)) {
    const st = <usize>cf(c, F_STRIDE);
    idctBlock(
      blockSize,
      acZero,
      <usize>cf(c, F_PLANE) + <usize>by * <usize>blockSize * st + <usize>(bx * blockSize),
      st,
      rows,
    );
  }
  return OK;
}

function dcFirst(i: i32, rec: usize): i32 {
  const t = decodeSymbol(load<i32>(SCAN_DC + ((<usize>i) << 2)));
  if (t < 0 || t > 11) return ERR_CORRUPT;
  const predAt = DC_PRED + ((<usize>i) << 2);
  const dc = load<i32>(predAt) + receiveExtend(t);
  store<i32>(predAt, dc);
  store<i16>(rec, <i16>(dc << al));
  return OK;
}

function dcRefine(rec: usize): i32 {
  if (getBit() !== 0) store<i16>(rec, <i16>(<i32>load<i16>(rec) | (1 << al)));
  return OK;
}

// Non-zero test and update for zig-zag index k of a record: values up to `keep`, mask above.
function nonZero(rec: usize, keep: i32, k: i32): bool {
  if (k <= keep) return load<i16>(rec + ((<usize>k) << 1)) !== 0;
  return (load<u64>(maskAt(rec, keep)) & ((<u64>1) << (<u64>k))) !== 0;
}

function maskAt(rec: usize, keep: i32): usize {
  return rec + <usize>(((keep + 1) * 2 + 7) & ~7);
}

function setValue(rec: usize, keep: i32, need: bool, k: i32, v: i32): void {
  if (k <= keep) store<i16>(rec + ((<usize>k) << 1), <i16>v);
  else if (need) {
    const m = maskAt(rec, keep);
    store<u64>(m, load<u64>(m) | ((<u64>1) << (<u64>k)));
  }
}

function acFirst(i: i32, rec: usize, keep: i32, need: bool): i32 {
  if (eobrun > 0) {
    eobrun--;
    return OK;
  }
  const table = load<i32>(SCAN_AC + ((<usize>i) << 2));
  for (let k = ss; k <= se; k++) {
    const rs = decodeSymbol(table);
    if (rs < 0) return ERR_CORRUPT;
    const r = rs >> 4;
    const s = rs & 15;
    if (s === 0) {
      if (r < 15) {
        eobrun = (1 << r) - 1 + getBits(r);
        break;
      }
      k += 15;
      continue;
    }
    k += r;
    if (k > se) return ERR_CORRUPT;
    setValue(rec, keep, need, k, receiveExtend(s) * (1 << al));
  }
  return OK;
}

function acRefine(i: i32, rec: usize, keep: i32, need: bool): i32 {
  const p1 = 1 << al;
  const m1 = -1 << al;
  const table = load<i32>(SCAN_AC + ((<usize>i) << 2));
  let k = ss;
  if (eobrun === 0) {
    for (; k <= se; k++) {
      const rs = decodeSymbol(table);
      if (rs < 0) return ERR_CORRUPT;
      let r = rs >> 4;
      let s = rs & 15;
      if (s !== 0) {
        if (s !== 1) return ERR_CORRUPT;
        s = getBit() !== 0 ? p1 : m1;
      } else if (r !== 15) {
        eobrun = (1 << r) + getBits(r);
        break;
      }
      // Skip r zero-history coefficients (refining the non-zero ones on the way), then place s.
      while (k <= se) {
        if (nonZero(rec, keep, k)) {
          refine(rec, keep, k, p1, m1);
        } else {
          if (r === 0) break;
          r--;
        }
        k++;
      }
      if (s !== 0) {
        if (k > se) return ERR_CORRUPT;
        setValue(rec, keep, need, k, s);
      }
    }
  }
  if (eobrun > 0) {
    for (; k <= se; k++) if (nonZero(rec, keep, k)) refine(rec, keep, k, p1, m1);
    eobrun--;
  }
  return OK;
}

function refine(rec: usize, keep: i32, k: i32, p1: i32, m1: i32): void {
  if (getBit() === 0 || k > keep) return;
  const at = rec + ((<usize>k) << 1);
  const v = <i32>load<i16>(at);
  if ((v & p1) === 0) store<i16>(at, <i16>(v >= 0 ? v + p1 : v + m1));
}

/** Renders every block of the needed components from their records. */
export function finishProgressive(): i32 {
  if (!progressive) return OK;
  for (let c = 0; c < components; c++) {
    if (cf(c, F_NEED) === 0) continue;
    const q = QUANT + ((<usize>cf(c, F_TQ)) << 7);
    const recBytes = <usize>cf(c, F_REC);
    const st = <usize>cf(c, F_STRIDE);
    const perRow = <usize>stride(c);
    const bw = cf(c, F_BW);
    const bh = cf(c, F_BH);
    const plane = <usize>cf(c, F_PLANE);
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        const rec = <usize>cf(c, F_COEF) + (<usize>by * perRow + <usize>bx) * recBytes;
        for (let y = 0; y < blockSize; y++) memory.fill(BLOCK + <usize>(y << 5), 0, <usize>(blockSize << 2));
        let acZero = true;
        let rows = 1;
        for (let k = 0; k <= needK; k++) {
          const v = <i32>load<i16>(rec + ((<usize>k) << 1));
          if (v === 0 || load<u8>(IN_CORNER + <usize>k) === 0) continue;
          const z = <usize>load<u8>(ZIGZAG + <usize>k);
          store<f32>(BLOCK + (((z >> 3) * 8 + (z & 7)) << 2), <f32>(v * <i32>load<u16>(q + (z << 1))));
          if (k > 0) acZero = false;
          rows |= 1 << (<i32>(z >> 3));
        }
        idctBlock(
          blockSize,
          acZero,
          plane + <usize>by * <usize>blockSize * st + <usize>(bx * blockSize),
          st,
          rows,
        );
      }
    }
  }
  return OK;
}

/** Sets the corner table for finishProgressive when no scan was decoded (all skipped). */
export function prepareCorner(): void {
  for (let k = 0; k < 64; k++) {
    const z = <i32>load<u8>(ZIGZAG + <usize>k);
    store<u8>(IN_CORNER + <usize>k, z >> 3 < blockSize && (z & 7) < blockSize ? 1 : 0);
  }
  initIdct();
}
