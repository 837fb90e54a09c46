/**
 * PDQ near-duplicate matching: each list version's PDQ shards (KV `lists/<id>/v/<version>/pdq/<n>`)
 * are loaded once per isolate into a PdqIndex in WASM memory, and reloaded when the manifest
 * publishes another version; lists of PDQ_SHARD_THRESHOLD entries or more are searched on shard
 * objects instead (src/match/pdq-remote.ts). A hit reads the entry's membership record (`h/pdq/<hex>`) for its
 * provider id and category.
 */
import { pdqShardKey } from "../lists/layout.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { type EntryMembership, entryKey, inVersion } from "../lists/membership.ts";
import type { PdqResult } from "../pdq/core.ts";
import { type DecodedShard, decodeShard } from "../pdq/shard.ts";
import { cachedPdqIndex } from "../pdq/worker.ts";
import { type PdqShardRouting, queryShards, usesShards, warmShards } from "./pdq-remote.ts";
import type { MatchHit } from "./types.ts";

/** Query hashes below this quality are too flat to match anything meaningfully (PDQ's own rule). */
export const MIN_PDQ_QUALITY = 50;
/** Shards of a published version never change: the edge may cache them long. */
const SHARD_CACHE_TTL_S = 3600;

/** Lists that hold PDQ entries in their published version. */
export function pdqLists(lists: ListMeta[]): ListMeta[] {
  return lists.filter((l) => (l.pdqShards ?? 0) > 0);
}

/**
 * Stored shard `i` of the list's published version, decoded. The one reader of PDQ shards: the
 * in-isolate index and the shard objects (src/pdq-shards/object.ts) both load through it.
 */
export async function loadPdqShard(kv: KVNamespace, list: ListMeta, i: number): Promise<DecodedShard> {
  const p = await kv.get(pdqShardKey(list.id, list.version, i), {
    type: "arrayBuffer",
    cacheTtl: SHARD_CACHE_TTL_S,
  });
  // A shard not yet visible at this edge: fail the load (the scan then follows FAIL_MODE) rather than match against part of a list.
  if (p === null) throw new Error(`PDQ shard ${i} of ${list.id}@${list.version} missing`);
  return decodeShard(new Uint8Array(p));
}

function loadShards(kv: KVNamespace, list: ListMeta) {
  return Promise.all(Array.from({ length: list.pdqShards ?? 0 }, (_, i) => loadPdqShard(kv, list, i)));
}

/**
 * Loads (once per isolate and version) the PDQ index of every list that has one; lists large
 * enough for shard objects (src/match/pdq-remote.ts) have their objects load instead.
 */
export async function loadPdqIndexes(
  kv: KVNamespace,
  lists: ListMeta[],
  shards?: PdqShardRouting | null,
): Promise<void> {
  await Promise.all(
    pdqLists(lists).map((list) =>
      usesShards(list, shards)
        ? warmShards(shards, list)
        : cachedPdqIndex(list.id, String(list.version), () => loadShards(kv, list)),
    ),
  );
}

/** The list's best entry for the query: from its shard objects or the isolate's own index. */
async function bestEntry(kv: KVNamespace, list: ListMeta, pdq: PdqResult, shards?: PdqShardRouting | null) {
  if (usesShards(list, shards)) return queryShards(shards, list, pdq.dihedral);
  const index = await cachedPdqIndex(list.id, String(list.version), () => loadShards(kv, list));
  return index.query(pdq.dihedral, list.pdqThreshold);
}

/** Matches an image's PDQ hash (and its dihedral variants) against every list with PDQ entries. */
export async function matchPdq(
  kv: KVNamespace,
  lists: ListMeta[],
  pdq: PdqResult,
  shards?: PdqShardRouting | null,
): Promise<MatchHit[]> {
  if (pdq.quality < MIN_PDQ_QUALITY) return [];
  const hits: MatchHit[] = [];
  for (const list of pdqLists(lists)) {
    const m = await bestEntry(kv, list, pdq, shards);
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
