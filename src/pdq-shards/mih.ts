/**
 * Exact PDQ near-duplicate search by multi-index hashing (Norouzi, Punjani and Fleet, 2012), run
 * in the WebAssembly core (wasm/assembly/mih.ts) so that the same code runs in a Durable Object,
 * in Node (bench/pdq-scale.ts) and in the tests. Each index owns its own instance of the core.
 *
 * The 256-bit hash is cut into 16 substrings of 16 bits. If two hashes are within distance d,
 * their 16 substring distances sum to d, so (pigeonhole) at least one substring is within
 * ⌊d/16⌋ bits: for PDQ's usual threshold 31, within 1 bit. Each substring position has a table
 * of 65,536 buckets (entries grouped by that substring's value); a query visits, for each
 * position, the buckets at its own value and at every value within ⌊d/16⌋ bits (1 + 16 for
 * d ≤ 31). Every entry within the threshold is in one of those buckets, so the answer is exactly
 * brute force's. Where the buckets would cost more than a full scan (⌊d/16⌋ ≥ 3), the core scans
 * instead: same answers.
 *
 * Partner filter. The buckets visited hold about 17 × 16 × n / 65,536 entries per query hash
 * (2,900 at 700,000 entries), and checking each by reading its hash, a random read, was most of
 * the cost. Substrings 2j and 2j+1 form pair j (8 pairs of 32 bits). Within distance d, some pair
 * differs in at most P = ⌊d/8⌋ bits (eight pairs of P + 1 would make 8P + 8 > d), and within that
 * pair one substring differs in at most ⌊P/2⌋ = ⌊d/16⌋ bits: the bucket search above visits it,
 * at a bucket differing in b bits, and its partner substring then differs in at most P − b bits.
 * So each bucket entry stores, beside the entry number, the top bits of its partner substring
 * (as many as the entry number leaves of 32: 16 up to 65,536 entries, 12 at 700,000), and the
 * core rejects in the bucket every entry whose stored partner bits already differ in more than
 * P − b (bits of a substring differ no more than the substring). For d = 31 about 2 % of the
 * bucket entries remain to be checked against the full hash; none within d is rejected.
 *
 * Memory, in the core's linear memory: 32 bytes of hash and 16 × 4 of bucket tables per entry,
 * plus 16 × 256 KB of bucket offsets; entry ids (4 bytes each) stay in JS. Random hashes fill
 * the buckets evenly; real lists are skewed somewhat, which costs time but never correctness.
 */
import {
  type CoreExports,
  coreMemoryBytes,
  instantiateCore,
  readIndexBytes,
  readMihMatches,
  writeIndexStaging,
  writeQueryBytes,
} from "../pdq/core.ts";

export interface MihMatch {
  /** Position of the entry in the index (the order the hashes were loaded in). */
  index: number;
  /** The entry id given at load. */
  id: number;
  distance: number;
  /** Which query hash matched (its position in the query). */
  query: number;
}

function checkThreshold(threshold: number): void {
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > 256) {
    throw new Error(`PDQ threshold must be an integer 0..256, got ${threshold}`);
  }
}

function checkQueries(queries: Uint8Array): number {
  if (queries.length % 32 !== 0 || queries.length < 32 || queries.length > 8 * 32) {
    throw new Error("MIH query: 1 to 8 hashes of 32 bytes each");
  }
  return queries.length / 32;
}

export class MihIndex {
  readonly size: number;
  readonly #core: CoreExports;
  readonly #ids: Uint32Array;

  private constructor(core: CoreExports, ids: Uint32Array) {
    this.#core = core;
    this.#ids = ids;
    this.size = ids.length;
  }

  /**
   * An index over `hashes` (n × 32 bytes in hex-string byte order, e.g. a decoded KV shard) with
   * their entry ids, in a new instance of the core module `mod`.
   */
  static build(mod: WebAssembly.Module, hashes: Uint8Array, ids: Uint32Array): MihIndex {
    if (hashes.length % 32 !== 0 || ids.length * 32 !== hashes.length) {
      throw new Error("MIH index: hashes are not 32 bytes each or do not match the ids");
    }
    const core = instantiateCore(mod);
    const n = ids.length;
    if (!core.mihReserve(n) || !core.indexReserve(n))
      throw new Error(`MIH index cannot grow memory for ${n} hashes`);
    const chunk = core.stagingCapacity();
    for (let i = 0; i < n; i += chunk) {
      const k = Math.min(chunk, n - i);
      writeIndexStaging(core, hashes.subarray(i * 32, (i + k) * 32));
      if (core.indexAppend(k) < 0) throw new Error("MIH index: append beyond the reserved size");
    }
    if (!core.mihBuild()) throw new Error(`MIH index cannot grow memory for the tables of ${n} hashes`);
    return new MihIndex(core, ids);
  }

  /** Bytes held: the instance's linear memory plus the entry ids. */
  memoryBytes(): number {
    return coreMemoryBytes(this.#core) + this.#ids.byteLength;
  }

  /** The hash of entry `i`, 32 bytes in hex-string order. */
  hashBytes(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) throw new Error(`no MIH entry ${i}`);
    return readIndexBytes(this.#core, i);
  }

  /** Every (entry, query) pair within `threshold`, by entry then query position. */
  within(queries: Uint8Array, threshold: number): MihMatch[] {
    checkThreshold(threshold);
    const nq = checkQueries(queries);
    writeQueryBytes(this.#core, queries);
    const count = this.#core.mihWithin(nq, threshold);
    if (count < 0) throw new Error("MIH index cannot grow memory for the matches");
    const raw = readMihMatches(this.#core, count);
    const out: MihMatch[] = [];
    for (let m = 0; m < count; m++) {
      const index = raw[2 * m]!;
      const packed = raw[2 * m + 1]!;
      out.push({ index, id: this.#ids[index]!, distance: packed & 0xffff, query: packed >>> 16 });
    }
    return out.sort((a, b) => a.index - b.index || a.query - b.query);
  }

  /**
   * The best entry within `threshold` of any query hash, with PdqIndex's order: smallest
   * distance, then lowest entry, then lowest query position. Null when none is close enough.
   */
  best(queries: Uint8Array, threshold: number): MihMatch | null {
    checkThreshold(threshold);
    const nq = checkQueries(queries);
    const core = this.#core;
    writeQueryBytes(core, queries);
    const index = core.mihSearch(nq, threshold);
    if (index < 0) return null;
    return { index, id: this.#ids[index]!, distance: core.mihDistance(), query: core.mihQuery() };
  }
}
