/**
 * Exact PDQ near-duplicate search by multi-index hashing (Norouzi, Punjani and Fleet, 2012), in
 * plain TypeScript so that the same code runs in a Durable Object, in Node (bench/pdq-scale.ts)
 * and in the tests.
 *
 * The 256-bit hash is cut into 16 substrings of 16 bits. If two hashes are within distance d,
 * their 16 substring distances sum to d, so (pigeonhole) at least one substring is within
 * ⌊d/16⌋ bits: for PDQ's usual threshold 31, within 1 bit. Each substring position has a table
 * of 65,536 buckets (entries grouped by that substring's value); a query visits, for each
 * position, the buckets at its own value and at every value within ⌊d/16⌋ bits (1 + 16 for
 * d ≤ 31), and checks the full distance of the entries found there. Every entry within the
 * threshold is in one of those buckets, so the answer is exactly brute force's; the work is
 * about 17 × 16 × n / 65,536 candidates per query hash instead of n.
 *
 * Memory: 32 bytes of hash, 4 of entry id, 16 × 4 of bucket tables and 4 of de-duplication stamp
 * per entry (104 bytes), plus 16 × 256 KB of bucket offsets. Random hashes fill the buckets evenly;
 * real lists are skewed somewhat, which costs time but never correctness.
 */

/** Substrings per hash and their width. */
export const MIH_SUBSTRINGS = 16;
const BUCKETS = 1 << 16;

export interface MihMatch {
  /** Position of the entry in the index (the order the parts were loaded in). */
  index: number;
  /** The entry id given at load. */
  id: number;
  distance: number;
  /** Which query hash matched (its position in the query). */
  query: number;
}

/** Popcount of a 32-bit integer. */
function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) as number;
}

/** 16-bit values within `radius` bits of 0, in increasing popcount; cached per radius. */
const masksByRadius = new Map<number, Uint16Array>();
function masksWithin(radius: number): Uint16Array {
  let m = masksByRadius.get(radius);
  if (!m) {
    const all: number[] = [];
    for (let v = 0; v < BUCKETS; v++) if (popcount32(v) <= radius) all.push(v);
    all.sort((a, b) => popcount32(a) - popcount32(b) || a - b);
    m = Uint16Array.from(all);
    masksByRadius.set(radius, m);
  }
  return m;
}

/** Hashes as 8 big-endian u32 words each, from 32-byte hashes in hex-string byte order. */
function toWords(bytes: Uint8Array): Uint32Array {
  const n = bytes.length >>> 2;
  const words = new Uint32Array(n);
  for (let i = 0, b = 0; i < n; i++, b += 4) {
    words[i] = ((bytes[b]! << 24) | (bytes[b + 1]! << 16) | (bytes[b + 2]! << 8) | bytes[b + 3]!) >>> 0;
  }
  return words;
}

/** The 16-bit substring `k` (0..15) of the hash whose words start at `base`. */
function substring(words: Uint32Array, base: number, k: number): number {
  const w = words[base + (k >>> 1)]!;
  return k & 1 ? w & 0xffff : w >>> 16;
}

export class MihIndex {
  readonly size: number;
  readonly #words: Uint32Array;
  readonly #ids: Uint32Array;
  /** Per substring position: bucket start offsets (65,537) and the entries, grouped by bucket. */
  readonly #offsets: Uint32Array[] = [];
  readonly #entries: Uint32Array[] = [];
  readonly #stamp: Uint32Array;
  #stampNow = 0;

  /** `hashes`: n × 32 bytes in hex-string byte order (a decoded KV shard); `ids`: n entry ids. */
  constructor(hashes: Uint8Array, ids: Uint32Array) {
    if (hashes.length % 32 !== 0 || ids.length * 32 !== hashes.length) {
      throw new Error("MIH index: hashes are not 32 bytes each or do not match the ids");
    }
    const n = ids.length;
    this.size = n;
    this.#words = toWords(hashes);
    this.#ids = ids;
    this.#stamp = new Uint32Array(n);
    for (let k = 0; k < MIH_SUBSTRINGS; k++) {
      // Counting sort of the entries by substring k: a bucket's entries stay in index order.
      const offsets = new Uint32Array(BUCKETS + 1);
      for (let i = 0; i < n; i++) offsets[substring(this.#words, i * 8, k) + 1]!++;
      for (let v = 0; v < BUCKETS; v++) offsets[v + 1]! += offsets[v]!;
      const fill = offsets.slice(0, BUCKETS);
      const entries = new Uint32Array(n);
      for (let i = 0; i < n; i++) entries[fill[substring(this.#words, i * 8, k)]!++] = i;
      this.#offsets.push(offsets);
      this.#entries.push(entries);
    }
  }

  /** Bytes held by the index's arrays. */
  memoryBytes(): number {
    const tables = this.#offsets.reduce((s, o, k) => s + o.byteLength + this.#entries[k]!.byteLength, 0);
    return this.#words.byteLength + this.#ids.byteLength + this.#stamp.byteLength + tables;
  }

  /** Hamming distance between query words `q` (8 at `qb`) and entry `i`. */
  #distance(q: Uint32Array, qb: number, i: number): number {
    const w = this.#words;
    const b = i * 8;
    let d = 0;
    for (let j = 0; j < 8; j++) d += popcount32((q[qb + j]! ^ w[b + j]!) >>> 0);
    return d;
  }

  /** The hash of entry `i`, 32 bytes in hex-string order. */
  hashBytes(i: number): Uint8Array {
    const out = new Uint8Array(32);
    for (let j = 0; j < 8; j++) {
      const w = this.#words[i * 8 + j]!;
      out[4 * j] = w >>> 24;
      out[4 * j + 1] = (w >>> 16) & 0xff;
      out[4 * j + 2] = (w >>> 8) & 0xff;
      out[4 * j + 3] = w & 0xff;
    }
    return out;
  }

  /**
   * Calls `visit(entry, query position, distance)` for every (entry, query) pair within
   * `threshold`, each pair once. Falls back to a full scan when the bucket walk would cost more.
   */
  #forEachWithin(
    queries: Uint8Array,
    threshold: number,
    once: boolean,
    visit: (i: number, q: number, d: number) => void,
  ): void {
    if (queries.length % 32 !== 0) throw new Error("MIH query: hashes are not 32 bytes each");
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > 256) {
      throw new Error(`PDQ threshold must be an integer 0..256, got ${threshold}`);
    }
    const q = toWords(queries);
    const nq = queries.length / 32;
    const masks = masksWithin(Math.floor(threshold / MIH_SUBSTRINGS));
    const scan = masks.length * MIH_SUBSTRINGS * (this.size / BUCKETS) >= this.size;
    for (let j = 0; j < nq; j++) {
      if (scan) {
        for (let i = 0; i < this.size; i++) {
          const d = this.#distance(q, j * 8, i);
          if (d <= threshold) visit(i, j, d);
        }
        continue;
      }
      // With `once`, a fresh stamp per query hash: an entry found through several substrings is
      // visited once. best() does without: a second visit changes nothing, and the stamp is a
      // second random memory access per candidate.
      const now = once ? this.#nextStamp() : 0;
      const stamp = this.#stamp;
      const w = this.#words;
      const qb = j * 8;
      const q0 = q[qb]!,
        q1 = q[qb + 1]!,
        q2 = q[qb + 2]!,
        q3 = q[qb + 3]!;
      const q4 = q[qb + 4]!,
        q5 = q[qb + 5]!,
        q6 = q[qb + 6]!,
        q7 = q[qb + 7]!;
      for (let k = 0; k < MIH_SUBSTRINGS; k++) {
        const s = substring(q, qb, k);
        const offsets = this.#offsets[k]!;
        const entries = this.#entries[k]!;
        for (let mi = 0; mi < masks.length; mi++) {
          const v = s ^ masks[mi]!;
          for (let at = offsets[v]!, end = offsets[v + 1]!; at < end; at++) {
            const i = entries[at]!;
            if (once) {
              if (stamp[i] === now) continue;
              stamp[i] = now;
            }
            // Full distance, unrolled: this loop is the search's whole cost.
            const b = i * 8;
            const d =
              popcount32(q0 ^ w[b]!) +
              popcount32(q1 ^ w[b + 1]!) +
              popcount32(q2 ^ w[b + 2]!) +
              popcount32(q3 ^ w[b + 3]!) +
              popcount32(q4 ^ w[b + 4]!) +
              popcount32(q5 ^ w[b + 5]!) +
              popcount32(q6 ^ w[b + 6]!) +
              popcount32(q7 ^ w[b + 7]!);
            if (d <= threshold) visit(i, j, d);
          }
        }
      }
    }
  }

  #nextStamp(): number {
    if (this.#stampNow === 0xffffffff) {
      this.#stamp.fill(0);
      this.#stampNow = 0;
    }
    return ++this.#stampNow;
  }

  /** Every (entry, query) pair within `threshold`, by entry then query position. */
  within(queries: Uint8Array, threshold: number): MihMatch[] {
    const out: MihMatch[] = [];
    this.#forEachWithin(queries, threshold, true, (index, query, distance) => {
      out.push({ index, id: this.#ids[index]!, distance, query });
    });
    return out.sort((a, b) => a.index - b.index || a.query - b.query);
  }

  /**
   * The best entry within `threshold` of any query hash, with PdqIndex's order: smallest
   * distance, then lowest entry, then lowest query position. Null when none is close enough.
   */
  best(queries: Uint8Array, threshold: number): MihMatch | null {
    let best: MihMatch | null = null;
    this.#forEachWithin(queries, threshold, false, (index, query, distance) => {
      if (
        !best ||
        distance < best.distance ||
        (distance === best.distance && (index < best.index || (index === best.index && query < best.query)))
      ) {
        best = { index, id: this.#ids[index]!, distance, query };
      }
    });
    return best;
  }
}
