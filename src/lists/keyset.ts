/**
 * The exact-digest keys of one published list version, sorted and unique: the first 64 bits of
 * each digest's tag (keyring.ts, an HMAC under the list secret). Kept in KV beside the prefilter
 * so the next version's prefilter can be built from a delta alone; without the secret a key set
 * reveals nothing about the list's digests.
 *
 * Sorting uses a BigUint64Array view of the [lo, hi] word pairs: on little-endian hosts (every
 * Workers and Node target) each pair reads as the u64 hi·2³² + lo, and typed-array sort is native.
 */

/** Keys per KV value: 8 bytes each, 2.5M keys = 20 MB, under KV's 25 MiB value limit. */
export const KEYS_PER_SHARD = 2_500_000;

/** Growable array of key pairs, filled while a delta streams in. */
export class KeyBuffer {
  words = new Uint32Array(1024);
  size = 0;

  push(lo: number, hi: number): void {
    if (2 * this.size + 2 > this.words.length) {
      const next = new Uint32Array(this.words.length * 2);
      next.set(this.words);
      this.words = next;
    }
    this.words[2 * this.size] = lo;
    this.words[2 * this.size + 1] = hi;
    this.size++;
  }

  pairs(): Uint32Array {
    return this.words.subarray(0, 2 * this.size);
  }
}

/** Sorts pairs in place and drops duplicates; returns the unique prefix. */
export function sortUnique(pairs: Uint32Array): Uint32Array {
  const n = pairs.length / 2;
  const v = new BigUint64Array(pairs.buffer, pairs.byteOffset, n).sort();
  let w = 0;
  for (let i = 0; i < n; i++) if (i === 0 || v[i] !== v[w - 1]) v[w++] = v[i]!;
  return pairs.subarray(0, 2 * w);
}

/** (base ∪ adds) − removes, all as pair arrays; `base` must already be sorted and unique. */
export function mergeKeys(base: Uint32Array, adds: Uint32Array, removes: Uint32Array): Uint32Array {
  const all = new Uint32Array(base.length + adds.length);
  all.set(base);
  all.set(adds, base.length);
  const merged = adds.length > 0 ? sortUnique(all) : all;
  if (removes.length === 0) return merged;
  const rm = new BigUint64Array(sortUnique(removes.slice()).slice().buffer);
  const m = new BigUint64Array(merged.buffer, merged.byteOffset, merged.length / 2);
  let w = 0;
  let j = 0;
  for (let i = 0; i < m.length; i++) {
    const k = m[i]!;
    while (j < rm.length && rm[j]! < k) j++;
    if (j < rm.length && rm[j] === k) continue;
    m[w++] = k;
  }
  return merged.subarray(0, 2 * w);
}

/** One KV value per KEYS_PER_SHARD keys (at least one, so an empty set is explicit). */
export function keyShards(keys: Uint32Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at === 0 || at < keys.length; at += 2 * KEYS_PER_SHARD) {
    const part = keys.subarray(at, at + 2 * KEYS_PER_SHARD);
    out.push(new Uint8Array(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength)));
  }
  return out;
}

/** Joins shards read back from KV into one pair array. */
export function joinKeyShards(shards: Uint8Array[]): Uint32Array {
  const total = shards.reduce((s, b) => s + b.length, 0);
  if (total % 8 !== 0) throw new Error("key set: shard length is not a multiple of 8");
  const out = new Uint32Array(total / 4);
  const bytes = new Uint8Array(out.buffer);
  let at = 0;
  for (const s of shards) {
    bytes.set(s, at);
    at += s.length;
  }
  return out;
}
