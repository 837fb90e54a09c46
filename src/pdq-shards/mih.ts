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
 * d ≤ 31), and checks the full distance of the entries found there. Every entry within the
 * threshold is in one of those buckets, so the answer is exactly brute force's; the work is
 * about 17 × 16 × n / 65,536 candidates per query hash instead of n. Where the buckets would
 * cost more than a full scan (⌊d/16⌋ ≥ 3), the core scans instead: same answers.
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
