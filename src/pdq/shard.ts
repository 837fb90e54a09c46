/**
 * Binary PDQ shard: one KV value (lists/<id>/v/<version>/pdq/<shard>, docs/storage.md) holding
 * up to MAX_SHARD_ENTRIES hashes of a list.
 *
 * Layout (all integers little-endian):
 *
 *   offset  size      field
 *   0       4         magic "PDQS"
 *   4       2         format version (1)
 *   6       2         reserved, 0
 *   8       4         count n
 *   12      4         reserved, 0
 *   16      32 * n    hashes, 32 bytes each in hex-string order (byte 0 = first two hex digits)
 *   16+32n  4 * n     entry ids (u32), same order: the list's own entry numbers
 *
 * Hashes and ids are kept in separate blocks so the hash block can be copied into the WASM
 * index in one piece. 700 000 entries make 25.2 MB, under KV's 25 MiB value limit.
 */
import { hexToBytes } from "./core.ts";

export const SHARD_MAGIC = "PDQS";
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 16;
export const MAX_SHARD_ENTRIES = 700_000;

export class ShardFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ShardFormatError";
  }
}

export interface PdqEntry {
  /** 64 hex digits. */
  hash: string;
  /** The list's entry number (u32). */
  id: number;
}

export interface DecodedShard {
  /** count x 32 bytes, ready for PdqIndex. */
  hashes: Uint8Array;
  ids: Uint32Array;
}

/** Encodes entries into as many shards as needed (each ≤ MAX_SHARD_ENTRIES). */
export function encodeShards(entries: readonly PdqEntry[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let start = 0; start < entries.length || out.length === 0; start += MAX_SHARD_ENTRIES) {
    out.push(encodeShard(entries.slice(start, start + MAX_SHARD_ENTRIES)));
  }
  return out;
}

export function encodeShard(entries: readonly PdqEntry[]): Uint8Array {
  const n = entries.length;
  if (n > MAX_SHARD_ENTRIES) throw new ShardFormatError(`${n} entries exceed ${MAX_SHARD_ENTRIES} per shard`);
  const bytes = new Uint8Array(SHARD_HEADER_BYTES + 36 * n);
  const dv = new DataView(bytes.buffer);
  for (let i = 0; i < 4; i++) bytes[i] = SHARD_MAGIC.charCodeAt(i);
  dv.setUint16(4, SHARD_VERSION, true);
  dv.setUint32(8, n, true);
  const idBase = SHARD_HEADER_BYTES + 32 * n;
  entries.forEach((e, i) => {
    if (!Number.isInteger(e.id) || e.id < 0 || e.id > 0xffffffff) {
      throw new ShardFormatError(`entry id ${e.id} is not a u32`);
    }
    bytes.set(hexToBytes(e.hash), SHARD_HEADER_BYTES + 32 * i);
    dv.setUint32(idBase + 4 * i, e.id, true);
  });
  return bytes;
}

/** Validates and splits a shard; the returned arrays are views into `bytes`' copy. */
export function decodeShard(bytes: Uint8Array): DecodedShard {
  if (bytes.length < SHARD_HEADER_BYTES) throw new ShardFormatError("PDQ shard shorter than its header");
  const magic = String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!);
  if (magic !== SHARD_MAGIC) throw new ShardFormatError(`not a PDQ shard (magic ${JSON.stringify(magic)})`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint16(4, true);
  if (version !== SHARD_VERSION) throw new ShardFormatError(`PDQ shard version ${version} is not supported`);
  const n = dv.getUint32(8, true);
  if (bytes.length !== SHARD_HEADER_BYTES + 36 * n) {
    throw new ShardFormatError(`PDQ shard of ${bytes.length} bytes does not hold ${n} entries`);
  }
  const hashes = bytes.slice(SHARD_HEADER_BYTES, SHARD_HEADER_BYTES + 32 * n);
  const ids = new Uint32Array(n);
  const idBase = SHARD_HEADER_BYTES + 32 * n;
  for (let i = 0; i < n; i++) ids[i] = dv.getUint32(idBase + 4 * i, true);
  return { hashes, ids };
}
