/**
 * Near-duplicate search over a PDQ list held in WASM memory (wasm/assembly/search.ts). Hashes
 * live in the module's memory (32 bytes each); entry ids stay in JS (4 bytes each), so a
 * million entries take 36 MB. Each PdqIndex owns its own instance of the core module.
 */
import {
  type CoreExports,
  coreMemoryBytes,
  instantiateCore,
  readIndexHash,
  writeIndexStaging,
  writeQueries,
} from "./core.ts";
import { decodeShard } from "./shard.ts";

export const DEFAULT_PDQ_THRESHOLD = 31;

/** Hashes to load: n x 32 bytes (hex-string byte order), with optional u32 entry ids. */
export interface PdqIndexPart {
  hashes: Uint8Array;
  ids?: Uint32Array;
}

export interface PdqMatch {
  /** Position of the matched entry in the index. */
  index: number;
  /** The entry id from the loaded part, or `index` when the part had no ids. */
  id: number;
  /** The matched list hash (64 hex digits), e.g. for its `h/pdq/<hex>` membership record. */
  hash: string;
  /** Hamming distance, ≤ the threshold. */
  distance: number;
  /** Which query hash matched: with dihedral queries, the DIHEDRAL_NAMES position. */
  dihedral: number;
}

export class PdqIndex {
  readonly #core: CoreExports;
  #ids = new Uint32Array(0);

  private constructor(core: CoreExports) {
    this.#core = core;
  }

  static fromModule(mod: WebAssembly.Module): PdqIndex {
    return new PdqIndex(instantiateCore(mod));
  }

  /** An index holding every entry of the given shards (binary, as stored in KV). */
  static fromShards(mod: WebAssembly.Module, shards: readonly Uint8Array[]): PdqIndex {
    const index = PdqIndex.fromModule(mod);
    index.load(shards.map(decodeShard));
    return index;
  }

  get size(): number {
    return this.#ids.length;
  }

  /** Bytes held: the instance's linear memory plus the entry ids. */
  memoryBytes(): number {
    return coreMemoryBytes(this.#core) + this.#ids.byteLength;
  }

  /** Replaces the contents with the given parts, in order. */
  load(parts: readonly PdqIndexPart[]): void {
    for (const p of parts) {
      if (p.hashes.length % 32 !== 0 || (p.ids && p.ids.length * 32 !== p.hashes.length)) {
        throw new Error("PDQ index part: hashes are not 32 bytes each or do not match the ids");
      }
    }
    const n = parts.reduce((s, p) => s + p.hashes.length / 32, 0);
    const core = this.#core;
    if (!core.indexReserve(n)) throw new Error(`PDQ index cannot grow memory for ${n} hashes`);
    const chunk = core.stagingCapacity();
    const ids = new Uint32Array(n);
    let at = 0;
    for (const p of parts) {
      const count = p.hashes.length / 32;
      // Appended a staging buffer at a time, so loading never needs a second copy of the list.
      for (let i = 0; i < count; i += chunk) {
        const k = Math.min(chunk, count - i);
        writeIndexStaging(core, p.hashes.subarray(i * 32, (i + k) * 32));
        if (core.indexAppend(k) < 0) throw new Error("PDQ index: append beyond the reserved size");
      }
      if (p.ids) ids.set(p.ids, at);
      else for (let i = 0; i < count; i++) ids[at + i] = at + i;
      at += count;
    }
    this.#ids = ids;
  }

  /** The hash at `index` (64 hex digits). */
  hashAt(index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) throw new Error(`no PDQ entry ${index}`);
    return readIndexHash(this.#core, index);
  }

  /**
   * Best entry within `threshold` of any of the query hashes (1 to 8; pass a PdqResult's
   * `dihedral` array to match flipped and rotated copies). Smallest distance wins; ties go to
   * the lowest entry, then the lowest query position. Null when nothing is close enough.
   */
  query(hashes: string | readonly string[], threshold = DEFAULT_PDQ_THRESHOLD): PdqMatch | null {
    const list = typeof hashes === "string" ? [hashes] : hashes;
    if (list.length < 1 || list.length > 8)
      throw new Error(`PDQ query takes 1 to 8 hashes, got ${list.length}`);
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > 256) {
      throw new Error(`PDQ threshold must be an integer 0..256, got ${threshold}`);
    }
    const core = this.#core;
    writeQueries(core, list);
    const index = core.search(list.length, threshold);
    if (index < 0) return null;
    return {
      index,
      id: this.#ids[index]!,
      hash: this.hashAt(index),
      distance: core.resultDistance(),
      dihedral: core.resultQuery(),
    };
  }
}
