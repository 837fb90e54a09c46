// The ABI of the hashgate core. Only numbers cross the boundary: the host writes pixels or
// hashes into buffers whose addresses it gets from here, calls begin/feed/finish or search, and
// reads results back from fixed output buffers. The algorithm lives in the other files of this directory.

export {
  inflateBegin,
  inflateFeed,
  inflateInputPtr,
  inflateOutEnd,
  inflateOutPtr,
  inflateOutStart,
  inflateRun,
  inflateUnread,
} from "./inflate";
export {
  jpegAllocate,
  jpegBegin,
  jpegFinish,
  jpegInputPtr,
  jpegOutHeight,
  jpegOutPtr,
  jpegOutStride,
  jpegOutWidth,
  jpegPlanScan,
  jpegScanData,
  jpegScanDone,
  jpegSegment,
  jpegWorkBytes,
} from "./jpeg";
export {
  mihBuild,
  mihDistance,
  mihOutPtr,
  mihQuery,
  mihReserve,
  mihSearch,
  mihSize,
  mihWithin,
} from "./mih";
export { begin, feed, finish, stripPtr, windowAlongCols, windowAlongRows } from "./pdq";
export { pngConvert, pngPalettePtr, pngRowsBegin, pngRowsStride, pngUnfilter } from "./png";
export { indexAppend, indexBase, indexReserve, search, stagingPtr } from "./search";

import { HASHES } from "./pdq";
import { bestDistance, bestQuery, QUERIES, STAGING_HASHES } from "./search";

/** 8 x 32 bytes: the hashes of the last finish() call, in dihedral order. */
export function hashesPtr(): usize {
  return HASHES;
}

/** How many hashes the staging buffer (stagingPtr) takes per indexAppend call. */
export function stagingCapacity(): i32 {
  return STAGING_HASHES;
}

/** 8 x 32 bytes: query hashes for search(). */
export function queryPtr(): usize {
  return QUERIES;
}

export function resultDistance(): i32 {
  return bestDistance;
}

export function resultQuery(): i32 {
  return bestQuery;
}
