/**
 * Multi-index hashing (src/pdq-shards/mih.ts) against brute force: every entry within the
 * threshold and nothing else, at thresholds around the substring boundaries (⌊d/16⌋ changes at
 * 16, 32, 48), with near-matches planted at every distance 0..48, and property-style over
 * random, planted and clustered lists. The search runs in the WASM core (wasm/assembly/mih.ts).
 * Test data: random 256-bit values standing in for list hashes (not real hash lists).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { MihIndex } from "../../src/pdq-shards/mih.ts";
import { rng } from "../helpers/random.ts";

const CORE = new WebAssembly.Module(readFileSync(new URL("../../wasm/build/core.wasm", import.meta.url)));
const newIndex = (entries: Uint8Array, ids: Uint32Array) => MihIndex.build(CORE, entries, ids);

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

function distance(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  let d = 0;
  for (let i = 0; i < 32; i++) d += popcount(a[ai * 32 + i]! ^ b[bi * 32 + i]!);
  return d;
}

/** Copies hash `src[si]` into `dst[di]` with exactly `bits` distinct bits flipped. */
function plant(
  src: Uint8Array,
  si: number,
  dst: Uint8Array,
  di: number,
  bits: number,
  r: () => number,
): void {
  dst.set(src.subarray(si * 32, si * 32 + 32), di * 32);
  const picked = new Set<number>();
  while (picked.size < bits) picked.add(Math.floor(r() * 256));
  for (const b of picked) dst[di * 32 + (b >> 3)]! ^= 1 << (b & 7);
}

function randomHashes(n: number, r: () => number): Uint8Array {
  return Uint8Array.from({ length: n * 32 }, () => Math.floor(r() * 256));
}

function bruteWithin(entries: Uint8Array, queries: Uint8Array, threshold: number) {
  const out: { index: number; query: number; distance: number }[] = [];
  for (let index = 0; index < entries.length / 32; index++) {
    for (let query = 0; query < queries.length / 32; query++) {
      const d = distance(entries, index, queries, query);
      if (d <= threshold) out.push({ index, query, distance: d });
    }
  }
  return out;
}

/** Entries and 8-hash queries where query q's hash k has planted neighbours at many distances. */
function plantedSet(seed: number, n: number) {
  const r = rng(seed);
  const queries = randomHashes(8 * 6, r);
  const entries = randomHashes(n, r);
  // Entry (q*49 + d) is query hash (q*8 + d%8) with d bits flipped, d = 0..48.
  for (let q = 0; q < 6; q++) {
    for (let d = 0; d <= 48; d++) plant(queries, q * 8 + (d % 8), entries, q * 49 + d, d, r);
  }
  // Duplicate entries: both must be found, and the lower index wins ties.
  entries.copyWithin((n - 1) * 32, 5 * 32, 6 * 32);
  return { entries, queries };
}

test("MIH finds exactly the entries brute force finds, at every threshold boundary", () => {
  const n = 5000;
  const { entries, queries } = plantedSet(7, n);
  const ids = Uint32Array.from({ length: n }, (_, i) => 1000 + i);
  const index = newIndex(entries, ids);
  for (const threshold of [0, 1, 15, 16, 17, 31, 32, 47, 48, 63, 90]) {
    for (let q = 0; q < 6; q++) {
      const query = queries.subarray(q * 8 * 32, (q + 1) * 8 * 32);
      const want = bruteWithin(entries, query, threshold);
      const got = index.within(query, threshold);
      assert.deepEqual(
        got.map((m) => ({ index: m.index, query: m.query, distance: m.distance })),
        want,
        `threshold ${threshold}, query ${q}`,
      );
      for (const m of got) assert.equal(m.id, 1000 + m.index);
      // Planted neighbours up to the threshold are all there.
      const planted = want.filter((w) => w.index >= q * 49 && w.index < q * 49 + 49);
      assert.ok(planted.length >= Math.min(threshold, 48) + 1, `planted at ${threshold}`);
    }
  }
});

test("best() follows PdqIndex's order: distance, then entry, then query position", () => {
  const n = 3000;
  const { entries, queries } = plantedSet(11, n);
  const index = newIndex(
    entries,
    Uint32Array.from({ length: n }, (_, i) => i),
  );
  for (const threshold of [0, 10, 31, 40]) {
    for (let q = 0; q < 6; q++) {
      const query = queries.subarray(q * 8 * 32, (q + 1) * 8 * 32);
      const all = bruteWithin(entries, query, threshold);
      all.sort((a, b) => a.distance - b.distance || a.index - b.index || a.query - b.query);
      const want = all[0] ?? null;
      const got = index.best(query, threshold);
      assert.deepEqual(got && { index: got.index, query: got.query, distance: got.distance }, want);
    }
  }
  // The duplicate of entry 5 at n-1: exact hit on the lower index.
  const dup = entries.subarray(5 * 32, 6 * 32);
  assert.equal(index.best(dup, 0)?.index, 5);
});

test("MIH on skewed hashes (many sharing substrings) still matches brute force", () => {
  const r = rng(3);
  const n = 2000;
  const entries = randomHashes(n, r);
  // Half the entries share their first 8 bytes: four substrings land in one bucket each.
  for (let i = 0; i < n; i += 2) entries.set(entries.subarray(0, 8), i * 32);
  const queries = randomHashes(8, r);
  for (let i = 0; i < 8; i++) plant(entries, i * 37, queries, i, 20 + i, r);
  const index = newIndex(entries, new Uint32Array(n));
  for (const threshold of [24, 31, 35]) {
    const want = bruteWithin(entries, queries, threshold);
    assert.deepEqual(
      index.within(queries, threshold).map((m) => ({ index: m.index, query: m.query, distance: m.distance })),
      want,
    );
  }
});

test("MIH rejects malformed input clearly", () => {
  assert.throws(() => newIndex(new Uint8Array(31), new Uint32Array(1)), /32 bytes/);
  const index = newIndex(new Uint8Array(64), new Uint32Array(2));
  assert.throws(() => index.best(new Uint8Array(33), 31), /32 bytes/);
  assert.throws(() => index.best(new Uint8Array(9 * 32), 31), /1 to 8/);
  assert.throws(() => index.best(new Uint8Array(32), 257), /threshold/);
  assert.equal(index.best(new Uint8Array(32), 0)?.index, 0);
});

/** Brute force's best in PdqIndex's order (distance, entry, query), or null. */
function bruteBest(entries: Uint8Array, queries: Uint8Array, threshold: number) {
  const all = bruteWithin(entries, queries, threshold);
  all.sort((a, b) => a.distance - b.distance || a.index - b.index || a.query - b.query);
  return all[0] ?? null;
}

test("property: best() and within() equal brute force on random, planted and clustered lists", () => {
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer({ min: 1, max: 2 ** 30 }),
        n: fc.integer({ min: 1, max: 1500 }),
        queries: fc.integer({ min: 1, max: 8 }),
        threshold: fc.constantFrom(0, 1, 7, 15, 16, 17, 24, 31, 32, 33, 47, 48, 64),
        planted: fc.array(fc.nat({ max: 56 }), { maxLength: 12 }),
        // Entries sharing a query's first 4 bytes: substrings 0 and 1 in one bucket.
        clustered: fc.nat({ max: 200 }),
      }),
      ({ seed, n, queries: nq, threshold, planted, clustered }) => {
        const r = rng(seed);
        const entries = randomHashes(n, r);
        const queries = randomHashes(nq, r);
        for (const [k, d] of planted.entries()) plant(queries, k % nq, entries, Math.floor(r() * n), d, r);
        for (let c = 0; c < clustered; c++) {
          const at = Math.floor(r() * n);
          entries.set(queries.subarray(0, 4), at * 32);
        }
        if (r() < 0.3 && n > 1) entries.copyWithin((n - 1) * 32, 0, 32); // a duplicate entry
        const index = newIndex(
          entries,
          Uint32Array.from({ length: n }, (_, i) => i),
        );
        const got = index.best(queries, threshold);
        assert.deepEqual(
          got && { index: got.index, query: got.query, distance: got.distance },
          bruteBest(entries, queries, threshold),
        );
        assert.deepEqual(
          index
            .within(queries, threshold)
            .map((m) => ({ index: m.index, query: m.query, distance: m.distance })),
          bruteWithin(entries, queries, threshold),
        );
      },
    ),
    { numRuns: 150 },
  );
});

test("a bucket larger than the core's candidate buffer is searched whole", () => {
  // 20,000 entries share their first 16 bits with the query: one bucket far over the core's
  // 8,192-entry gather buffer, so the search checks it in several rounds.
  const r = rng(5);
  const n = 20_000;
  const entries = randomHashes(n, r);
  const query = randomHashes(1, r);
  for (let i = 0; i < n; i++) entries.set(query.subarray(0, 2), i * 32);
  // The only near-match sits at the start of that bucket and differs by 2 bits in each of the
  // 15 other substrings (distance 30): only the big bucket can find it.
  entries.set(query.subarray(0, 32), 5 * 32);
  for (let k = 1; k < 16; k++) {
    entries[5 * 32 + 2 * k]! ^= 0b1000_0001;
  }
  const index = newIndex(entries, new Uint32Array(n));
  for (const threshold of [31, 40]) {
    const got = index.best(query, threshold);
    assert.deepEqual(
      got && { index: got.index, query: got.query, distance: got.distance },
      bruteBest(entries, query, threshold),
    );
  }
  assert.deepEqual(index.best(query, 31), { index: 5, id: 0, distance: 30, query: 0 });
});

/** Flips `bits` distinct random bits of substring `k` (bytes 2k and 2k+1) of hash `i`. */
function flipInSubstring(hashes: Uint8Array, i: number, k: number, bits: number, r: () => number): void {
  const picked = new Set<number>();
  while (picked.size < bits) picked.add(Math.floor(r() * 16));
  for (const b of picked) hashes[i * 32 + 2 * k + (b >> 3)]! ^= 1 << (b & 7);
}

test("past 65,536 entries (fewer partner bits per bucket entry) every pair split at the bound is found", () => {
  // 300,000 entries: entry numbers take 19 bits of a bucket entry, leaving 13 partner bits.
  // Near-matches at distance 31 whose closest substring pair differs in exactly 3 bits, split
  // 3+0, 2+1, 1+2 and 0+3, the other seven pairs in 4 bits each: the tightest case the partner
  // filter admits. The same with that pair at 4 bits (distance 32) must not be found at 31.
  const r = rng(21);
  const n = 300_000;
  const entries = randomHashes(n, r);
  const queries = randomHashes(8, r);
  const planted: { at: number; query: number; distance: number }[] = [];
  let at = 17;
  for (let pair = 0; pair < 8; pair++) {
    for (const [a, b] of [
      [3, 0],
      [2, 1],
      [1, 2],
      [0, 3],
      [2, 2],
    ] as const) {
      const query = (pair + a) % 8;
      entries.set(queries.subarray(query * 32, query * 32 + 32), at * 32);
      flipInSubstring(entries, at, 2 * pair, a, r);
      flipInSubstring(entries, at, 2 * pair + 1, b, r);
      for (let other = 0; other < 8; other++) {
        if (other === pair) continue;
        const x = Math.floor(r() * 5);
        flipInSubstring(entries, at, 2 * other, x, r);
        flipInSubstring(entries, at, 2 * other + 1, 4 - x, r);
      }
      planted.push({ at, query, distance: 28 + a + b });
      at += 7_001;
    }
  }
  const index = newIndex(
    entries,
    Uint32Array.from({ length: n }, (_, i) => i),
  );
  const got = index
    .within(queries, 31)
    .map((m) => ({ index: m.index, query: m.query, distance: m.distance }));
  assert.deepEqual(got, bruteWithin(entries, queries, 31));
  for (const p of planted) {
    const found = got.some((g) => g.index === p.at && g.query === p.query);
    assert.equal(found, p.distance <= 31, `planted at ${p.at}, distance ${p.distance}`);
  }
  for (const q of [0, 3, 7]) {
    const one = queries.subarray(q * 32, q * 32 + 32);
    assert.deepEqual(
      ((m) => m && { index: m.index, query: m.query, distance: m.distance })(index.best(one, 31)),
      bruteBest(entries, one, 31),
    );
  }
});
