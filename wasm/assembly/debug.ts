// The core's ABI (index.ts) plus accessors to the hash's intermediate stages, for the
// stage-by-stage tests against the reference dumps. Built as build/core.debug.wasm with the
// release optimizations (`npm run build:wasm:debug`); the deployed build/core.wasm has none of
// these exports, so a Worker cannot be asked for them.

export * from "./index";

import { DCT_MATRIX, initDct } from "./dct";
import { BUF64, DCT16, lastMedian } from "./pdq";

/** 64x64 float32 buffer after blur and decimation. */
export function debugBufferPtr(): usize {
  return BUF64;
}

/** 16x16 float32 DCT. */
export function debugDctPtr(): usize {
  return DCT16;
}

/** Median of the unrotated DCT. */
export function debugMedian(): f32 {
  return lastMedian;
}

/** 16x64 float32 DCT matrix. */
export function debugDctMatrixPtr(): usize {
  initDct();
  return DCT_MATRIX;
}
