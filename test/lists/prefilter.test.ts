/** The binary fuse prefilter over random keys (TEST DATA: random numbers and random hex). */
import { describe, expect, it } from "vitest";
import { foldDigest } from "../../src/lists/fold.ts";
import { mergeKeys, sortUnique } from "../../src/lists/keyset.ts";
import { buildPrefilter, Prefilter } from "../../src/lists/prefilter.ts";
import { randomHex } from "./helpers.ts";

function randomKeys(n: number, seed: number): Uint32Array {
  const k = new Uint32Array(2 * n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < k.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    k[i] = x >>> 0;
  }
  return sortUnique(k);
}

describe("prefilter", () => {
  it("has no false negatives for sets of every size", () => {
    for (const n of [0, 1, 2, 3, 7, 100, 1000, 30_000]) {
      const keys = randomKeys(n, n + 1);
      const f = Prefilter.parse(buildPrefilter(keys).serialize());
      for (let i = 0; i < keys.length / 2; i++) expect(f.has(keys[2 * i]!, keys[2 * i + 1]!)).toBe(true);
    }
  });

  it("keeps the false-positive rate under 0.5% at under 10 bits per key", () => {
    const keys = randomKeys(100_000, 7);
    const f = buildPrefilter(keys);
    const probes = randomKeys(400_000, 99);
    let fp = 0;
    for (let i = 0; i < probes.length / 2; i++) if (f.has(probes[2 * i]!, probes[2 * i + 1]!)) fp++;
    const rate = fp / (probes.length / 2);
    expect(rate).toBeLessThan(0.005);
    expect(rate).toBeGreaterThan(0.002); // 8-bit fingerprints: ~1/256; far lower would mean a broken probe
    expect(f.bitsPerKey()).toBeLessThanOrEqual(10);
  });

  it("finds digests by their fold and refuses corrupt bytes", () => {
    const digests = Array.from({ length: 500 }, (_, i) => randomHex(32, i));
    const keys = new Uint32Array(1000);
    for (const [i, d] of digests.entries()) keys.set(foldDigest("md5", d), 2 * i);
    const f = buildPrefilter(sortUnique(keys));
    for (const d of digests) {
      const k = foldDigest("md5", d);
      expect(f.has(k[0]!, k[1]!)).toBe(true);
    }
    const bytes = f.serialize();
    expect(() => Prefilter.parse(bytes.subarray(0, bytes.length - 1))).toThrow(/inconsistent/);
    const bad = bytes.slice();
    bad[0] = 0;
    expect(() => Prefilter.parse(bad)).toThrow(/magic/);
  });

  it("merges key sets: (base ∪ adds) − removes, sorted and unique", () => {
    const base = sortUnique(new Uint32Array([5, 0, 1, 0, 3, 0]));
    const merged = mergeKeys(base, new Uint32Array([2, 0, 3, 0, 9, 1]), new Uint32Array([1, 0, 7, 7]));
    expect([...merged]).toEqual([2, 0, 3, 0, 5, 0, 9, 1]);
  });
});
