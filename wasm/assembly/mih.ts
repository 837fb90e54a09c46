// Exact near-duplicate search by multi-index hashing (Norouzi, Punjani and Fleet, 2012) over the
// hashes search.ts holds, for the PDQ shard objects (src/pdq-shards/mih.ts explains the method).
//
// Why here and not in TypeScript: the search is a stream of independent random reads (a bucket's
// entries, then each candidate's hash). With i64.popcnt a candidate costs about 15 instructions
// instead of about 100, so the CPU keeps many more of those reads in flight at once; measured in
// bench/pdq-scale.ts against the previous TypeScript version.
//
// Layout of the dynamic region (after the n x 32-byte hashes that indexReserve/indexAppend load):
//   offsets  16 x 65,537 u32   bucket starts per substring position
//   entries  16 x n u32        entry numbers grouped by bucket (ascending within a bucket)
//   masks    65,536 u16        the 16-bit values within the current radius, by popcount
//   stamps   n u32             only once mihWithin runs: one visit per (entry, query)
//   output   8 bytes per match mihWithin's matches (entry, query << 16 | distance)

import { align16, dynamicBase, ensureMemory } from "./memory";
import { bestDistance, bestQuery, indexLength, QUERIES, search } from "./search";

const SUBSTRINGS: i32 = 16;
const BUCKETS: i32 = 65536;
const OFFSETS_BYTES: usize = (<usize>BUCKETS + 1) << 2;
/** A random read costs about this many sequential entries of a full scan (the fallback). */
const RANDOM_READ_COST: i32 = 8;

let mihCount: i32 = 0;
let offsetsBase: usize = 0;
let entriesBase: usize = 0;
let masksBase: usize = 0;
let stampsBase: usize = 0;
let stampNow: u32 = 0;
let maskRadius: i32 = -1;
let maskCount: i32 = 0;
let resultDistance: i32 = -1;
let resultQuery: i32 = -1;

/** Substring `k` of the hash at `h`: bytes 2k and 2k+1, big-endian (hex-string order). */
function substring(h: usize, k: i32): u32 {
  const at = h + ((<usize>k) << 1);
  return ((<u32>load<u8>(at)) << 8) | <u32>load<u8>(at, 1);
}

/** End of the tables for `n` entries (mihBuild's layout, before the lazily added stamps). */
function tablesEnd(n: i32): usize {
  const offsets = align16(dynamicBase() + ((<usize>n) << 5));
  const entries = align16(offsets + <usize>SUBSTRINGS * OFFSETS_BYTES);
  return align16(entries + <usize>SUBSTRINGS * ((<usize>n) << 2)) + ((<usize>BUCKETS) << 1);
}

/**
 * Grows memory once to what an index of `n` entries needs, before its hashes are appended: one
 * grow instead of two, so no moment holds the old and the new memory together (an engine may
 * copy on grow); false if memory cannot grow.
 */
export function mihReserve(n: i32): bool {
  return n >= 0 && ensureMemory(tablesEnd(n));
}

/**
 * Builds the bucket tables over the hashes loaded so far; false if memory cannot grow. Every
 * later mihSearch/mihWithin answers over exactly these entries.
 */
export function mihBuild(): bool {
  const n = indexLength();
  const hashes = dynamicBase();
  offsetsBase = align16(hashes + ((<usize>n) << 5));
  entriesBase = align16(offsetsBase + <usize>SUBSTRINGS * OFFSETS_BYTES);
  masksBase = align16(entriesBase + <usize>SUBSTRINGS * ((<usize>n) << 2));
  stampsBase = 0;
  maskRadius = -1;
  mihCount = 0;
  if (!ensureMemory(masksBase + ((<usize>BUCKETS) << 1))) return false;
  for (let k = 0; k < SUBSTRINGS; k++) {
    // Counting sort by substring k; offsets[v] ends as the start of bucket v.
    const off = offsetsBase + <usize>k * OFFSETS_BYTES;
    const ent = entriesBase + <usize>k * ((<usize>n) << 2);
    memory.fill(off, 0, OFFSETS_BYTES);
    for (let i = 0; i < n; i++) {
      const at = off + ((<usize>substring(hashes + ((<usize>i) << 5), k) + 1) << 2);
      store<u32>(at, load<u32>(at) + 1);
    }
    for (let v = 0; v < BUCKETS; v++) {
      const at = off + ((<usize>v + 1) << 2);
      store<u32>(at, load<u32>(at) + load<u32>(at - 4));
    }
    for (let i = 0; i < n; i++) {
      const at = off + ((<usize>substring(hashes + ((<usize>i) << 5), k)) << 2);
      const slot = load<u32>(at);
      store<u32>(ent + ((<usize>slot) << 2), i);
      store<u32>(at, slot + 1);
    }
    // Filling moved each start to the next bucket's start: shift back by one.
    memory.copy(off + 4, off, (<usize>BUCKETS) << 2);
    store<u32>(off, 0);
  }
  mihCount = n;
  return true;
}

/** Entries indexed by the last mihBuild (0 before any). */
export function mihSize(): i32 {
  return mihCount;
}

/** The 16-bit masks within `radius` bits, by popcount then value; cached for one radius. */
function prepareMasks(radius: i32): void {
  if (maskRadius === radius) return;
  let c = 0;
  for (let p = 0; p <= radius && p <= 16; p++) {
    for (let v = 0; v < BUCKETS; v++) {
      if (<i32>popcnt<u32>(v) === p) {
        store<u16>(masksBase + ((<usize>c) << 1), <u16>v);
        c++;
      }
    }
  }
  maskCount = c;
  maskRadius = radius;
}

/** True when visiting the buckets would cost more than scanning every entry. */
function scanIsCheaper(threshold: i32): bool {
  prepareMasks(threshold >> 4);
  return <i64>maskCount * SUBSTRINGS * RANDOM_READ_COST * <i64>mihCount >= <i64>BUCKETS * <i64>mihCount;
}

/**
 * The best entry within `threshold` of any of the first `nQueries` query hashes (QUERIES), in
 * search()'s order: smallest distance, then lowest entry, then lowest query. Returns the entry or
 * -1; mihDistance/mihQuery say the rest. An entry found through several substrings is compared
 * again, which cannot change the best, and is cheaper than remembering it.
 */
export function mihSearch(nQueries: i32, threshold: i32): i32 {
  resultDistance = -1;
  resultQuery = -1;
  if (nQueries < 1 || nQueries > 8 || threshold < 0) return -1;
  if (scanIsCheaper(threshold)) {
    const i = search(nQueries, threshold);
    resultDistance = bestDistance;
    resultQuery = bestQuery;
    return i;
  }
  const n = mihCount;
  searchBound = <u64>threshold;
  searchBest = -1;
  for (let j = 0; j < nQueries; j++) {
    const qa = QUERIES + ((<usize>j) << 5);
    // Gather the candidates of a few buckets, then check them in one loop: the bucket walk's
    // unpredictable branches stay out of the loop whose reads the CPU overlaps.
    let c = 0;
    for (let k = 0; k < SUBSTRINGS; k++) {
      const s = substring(qa, k);
      const off = offsetsBase + <usize>k * OFFSETS_BYTES;
      const ent = entriesBase + <usize>k * ((<usize>n) << 2);
      for (let mi = 0; mi < maskCount; mi++) {
        const at = off + ((<usize>(s ^ <u32>load<u16>(masksBase + ((<usize>mi) << 1)))) << 2);
        let from = load<u32>(at);
        const to = load<u32>(at, 4);
        while (from < to) {
          if (c === CANDIDATES_CAP) {
            checkCandidates(qa, j, c);
            c = 0;
          }
          // A plain loop: buckets hold ~n/65,536 entries, too few for memory.copy's call to pay.
          const stop = min(to, from + <u32>(CANDIDATES_CAP - c));
          for (; from < stop; from++, c++) {
            store<u32>(CANDIDATES + ((<usize>c) << 2), load<u32>(ent + ((<usize>from) << 2)));
          }
        }
      }
    }
    checkCandidates(qa, j, c);
  }
  return searchBest;
}

const CANDIDATES_CAP: i32 = 8192;
const CANDIDATES: usize = memory.data(CANDIDATES_CAP * 4, 16);
let searchBound: u64 = 0;
let searchBest: i32 = -1;

/** Checks the first `count` gathered entries against query `j` (at `qa`), keeping the best. */
function checkCandidates(qa: usize, j: i32, count: i32): void {
  const hashes = dynamicBase();
  const q0 = load<u64>(qa);
  const q1 = load<u64>(qa, 8);
  let bound = searchBound;
  const end = CANDIDATES + ((<usize>count) << 2);
  for (let p = CANDIDATES; p < end; p += 4) {
    const i = load<u32>(p);
    const e = hashes + ((<usize>i) << 5);
    // First half, then (rarely) the second: random hashes differ in ~64 of 128 bits.
    let d = popcnt<u64>(load<u64>(e) ^ q0) + popcnt<u64>(load<u64>(e, 8) ^ q1);
    if (d > bound) continue;
    d +=
      popcnt<u64>(load<u64>(e, 16) ^ load<u64>(qa, 16)) + popcnt<u64>(load<u64>(e, 24) ^ load<u64>(qa, 24));
    if (d > bound) continue;
    const di = <i32>d;
    // Queries run in order, so a tie on (distance, entry) keeps the earlier query.
    if (searchBest < 0 || di < resultDistance || (di === resultDistance && <i32>i < searchBest)) {
      searchBest = <i32>i;
      resultDistance = di;
      resultQuery = j;
      bound = d;
    }
  }
  searchBound = bound;
}

export function mihDistance(): i32 {
  return resultDistance;
}

export function mihQuery(): i32 {
  return resultQuery;
}

/** Where mihWithin wrote its matches. */
export function mihOutPtr(): usize {
  return align16(stampsBase + ((<usize>mihCount) << 2));
}

/**
 * Every (entry, query) pair within `threshold`, each once, in no particular order: written at
 * mihOutPtr() as u32 entry, u32 (query << 16 | distance). Returns the count, or -1 if memory
 * cannot grow. For tests and tools; the shard objects use mihSearch.
 */
export function mihWithin(nQueries: i32, threshold: i32): i32 {
  if (nQueries < 1 || nQueries > 8 || threshold < 0) return 0;
  const n = mihCount;
  if (stampsBase === 0) {
    stampsBase = align16(masksBase + ((<usize>BUCKETS) << 1));
    if (!ensureMemory(mihOutPtr())) {
      stampsBase = 0;
      return -1;
    }
    memory.fill(stampsBase, 0, (<usize>n) << 2);
    stampNow = 0;
  }
  const scan = scanIsCheaper(threshold);
  const hashes = dynamicBase();
  const out = mihOutPtr();
  let count = 0;
  for (let j = 0; j < nQueries; j++) {
    const qa = QUERIES + ((<usize>j) << 5);
    if (scan) {
      for (let i = 0; i < n; i++) {
        count = emit(out, count, i, j, distance(hashes + ((<usize>i) << 5), qa), threshold);
        if (count < 0) return -1;
      }
      continue;
    }
    if (stampNow === 0xffffffff) {
      memory.fill(stampsBase, 0, (<usize>n) << 2);
      stampNow = 0;
    }
    const now = ++stampNow;
    for (let k = 0; k < SUBSTRINGS; k++) {
      const s = substring(qa, k);
      const off = offsetsBase + <usize>k * OFFSETS_BYTES;
      const ent = entriesBase + <usize>k * ((<usize>n) << 2);
      for (let mi = 0; mi < maskCount; mi++) {
        const at = off + ((<usize>(s ^ <u32>load<u16>(masksBase + ((<usize>mi) << 1)))) << 2);
        for (let x = load<u32>(at); x < load<u32>(at, 4); x++) {
          const i = load<u32>(ent + ((<usize>x) << 2));
          const st = stampsBase + ((<usize>i) << 2);
          if (load<u32>(st) === now) continue;
          store<u32>(st, now);
          count = emit(out, count, i, j, distance(hashes + ((<usize>i) << 5), qa), threshold);
          if (count < 0) return -1;
        }
      }
    }
  }
  return count;
}

function emit(out: usize, count: i32, i: u32, j: i32, d: i32, threshold: i32): i32 {
  if (d > threshold) return count;
  const at = out + ((<usize>count) << 3);
  if (!ensureMemory(at + 8)) return -1;
  store<u32>(at, i);
  store<u32>(at, ((<u32>j) << 16) | <u32>d, 4);
  return count + 1;
}

function distance(e: usize, q: usize): i32 {
  return <i32>(
    (popcnt<u64>(load<u64>(e) ^ load<u64>(q)) +
      popcnt<u64>(load<u64>(e, 8) ^ load<u64>(q, 8)) +
      popcnt<u64>(load<u64>(e, 16) ^ load<u64>(q, 16)) +
      popcnt<u64>(load<u64>(e, 24) ^ load<u64>(q, 24)))
  );
}
