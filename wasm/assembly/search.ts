// Near-duplicate search: brute-force Hamming distance over N packed 256-bit hashes.
//
// The index is N x 32 bytes in the dynamic region (32 MB per million hashes), hashes in the
// byte order of their hex strings. A query is up to 8 hashes (the dihedral variants of one
// image); each entry is loaded once and compared with every query. Random 256-bit hashes differ
// in ~64 of their first 128 bits, far above any useful threshold, so the second half of an entry
// is only compared when the first half is within the bound. (A word-interleaved SIMD layout was
// tried: V8 emulates i8x16.popcnt on x64 and it ran 1.5-3x slower than scalar i64.popcnt.)

import { dynamicBase, ensureMemory } from "./memory";

/** Up to 8 query hashes of 32 bytes, written by the host. */
export const QUERIES: usize = memory.data(8 * 32, 16);
/** Hashes are appended through this buffer, STAGING_HASHES at a time. */
export const STAGING_HASHES: i32 = 4096;
const STAGING: usize = memory.data(STAGING_HASHES * 32, 16);

let indexCount: i32 = 0;
let indexCapacity: i32 = 0;
export let bestDistance: i32 = -1;
export let bestQuery: i32 = -1;

/** Empties the index and reserves room for `n` hashes; false if memory cannot grow. */
export function indexReserve(n: i32): bool {
  if (n < 0) return false;
  if (!ensureMemory(dynamicBase() + ((<usize>n) << 5))) return false;
  indexCount = 0;
  indexCapacity = n;
  return true;
}

/** Hashes appended so far. */
export function indexLength(): i32 {
  return indexCount;
}

/** Address of entry 0 of the index. */
export function indexBase(): usize {
  return dynamicBase();
}

export function stagingPtr(): usize {
  return STAGING;
}

/** Appends the first `k` hashes of the staging buffer; returns the new count or -1 if full. */
export function indexAppend(k: i32): i32 {
  if (k < 0 || k > STAGING_HASHES || indexCount + k > indexCapacity) return -1;
  memory.copy(dynamicBase() + ((<usize>indexCount) << 5), STAGING, (<usize>k) << 5);
  indexCount += k;
  return indexCount;
}

/**
 * Finds the entry with the smallest distance <= `threshold` to any of the first `nQueries`
 * query hashes (ties: lowest entry, then lowest query). Returns the entry index or -1; the
 * distance and query number are in bestDistance / bestQuery.
 */
export function search(nQueries: i32, threshold: i32): i32 {
  bestDistance = -1;
  bestQuery = -1;
  if (nQueries < 1 || nQueries > 8 || threshold < 0) return -1;
  return nQueries === 1 ? searchOne(threshold) : searchMany(nQueries, threshold);
}

/** One query, kept in locals. */
function searchOne(threshold: i32): i32 {
  const q0 = load<u64>(QUERIES);
  const q1 = load<u64>(QUERIES, 8);
  const q2 = load<u64>(QUERIES, 16);
  const q3 = load<u64>(QUERIES, 24);
  let bound = <u64>threshold;
  let best = -1;
  let e = dynamicBase();
  const n = indexCount;
  for (let i = 0; i < n; i++) {
    let d = popcnt<u64>(load<u64>(e) ^ q0) + popcnt<u64>(load<u64>(e, 8) ^ q1);
    if (d <= bound) {
      d += popcnt<u64>(load<u64>(e, 16) ^ q2) + popcnt<u64>(load<u64>(e, 24) ^ q3);
      if (d <= bound && (best < 0 || <i32>d < bestDistance)) {
        best = i;
        bestDistance = <i32>d;
        bestQuery = 0;
        bound = d;
      }
    }
    e += 32;
  }
  return best;
}

/**
 * 2 to 8 queries. The first-half distance to every query is computed without branches (unused
 * query slots hold the first query again), and one well-predicted test per entry decides
 * whether the exact, ordered comparison is needed.
 */
function searchMany(nQueries: i32, threshold: i32): i32 {
  for (let q = nQueries; q < 8; q++) memory.copy(QUERIES + ((<usize>q) << 5), QUERIES, 32);
  const a0 = load<u64>(QUERIES, 0);
  const b0 = load<u64>(QUERIES, 8);
  const a1 = load<u64>(QUERIES, 32);
  const b1 = load<u64>(QUERIES, 40);
  const a2 = load<u64>(QUERIES, 64);
  const b2 = load<u64>(QUERIES, 72);
  const a3 = load<u64>(QUERIES, 96);
  const b3 = load<u64>(QUERIES, 104);
  const a4 = load<u64>(QUERIES, 128);
  const b4 = load<u64>(QUERIES, 136);
  const a5 = load<u64>(QUERIES, 160);
  const b5 = load<u64>(QUERIES, 168);
  const a6 = load<u64>(QUERIES, 192);
  const b6 = load<u64>(QUERIES, 200);
  const a7 = load<u64>(QUERIES, 224);
  const b7 = load<u64>(QUERIES, 232);
  let bound = <u64>threshold;
  let best = -1;
  let e = dynamicBase();
  const n = indexCount;
  for (let i = 0; i < n; i++) {
    const e0 = load<u64>(e);
    const e1 = load<u64>(e, 8);
    const m01 = min(popcnt<u64>(e0 ^ a0) + popcnt<u64>(e1 ^ b0), popcnt<u64>(e0 ^ a1) + popcnt<u64>(e1 ^ b1));
    const m23 = min(popcnt<u64>(e0 ^ a2) + popcnt<u64>(e1 ^ b2), popcnt<u64>(e0 ^ a3) + popcnt<u64>(e1 ^ b3));
    const m45 = min(popcnt<u64>(e0 ^ a4) + popcnt<u64>(e1 ^ b4), popcnt<u64>(e0 ^ a5) + popcnt<u64>(e1 ^ b5));
    const m67 = min(popcnt<u64>(e0 ^ a6) + popcnt<u64>(e1 ^ b6), popcnt<u64>(e0 ^ a7) + popcnt<u64>(e1 ^ b7));
    if (min(min(m01, m23), min(m45, m67)) <= bound) {
      for (let q = 0; q < nQueries; q++) {
        const d = <u64>exactDistance(e, QUERIES + ((<usize>q) << 5));
        if (d <= bound && (best < 0 || <i32>d < bestDistance)) {
          best = i;
          bestDistance = <i32>d;
          bestQuery = q;
          bound = d;
        }
      }
    }
    e += 32;
  }
  return best;
}

function exactDistance(e: usize, q: usize): i32 {
  return <i32>(
    (popcnt<u64>(load<u64>(e) ^ load<u64>(q)) +
      popcnt<u64>(load<u64>(e, 8) ^ load<u64>(q, 8)) +
      popcnt<u64>(load<u64>(e, 16) ^ load<u64>(q, 16)) +
      popcnt<u64>(load<u64>(e, 24) ^ load<u64>(q, 24)))
  );
}
