// The scaled JPEG luma decoder's entry points (re-exported by index.ts). The host walks the
// file's markers and hands each segment's payload, then each scan's coded data in chunks,
// through the input window: jpegBegin, jpegSegment for APP14/SOF, jpegPlanScan for every SOS
// header, jpegAllocate, then jpegSegment for the tables and scans in file order with
// jpegScanData for each decoded scan's data, and jpegFinish. The luma plane is then at
// jpegOutPtr (jpegOutWidth x jpegOutHeight, row stride jpegOutStride).

import { INPUT } from "./jpeg-bits";
import {
  allocate,
  combineLuma,
  ERR_CORRUPT,
  frameDefined,
  frameReset,
  OK,
  outHeight,
  outPtr,
  outStride,
  outWidth,
  readAdobe,
  readFrame,
  readHuffman,
  readQuant,
  readRestartInterval,
  workBytes,
} from "./jpeg-frame";
import {
  beginScan,
  finishProgressive,
  neededSeen,
  planFinish,
  planReset,
  planScan,
  prepareCorner,
  scanData,
  scanDone,
} from "./jpeg-scan";

/** Starts an image; `shortSide` is the smallest shorter side the output may have (<= 0: full size). */
export function jpegBegin(shortSide: i32): void {
  frameReset(shortSide);
  planReset();
}

export function jpegInputPtr(): usize {
  return INPUT;
}

/**
 * A marker segment whose payload (without the length field) is in the input window. For SOS,
 * returns 1 when the scan's data can be skipped, 0 when it must be fed to jpegScanData.
 */
export function jpegSegment(marker: i32, len: i32): i32 {
  if (marker === 0xee) return readAdobe(INPUT, len);
  if (marker === 0xdb) return readQuant(INPUT, len);
  if (marker === 0xc4) return readHuffman(INPUT, len);
  if (marker === 0xdd) return readRestartInterval(INPUT, len);
  if (marker === 0xda) return frameDefined() ? beginScan(INPUT, len) : ERR_CORRUPT;
  if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc8 && marker !== 0xcc)
    return readFrame(marker, INPUT, len);
  return OK; // other segments (APPn, COM, DAC is refused with its frame) carry nothing the luma needs
}

/** First pass: an SOS header, so that coefficient records are sized before any data is decoded. */
export function jpegPlanScan(len: i32): i32 {
  return frameDefined() ? planScan(INPUT, len) : ERR_CORRUPT;
}

/** Bytes the decode will add to linear memory (call after planning). */
export function jpegWorkBytes(): f64 {
  planFinish();
  return <f64>workBytes();
}

export function jpegAllocate(): i32 {
  planFinish();
  const r = allocate();
  if (r === OK) prepareCorner();
  return r;
}

export function jpegScanData(n: i32, last: bool): i32 {
  return scanData(n, last);
}

export function jpegScanDone(): bool {
  return scanDone();
}

export function jpegFinish(): i32 {
  if (!neededSeen()) return ERR_CORRUPT; // e.g. a baseline file without its luma scan
  prepareCorner();
  const r = finishProgressive();
  if (r !== OK) return r;
  combineLuma();
  return OK;
}

export function jpegOutPtr(): usize {
  return outPtr;
}

export function jpegOutWidth(): i32 {
  return outWidth;
}

export function jpegOutHeight(): i32 {
  return outHeight;
}

export function jpegOutStride(): i32 {
  return outStride;
}
