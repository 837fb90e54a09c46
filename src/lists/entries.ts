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

/** Growable byte log of entries. */
export class EntryLog {
  private buf = new Uint8Array(1 << 16);
  size = 0;

  private reserve(n: number): void {
    if (this.size + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.size + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.size));
    this.buf = next;
  }

  append(algo: HashAlgo, hex: string, meta = ""): void {
    const m = meta ? enc.encode(meta) : null;
    const len = m?.length ?? 0;
    if (len > 0xffff) throw new Error("entry metadata longer than 65535 bytes");
    const n = hex.length / 2;
    this.reserve(3 + n + len);
    const b = this.buf;
    b[this.size++] = ALGO_CODE[algo];
    hexInto(hex, b, this.size);
    this.size += n;
    b[this.size++] = len & 0xff;
    b[this.size++] = len >>> 8;
    if (m) b.set(m, this.size);
    this.size += len;
  }

  /** Appends plain shard bytes as they are. */
  appendRaw(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.size);
    this.size += bytes.length;
  }

  /** Copies entries of `bytes` (plain shards) that `keep` accepts, unparsed. */
  appendFiltered(bytes: Uint8Array, keep: (e: StoredEntry) => boolean): void {
    for (let at = 0; at < bytes.length; ) {
      const [e, next] = readEntry(bytes, at);
      if (keep(e)) {
        this.reserve(next - at);
        this.buf.set(bytes.subarray(at, next), this.size);
        this.size += next - at;
      }
      at = next;
    }
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.size);
  }

  /** Splits the log at entry boundaries into plain shards of ≤ ENTRY_SHARD_BYTES (at least one). */
  shards(limit = ENTRY_SHARD_BYTES): Uint8Array[] {
    const all = this.bytes();
    const out: Uint8Array[] = [];
    let start = 0;
    let at = 0;
    while (at < all.length) {
      const next = readEntry(all, at)[1];
      if (next - start > limit && at > start) {
        out.push(all.subarray(start, at));
        start = at;
      }
      at = next;
    }
    if (start < all.length || out.length === 0) out.push(all.subarray(start));
    return out;
  }
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
