import { describe, expect, it } from "vitest";
import { decodePng } from "../../src/image/png.ts";
import type { DecodedImage } from "../../src/image/types.ts";
import { bytesToHex } from "../../src/pdq/core.ts";
import { PdqIndex } from "../../src/pdq/index.ts";
import {
  decodeShard,
  encodeShard,
  encodeShards,
  MAX_SHARD_ENTRIES,
  ShardFormatError,
} from "../../src/pdq/shard.ts";
import { cachedPdqIndex, coreModule, pdqHasher } from "../../src/pdq/worker.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { rng } from "../helpers/random.ts";

// Test data: random 256-bit values standing in for list hashes (not real hash lists).

function randomHash(r: () => number): Uint8Array {
  return Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256));
}

/** A copy of `h` with exactly `bits` distinct bits flipped. */
function flipBits(h: Uint8Array, bits: number, r: () => number): Uint8Array {
  const out = h.slice();
  const picked = new Set<number>();
  while (picked.size < bits) picked.add(Math.floor(r() * 256));
  for (const b of picked) out[b >> 3]! ^= 1 << (b & 7);
  return out;
}

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

/** Brute-force reference: smallest distance ≤ threshold, ties by entry then query. */
function reference(entries: Uint8Array[], queries: Uint8Array[], threshold: number) {
  let best: { index: number; distance: number; dihedral: number } | null = null;
  for (let index = 0; index < entries.length; index++) {
    for (let dihedral = 0; dihedral < queries.length; dihedral++) {
      let distance = 0;
      for (let i = 0; i < 32; i++) distance += popcount(entries[index]![i]! ^ queries[dihedral]![i]!);
      if (distance <= threshold && (!best || distance < best.distance)) best = { index, distance, dihedral };
    }
  }
  return best;
}

function buildIndex(entries: Uint8Array[], ids: number[]): PdqIndex {
  const shard = encodeShard(entries.map((h, i) => ({ hash: bytesToHex(h), id: ids[i]! })));
  return PdqIndex.fromShards(coreModule, [shard]);
}

describe("PdqIndex", () => {
  it("agrees with a brute-force reference, including distances at and just past the threshold", () => {
    const r = rng(42);
    const base = Array.from({ length: 40 }, () => randomHash(r));
    const entries = Array.from({ length: 3000 }, () => randomHash(r));
    // Plant near-duplicates of the base hashes at chosen distances around the thresholds used.
    const planted = [0, 1, 7, 8, 9, 30, 31, 32, 33, 45, 46];
    base.forEach((b, k) => {
      entries[Math.floor(r() * entries.length)] = flipBits(b, planted[k % planted.length]!, r);
    });
    const ids = entries.map((_, i) => 1000 + i);
    const index = buildIndex(entries, ids);
    expect(index.size).toBe(3000);
    let matched = 0;
    for (const threshold of [8, 31, 45]) {
      for (let k = 0; k < base.length; k++) {
        const nq = 1 + (k % 8);
        const queries = [base[k]!, ...Array.from({ length: nq - 1 }, () => randomHash(r))];
        if (k % 3 === 0) queries.reverse(); // the matching hash in another dihedral position
        const want = reference(entries, queries, threshold);
        const got = index.query(queries.map(bytesToHex), threshold);
        expect(got).toEqual(
          want ? { ...want, id: 1000 + want.index, hash: bytesToHex(entries[want.index]!) } : null,
        );
        if (want) matched++;
      }
    }
    expect(matched).toBeGreaterThan(40); // the planted matches were exercised
  });

  it("matches at exactly the threshold and not one bit beyond", () => {
    const r = rng(7);
    const q = randomHash(r);
    for (const threshold of [0, 31, 100]) {
      const entries = [randomHash(r), flipBits(q, threshold + 1, r), flipBits(q, threshold, r)];
      const index = buildIndex(entries, [1, 2, 3]);
      expect(index.query(bytesToHex(q), threshold)).toEqual({
        index: 2,
        id: 3,
        hash: bytesToHex(entries[2]!),
        distance: threshold,
        dihedral: 0,
      });
      expect(buildIndex(entries.slice(0, 2), [1, 2]).query(bytesToHex(q), threshold)).toBeNull();
    }
  });

  it("loads several shards in order and searches an empty index", () => {
    const r = rng(9);
    const a = Array.from({ length: 5 }, () => randomHash(r));
    const b = Array.from({ length: 3 }, () => randomHash(r));
    const shards = [a, b].map((part, s) =>
      encodeShard(part.map((h, i) => ({ hash: bytesToHex(h), id: s * 10 + i }))),
    );
    const index = PdqIndex.fromShards(coreModule, shards);
    expect(index.size).toBe(8);
    expect(index.query(bytesToHex(b[2]!), 0)).toMatchObject({ index: 7, id: 12, distance: 0, dihedral: 0 });
    expect(index.hashAt(7)).toBe(bytesToHex(b[2]!));
    expect(PdqIndex.fromShards(coreModule, encodeShards([])).query(bytesToHex(a[0]!), 256)).toBeNull();
  });

  it("loads raw hash blocks without ids (ids default to the position)", () => {
    const r = rng(10);
    const hashes = new Uint8Array(32 * 10_000);
    for (let i = 0; i < hashes.length; i += 4096) hashes.set(randomHash(r), i); // a few non-zero
    const target = randomHash(r);
    hashes.set(target, 32 * 9_999); // crosses the 4096-hash staging chunks
    const index = PdqIndex.fromModule(coreModule);
    index.load([{ hashes: hashes.subarray(0, 32 * 5_000) }, { hashes: hashes.subarray(32 * 5_000) }]);
    expect(index.size).toBe(10_000);
    expect(index.query(bytesToHex(target), 0)).toMatchObject({ index: 9_999, id: 9_999, distance: 0 });
    expect(() => index.load([{ hashes: new Uint8Array(33) }])).toThrow(/32 bytes/);
  });

  it("rejects malformed queries", () => {
    const index = buildIndex([], []);
    expect(() => index.query("abc")).toThrow(/64-digit/);
    expect(() => index.query([])).toThrow(/1 to 8/);
    expect(() => index.query("0".repeat(64), -1)).toThrow(/threshold/);
  });
});

/** Mirror left-right, or rotate 90° counter-clockwise. */
function transform(img: DecodedImage, kind: "mirror" | "rot90"): DecodedImage {
  const { width: w, height: h, channels: c, pixels } = img;
  const out = new Uint8Array(pixels.length);
  const [ow, oh] = kind === "mirror" ? [w, h] : [h, w];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [ox, oy] = kind === "mirror" ? [w - 1 - x, y] : [y, w - 1 - x];
      out.set(pixels.subarray((y * w + x) * c, (y * w + x + 1) * c), (oy * ow + ox) * c);
    }
  return { width: ow, height: oh, channels: c, pixels: out };
}

describe("dihedral matching on a fixture image (benign test data)", () => {
  it("finds mirrored and rotated copies only through their dihedral hashes", async () => {
    const img = await decodePng(
      await fixtureBytes("pdq/pixels/reg-test-input__dih__bridge-1-original.decoded.png"),
      { maxPixels: 1e8 },
    );
    const original = pdqHasher().hash(img);
    const r = rng(3);
    const entries = Array.from({ length: 500 }, () => randomHash(r));
    entries[321] = Uint8Array.from(original.hash.match(/../g)!, (x) => Number.parseInt(x, 16));
    const index = buildIndex(
      entries,
      entries.map((_, i) => i),
    );
    // Mirroring columns is undone by flipY; a counter-clockwise turn by rot270. (A 1600x1004
    // photo: on small, detailed images decimation aliasing makes mirrored copies drift further.)
    for (const [kind, expected] of [
      ["mirror", 5],
      ["rot90", 3],
    ] as const) {
      const copy = pdqHasher().hash(transform(img, kind));
      expect(index.query(copy.hash)).toBeNull();
      const m = index.query(copy.dihedral);
      expect(m).toMatchObject({ index: 321, id: 321, dihedral: expected });
      expect(m!.distance).toBeLessThanOrEqual(8);
    }
  });
});

describe("PDQ shard format", () => {
  it("round-trips hashes and ids", () => {
    const r = rng(5);
    const entries = Array.from({ length: 100 }, (_, i) => ({
      hash: bytesToHex(randomHash(r)),
      id: i * 7919,
    }));
    const bytes = encodeShard(entries);
    expect(bytes.length).toBe(16 + 36 * 100);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe("PDQS");
    const { hashes, ids } = decodeShard(bytes);
    expect(Array.from(ids)).toEqual(entries.map((e) => e.id));
    expect(entries.map((_, i) => bytesToHex(hashes.subarray(i * 32, i * 32 + 32)))).toEqual(
      entries.map((e) => e.hash),
    );
  });

  it("keeps every shard under KV's 25 MiB value limit", () => {
    expect(16 + 36 * MAX_SHARD_ENTRIES).toBeLessThan(25 * 1024 * 1024);
    expect(() => encodeShard(Array(MAX_SHARD_ENTRIES + 1).fill({ hash: "0".repeat(64), id: 0 }))).toThrow(
      ShardFormatError,
    );
    const shards = encodeShards(Array(MAX_SHARD_ENTRIES + 2).fill({ hash: "ab".repeat(32), id: 5 }));
    expect(shards.map((s) => decodeShard(s).ids.length)).toEqual([MAX_SHARD_ENTRIES, 2]);
  });

  it("rejects damaged shards", () => {
    const good = encodeShard([{ hash: "12".repeat(32), id: 1 }]);
    expect(() => decodeShard(good.subarray(0, 10))).toThrow(ShardFormatError);
    expect(() => decodeShard(good.subarray(0, good.length - 1))).toThrow(/does not hold/);
    const badMagic = good.slice();
    badMagic[0] = 0;
    expect(() => decodeShard(badMagic)).toThrow(/not a PDQ shard/);
    const badVersion = good.slice();
    badVersion[4] = 9;
    expect(() => decodeShard(badVersion)).toThrow(/version 9/);
    expect(() => encodeShard([{ hash: "12".repeat(32), id: -1 }])).toThrow(/u32/);
  });
});

describe("cachedPdqIndex", () => {
  it("loads once per list version, shares concurrent loads, reloads on a new version, retries failures", async () => {
    const r = rng(12);
    const v1 = randomHash(r);
    const v2 = randomHash(r);
    let loads = 0;
    const loader = (h: Uint8Array) => async () => {
      loads++;
      return [{ hashes: h }];
    };
    const [a, b] = await Promise.all([
      cachedPdqIndex("cache-test", "1", loader(v1)),
      cachedPdqIndex("cache-test", "1", loader(v1)),
    ]);
    expect(a).toBe(b);
    expect(loads).toBe(1);
    expect(a.query(bytesToHex(v1), 0)).not.toBeNull();
    const c = await cachedPdqIndex("cache-test", "2", loader(v2));
    expect(loads).toBe(2);
    expect(c.query(bytesToHex(v2), 0)).not.toBeNull();
    expect(c.query(bytesToHex(v1), 0)).toBeNull();
    await expect(
      cachedPdqIndex("cache-test", "3", async () => {
        throw new Error("KV unavailable");
      }),
    ).rejects.toThrow("KV unavailable");
    await cachedPdqIndex("cache-test", "3", loader(v1));
    expect(loads).toBe(3);
  });
});
