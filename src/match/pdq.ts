/**
 * PDQ near-duplicate matching: each list version's PDQ shards (KV `lists/<id>/v/<version>/pdq/<n>`)
 * are loaded once per isolate into a PdqIndex in WASM memory, and reloaded when the manifest
 * publishes another version. A hit reads the entry's membership record (`h/pdq/<hex>`) for its
 * provider id and category.
 */
import { pdqShardKey } from "../lists/layout.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { type EntryMembership, entryKey, inVersion } from "../lists/membership.ts";
import type { PdqResult } from "../pdq/core.ts";
import { decodeShard } from "../pdq/shard.ts";
import { cachedPdqIndex } from "../pdq/worker.ts";
import type { MatchHit } from "./types.ts";

/** Query hashes below this quality are too flat to match anything meaningfully (PDQ's own rule). */
export const MIN_PDQ_QUALITY = 50;
/** Shards of a published version never change: the edge may cache them long. */
const SHARD_CACHE_TTL_S = 3600;

/** Lists that hold PDQ entries in their published version. */
export function pdqLists(lists: ListMeta[]): ListMeta[] {
  return lists.filter((l) => (l.pdqShards ?? 0) > 0);
}

async function loadShards(kv: KVNamespace, list: ListMeta) {
  const n = list.pdqShards ?? 0;
  const parts = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      kv.get(pdqShardKey(list.id, list.version, i), { type: "arrayBuffer", cacheTtl: SHARD_CACHE_TTL_S }),
    ),
  );
  return parts.map((p, i) => {
    // A shard not yet visible at this edge: fail the load (the scan then follows FAIL_MODE) rather than match against part of a list.
    if (p === null) throw new Error(`PDQ shard ${i} of ${list.id}@${list.version} missing`);
    return decodeShard(new Uint8Array(p));
  });
}

/** Loads (once per isolate and version) the PDQ index of every list that has one. */
export async function loadPdqIndexes(kv: KVNamespace, lists: ListMeta[]): Promise<void> {
  await Promise.all(
    pdqLists(lists).map((list) => cachedPdqIndex(list.id, String(list.version), () => loadShards(kv, list))),
  );
}

/** Matches an image's PDQ hash (and its dihedral variants) against every list with PDQ entries. */
export async function matchPdq(kv: KVNamespace, lists: ListMeta[], pdq: PdqResult): Promise<MatchHit[]> {
  if (pdq.quality < MIN_PDQ_QUALITY) return [];
  const hits: MatchHit[] = [];
  for (const list of pdqLists(lists)) {
    const index = await cachedPdqIndex(list.id, String(list.version), () => loadShards(kv, list));
    const m = index.query(pdq.dihedral, list.pdqThreshold);
    if (!m) continue;
    const rec = await kv.get<EntryMembership>(entryKey("pdq", m.hash), "json");
    const entry = rec?.[list.id];
    hits.push({
      listId: list.id,
      kind: "pdq",
      action: list.action,
      category: entry?.c ?? list.category,
      ...(entry?.id && inVersion(entry, list.version, list.abandoned) ? { entryId: entry.id } : {}),
      distance: m.distance,
      entryHash: m.hash,
      quality: pdq.quality,
    });
  }
  return hits;
}
