/**
 * A list version's entries as stored for re-keying (`lists/<id>/v/<v>/entries/<n>`, sealed under
 * the version's key): every exact digest and PDQ hash with its provider entry id and category.
 * Records, key sets and prefilters hold only tags, which cannot be turned back into digests, so
 * this is the one place a list can be re-published from under a new secret (`lists rekey`).
 *
 * Plain layout, one entry after another: u8 algorithm code (keyring.ts ALGO_CODE), the raw
 * digest (16, 20 or 32 bytes), u16 LE length m, m bytes of UTF-8 JSON metadata ({"id","c"}; m = 0
 * for none). Entries are in publish order; a digest listed twice (a delivery that repeated it)
 * counts once, the later copy's metadata winning, as with import ops.
 */
import { ALGO_CODE, hexInto, hexOf } from "./keyring.ts";
import { HASH_HEX_LENGTH, type HashAlgo } from "./ops.ts";

/** Plain bytes per shard: sealed (+32 bytes) it stays under KV's 25 MiB value limit. */
export const ENTRY_SHARD_BYTES = 24_000_000;

const ALGO_OF: HashAlgo[] = [];
for (const [a, code] of Object.entries(ALGO_CODE)) ALGO_OF[code] = a as HashAlgo;
const enc = new TextEncoder();
const dec = new TextDecoder();

export interface StoredEntry {
  algo: HashAlgo;
  hex: string;
  /** JSON of {id?, c?}, or "" for none. */
  meta: string;
}

/**
 * Chunk of the entry log. Chunks, not one doubling buffer: a 10M-digest list's ~190 MB never
 * needs a second, larger copy while growing. No entry spans two chunks.
 */
const CHUNK_BYTES = 1 << 20;

/** Growable byte log of entries. */
export class EntryLog {
  private readonly chunks: Uint8Array[] = [];
  private chunk = new Uint8Array(0);
  private used = 0;
  size = 0;

  private reserve(n: number): void {
    if (this.used + n <= this.chunk.length) return;
    this.seal();
    this.chunk = new Uint8Array(Math.max(CHUNK_BYTES, n));
    this.used = 0;
  }

  /** Closes the current chunk (trimmed) into the list of full chunks. */
  private seal(): void {
    if (this.used > 0) this.chunks.push(this.chunk.subarray(0, this.used));
    this.chunk = new Uint8Array(0);
    this.used = 0;
  }

  append(algo: HashAlgo, hex: string, meta = ""): void {
    const m = meta ? enc.encode(meta) : null;
    const len = m?.length ?? 0;
    if (len > 0xffff) throw new Error("entry metadata longer than 65535 bytes");
    const n = hex.length / 2;
    this.reserve(3 + n + len);
    const b = this.chunk;
    let at = this.used;
    b[at++] = ALGO_CODE[algo];
    hexInto(hex, b, at);
    at += n;
    b[at++] = len & 0xff;
    b[at++] = len >>> 8;
    if (m) b.set(m, at);
    this.used = at + len;
    this.size += 3 + n + len;
  }

  /** Appends plain shard bytes (whole entries) as they are. */
  appendRaw(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) {
      let end = at;
      // As many whole entries as fit the current chunk (or one, in a new chunk).
      while (end < bytes.length) {
        const next = entryEnd(bytes, end);
        if (next - at > this.chunk.length - this.used && end > at) break;
        if (next - at > this.chunk.length - this.used) this.reserve(next - at);
        end = next;
      }
      this.chunk.set(bytes.subarray(at, end), this.used);
      this.used += end - at;
      this.size += end - at;
      at = end;
    }
  }

  /** Copies entries of `bytes` (plain shards) that `keep` accepts. */
  appendFiltered(bytes: Uint8Array, keep: (e: StoredEntry) => boolean): void {
    for (let at = 0; at < bytes.length; ) {
      const [e, next] = readEntry(bytes, at);
      if (keep(e)) this.appendRaw(bytes.subarray(at, next));
      at = next;
    }
  }

  /** Every chunk, in order (each holds whole entries). */
  parts(): Uint8Array[] {
    this.seal();
    return this.chunks;
  }

  /** Plain shards of ≤ `limit` bytes at entry boundaries, built one at a time (at least one). */
  *shards(limit = ENTRY_SHARD_BYTES): Generator<Uint8Array> {
    let group: Uint8Array[] = [];
    let bytes = 0;
    let any = false;
    const join = () => {
      const out = new Uint8Array(bytes);
      let at = 0;
      for (const c of group) {
        out.set(c, at);
        at += c.length;
      }
      group = [];
      bytes = 0;
      any = true;
      return out;
    };
    for (const c of this.parts())
      for (let at = 0; at < c.length; ) {
        // Whole entries of this chunk that fit the shard's remaining room (at least one per shard).
        let end = at;
        while (end < c.length) {
          const next = entryEnd(c, end);
          if (bytes + next - at > limit && (end > at || group.length > 0)) break;
          end = next;
        }
        if (end > at) {
          group.push(c.subarray(at, end));
          bytes += end - at;
          at = end;
        }
        if (at < c.length) yield join();
      }
    if (group.length > 0 || !any) yield join();
  }
}

/** Where the entry starting at `at` ends (lengths only: no hex). */
function entryEnd(b: Uint8Array, at: number): number {
  const algo = ALGO_OF[b[at]!];
  if (!algo) throw new Error(`entry shard: unknown algorithm code ${b[at]} at byte ${at}`);
  const lenAt = at + 1 + HASH_HEX_LENGTH[algo] / 2;
  const end = lenAt + 2 + (b[lenAt]! | (b[lenAt + 1]! << 8));
  if (lenAt + 2 > b.length || end > b.length) throw new Error("entry shard: truncated entry");
  return end;
}

function readEntry(b: Uint8Array, at: number): [StoredEntry, number] {
  const algo = ALGO_OF[b[at]!];
  if (!algo) throw new Error(`entry shard: unknown algorithm code ${b[at]} at byte ${at}`);
  const n = HASH_HEX_LENGTH[algo] / 2;
  const lenAt = at + 1 + n;
  if (lenAt + 2 > b.length) throw new Error("entry shard: truncated entry");
  const len = b[lenAt]! | (b[lenAt + 1]! << 8);
  const end = lenAt + 2 + len;
  if (end > b.length) throw new Error("entry shard: truncated metadata");
  const hex = hexOf(b.subarray(at + 1, lenAt));
  return [{ algo, hex, meta: len ? dec.decode(b.subarray(lenAt + 2, end)) : "" }, end];
}

/** Every entry of a plain shard, in order. */
export function* readEntries(bytes: Uint8Array): Generator<StoredEntry> {
  for (let at = 0; at < bytes.length; ) {
    const [e, next] = readEntry(bytes, at);
    yield e;
    at = next;
  }
}
