/**
 * PDQ entries of a list version as the shards the gate's PdqIndex loads
 * (`lists/<id>/v/<version>/pdq/<shard>`, layout in src/pdq/shard.ts). A shard's u32 id is the
 * entry's position in the version; the provider's entry id and category stay in the
 * `h/pdq/<hex>` membership record, read only on a match. Quality is checked at import (entries
 * below the cut-off never get here), so shards do not carry it.
 */
import { bytesToHex } from "../pdq/core.ts";
import { decodeShard, encodeShards } from "../pdq/shard.ts";

/** Shards of `entries` (hex → quality, or 255 when the list gave none), at least one. */
export function encodePdqShards(entries: Map<string, number>): Uint8Array[] {
  let id = 0;
  return encodeShards([...entries.keys()].map((hash) => ({ hash, id: id++ })));
}

/** Adds a stored shard's hashes to `into` (quality unknown after storage: 255). */
export function readPdqShard(bytes: Uint8Array, into: Map<string, number>): void {
  const { hashes } = decodeShard(bytes);
  for (let at = 0; at < hashes.length; at += 32) into.set(bytesToHex(hashes.subarray(at, at + 32)), 255);
}
