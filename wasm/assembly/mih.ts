// Exact near-duplicate search by multi-index hashing (Norouzi, Punjani and Fleet, 2012) over the
// hashes search.ts holds, for the PDQ shard objects (src/pdq-shards/mih.ts explains the method).
//
// Why here and not in TypeScript: the search is a stream of independent random reads (a bucket's
// entries, then each candidate's hash). With i64.popcnt a candidate costs about 15 instructions
// instead of about 100, so the CPU keeps many more of those reads in flight at once; measured in
// bench/pdq-scale.ts against the previous TypeScript version.
//
// Partner filter: substrings 2j and 2j+1 form pair j. Each bucket entry of substring k carries,
// beside the entry number, the top bits of the entry's partner substring k^1, so that most
// candidates are rejected from the bucket itself, read in order, instead of by a random read of
// their hash (src/pdq-shards/mih.ts gives the argument that this loses no entry).
//
// Layout of the dynamic region (after the n x 32-byte hashes that indexReserve/indexAppend load):
//   offsets  16 x 65,537 u32   bucket starts per substring position
//   entries  16 x n u32        entry number << partnerBits | top partnerBits bits of substring
//                              k^1, grouped by bucket (ascending entry within a bucket)
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
/** Bits of each bucket entry left for the partner substring once the entry number has its own. */
let partnerBits: i32 = 16;
let offsetsBase: usize = 0;
let entriesBase: usize = 0;
let masksBase: usize = 0;
let stampsBase: usize = 0;
let stampNow: u32 = 0;
let stampFirst: u32 = 1;
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
  partnerBitsFor(n);
  if (partnerBits < 0) return false;
  if (!ensureMemory(masksBase + ((<usize>BUCKETS) << 1))) return false;
  const shift = 16 - partnerBits;
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
      const h = hashes + ((<usize>i) << 5);
      const at = off + ((<usize>substring(h, k)) << 2);
      const slot = load<u32>(at);
      store<u32>(ent + ((<usize>slot) << 2), ((<u32>i) << partnerBits) | (substring(h, k ^ 1) >> shift));
      store<u32>(at, slot + 1);
    }
    // Filling moved each start to the next bucket's start: shift back by one.
    memory.copy(off + 4, off, (<usize>BUCKETS) << 2);
    store<u32>(off, 0);
  }
  mihCount = n;
  return true;
}

/**
 * Sets partnerBits for `n` entries: what is left of 32 bits once entry numbers 0..n-1 have
 * theirs, at most 16 (-1 if n needs all 32: no index that large fits in memory anyway).
 */
function partnerBitsFor(n: i32): void {
  const idBits = n <= 1 ? 1 : 32 - <i32>clz<u32>(<u32>(n - 1));
  partnerBits = min(16, 32 - idBits);
  if (partnerBits < 1) partnerBits = -1;
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
  // gather()'s pass buffer holds one substring's buckets; more than that always scans.
  if (maskCount >= PROBES_ROOM) return true;
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
  searchBound = <u64>threshold;
  searchBest = -1;
  gatherMode = GATHER_BEST;
  gather(nQueries, threshold >> 3);
  return searchBest;
}

const GATHER_BEST: i32 = 0;
const GATHER_ALL: i32 = 1;
/** What gather() does with a full candidate buffer: mihSearch's or mihWithin's check. */
let gatherMode: i32 = GATHER_BEST;

function flush(j: i32, count: i32): void {
  const qa = QUERIES + ((<usize>j) << 5);
  if (gatherMode === GATHER_BEST) checkCandidates(qa, j, count);
  else withinCandidates(qa, j, count);
}

/**
 * Visits, for each substring k of each of the first `nQueries` query hashes, the buckets within
 * the current mask radius, and hands on (through flush, query by query) every entry whose
 * partner bits are within `pairBound` - (bits the bucket differs in) of the query's: the only
 * entries of the bucket that can be within 8 x pairBound + 7 of the query (src/pdq-shards/mih.ts).
 */
function gather(nQueries: i32, pairBound: i32): void {
  const n = mihCount;
  const bits = partnerBits;
  const keep: u32 = ((<u32>1) << bits) - 1;
  const shift = 16 - bits;
  const perSubstring = maskCount;
  // A unit is one substring of one query hash; a pass covers as many as PROBES_CAP buckets hold
  // (at least one; a radius that large scans instead).
  const units = nQueries * SUBSTRINGS;
  const step = max(1, PROBES_CAP / perSubstring);
  let c = 0;
  let cj = 0;
  for (let u0 = 0; u0 < units; u0 += step) {
    const u1 = min(units, u0 + step);
    // Pass 1: every bucket's bounds, and a touch of its ends. No branch depends on what
    // is read, so the CPU keeps many of these (mostly cache-missing) reads in flight at once.
    let b: usize = PROBES;
    let touched: u32 = 0;
    for (let u = u0; u < u1; u++) {
      const k = u & (SUBSTRINGS - 1);
      const s = substring(QUERIES + ((<usize>(u >> 4)) << 5), k);
      const off = offsetsBase + <usize>k * OFFSETS_BYTES;
      const ent = entriesBase + <usize>k * ((<usize>n) << 2);
      for (let mi = 0; mi < perSubstring; mi++, b += 8) {
        const at = off + ((<usize>(s ^ <u32>load<u16>(masksBase + ((<usize>mi) << 1)))) << 2);
        const from = load<u32>(at);
        store<u32>(b, from);
        const to = load<u32>(at, 4);
        store<u32>(b, to, 4);
        // A bucket (~11 entries of 4 bytes) spans one or two cache lines: touch both ends.
        touched ^=
          load<u32>(ent + ((<usize>from) << 2)) ^
          load<u32>(ent + ((<usize>(to > from ? to - 1 : from)) << 2));
      }
    }
    store<u32>(TOUCHED, touched);
    // Pass 2: the buckets' entries whose partner bits pass go to the candidate buffer; the
    // loop bounds come from pass 1, so only the (overlapped) entry reads wait on memory.
    b = PROBES;
    for (let u = u0; u < u1; u++) {
      const j = u >> 4;
      const k = u & (SUBSTRINGS - 1);
      if (j !== cj) {
        flush(cj, c);
        c = 0;
        cj = j;
      }
      const partner = substring(QUERIES + ((<usize>j) << 5), k ^ 1) >> shift;
      const ent = entriesBase + <usize>k * ((<usize>n) << 2);
      for (let mi = 0; mi < perSubstring; mi++, b += 8) {
        const limit = <u32>(pairBound - <i32>popcnt<u32>(<u32>load<u16>(masksBase + ((<usize>mi) << 1))));
        let from = load<u32>(b);
        const to = load<u32>(b, 4);
        while (from < to) {
          if (c === CANDIDATES_CAP) {
            flush(cj, c);
            c = 0;
          }
          const stop = min(to, from + <u32>(CANDIDATES_CAP - c));
          // Branch-free: every entry is written, and kept (c moves on) only if its partner passes.
          for (; from < stop; from++) {
            const e = load<u32>(ent + ((<usize>from) << 2));
            store<u32>(CANDIDATES + ((<usize>c) << 2), e >>> bits);
            c += <i32>(popcnt<u32>((e ^ partner) & keep) <= limit);
          }
        }
      }
    }
  }
  flush(cj, c);
}

/**
 * Buckets per pass. Small enough that pass 2 finds pass 1's lines still cached and their pages
 * still in the TLB (4,096 ran about 1.25x slower on 15 objects; 128 and 512 alike). A pass holds
 * at least one substring's buckets: fewer than 512, or scanIsCheaper() scans instead.
 */
const PROBES_CAP: i32 = 128;
const PROBES_ROOM: i32 = 512;
/** Pass 1's bucket bounds: u32 from, u32 to per visited bucket. */
const PROBES: usize = memory.data(PROBES_ROOM * 8, 16);
/** Where pass 1's touching reads end up, so that no optimiser drops them. */
const TOUCHED: usize = memory.data(4, 4);

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
  if (scan) {
    for (let j = 0; j < nQueries; j++) {
      const qa = QUERIES + ((<usize>j) << 5);
      for (let i = 0; i < n; i++) {
        count = emit(out, count, i, j, distance(hashes + ((<usize>i) << 5), qa), threshold);
        if (count < 0) return -1;
      }
    }
    return count;
  }
  // Query j stamps the entries it has seen with stampFirst + j.
  if (stampNow > 0xffffffff - 8) {
    memory.fill(stampsBase, 0, (<usize>n) << 2);
    stampNow = 0;
  }
  stampFirst = stampNow + 1;
  stampNow += <u32>nQueries;
  withinCount = 0;
  withinThreshold = threshold;
  gatherMode = GATHER_ALL;
  gather(nQueries, threshold >> 3);
  return withinCount;
}

let withinCount: i32 = 0;
let withinThreshold: i32 = 0;

/** mihWithin's check of gathered entries: each (entry, query) once, stamped; -1 stays -1. */
function withinCandidates(qa: usize, j: i32, count: i32): void {
  if (withinCount < 0) return;
  const hashes = dynamicBase();
  const out = mihOutPtr();
  const now = stampFirst + <u32>j;
  for (let p = 0; p < count; p++) {
    const i = load<u32>(CANDIDATES + ((<usize>p) << 2));
    const st = stampsBase + ((<usize>i) << 2);
    if (load<u32>(st) === now) continue;
    store<u32>(st, now);
    withinCount = emit(out, withinCount, i, j, distance(hashes + ((<usize>i) << 5), qa), withinThreshold);
    if (withinCount < 0) return;
  }
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
