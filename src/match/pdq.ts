/**
 * PDQ near-duplicate matching: each list version's PDQ shards (KV `lists/<id>/v/<version>/pdq/<n>`,
 * sealed under the version's key) are opened and loaded once per isolate into a PdqIndex in WASM
 * memory, and reloaded when the manifest publishes another version; lists of PDQ_SHARD_THRESHOLD
 * entries or more are searched on shard objects instead (src/match/pdq-remote.ts). Near-duplicate
 * search needs the plain hashes, so they are plain in memory only. A hit reads the entry's
 * membership record (by the hash's tag) for its provider id and category. The hit does not
 * carry the list's hash: cases keep what was uploaded, never the list.
 */
import { type ListKeyring, tagInput } from "../lists/keyring.ts";
import { pdqShardKey } from "../lists/layout.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { type EntryRecord, inVersion, recordKey } from "../lists/membership.ts";
import type { PdqResult } from "../pdq/core.ts";
import { type DecodedShard, decodeShard } from "../pdq/shard.ts";
import { cachedPdqIndex } from "../pdq/worker.ts";
import type { MemoryBudget } from "../scan/budget.ts";
import { recordMeta } from "./exact.ts";
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
 * Stored shard `i` of the list's published version, opened (AES-GCM under the version's key: one
 * that fails authentication fails the load) and decoded. The one reader of PDQ shards: the
 * in-isolate index and the shard objects (src/pdq-shards/object.ts) both load through it.
 */
export async function loadPdqShard(
  kv: KVNamespace,
  keys: ListKeyring,
  list: Pick<ListMeta, "id" | "version" | "keyId">,
  i: number,
): Promise<DecodedShard> {
  const key = keys.forId(list.keyId, `list ${list.id}`);
  const p = await kv.get(pdqShardKey(list.id, list.version, i), {
    type: "arrayBuffer",
    cacheTtl: SHARD_CACHE_TTL_S,
  });
  // A shard not yet visible at this edge: fail the load (the scan then follows FAIL_MODE) rather than match against part of a list.
  if (p === null) throw new Error(`PDQ shard ${i} of ${list.id}@${list.version} missing`);
  const plain = await key.openBlob(
    list.id,
    list.version,
    new Uint8Array(p),
    pdqShardKey(list.id, list.version, i),
  );
  return decodeShard(plain);
}

async function loadShards(kv: KVNamespace, keys: () => Promise<ListKeyring>, list: ListMeta) {
  const ring = await keys();
  return Promise.all(Array.from({ length: list.pdqShards ?? 0 }, (_, i) => loadPdqShard(kv, ring, list, i)));
}

/** The in-isolate index of a list version (the key id is part of the cache key: a re-keyed version is a new version anyway). */
function isolateIndex(
  kv: KVNamespace,
  list: ListMeta,
  keys: () => Promise<ListKeyring>,
  budget?: MemoryBudget,
) {
  return cachedPdqIndex(list.id, `${list.version}/${list.keyId}`, () => loadShards(kv, keys, list), budget);
}

/**
 * Loads (once per isolate and version) the PDQ index of every list that has one; lists large
 * enough for shard objects (src/match/pdq-remote.ts) have their objects load instead.
 */
export async function loadPdqIndexes(
  kv: KVNamespace,
  lists: ListMeta[],
  keys: () => Promise<ListKeyring>,
  budget?: MemoryBudget,
  shards?: PdqShardRouting | null,
): Promise<void> {
  await Promise.all(
    pdqLists(lists).map((list) =>
      usesShards(list, shards) ? warmShards(shards, list) : isolateIndex(kv, list, keys, budget),
    ),
  );
}

/** The list's best entry for the query: from its shard objects or the isolate's own index. */
async function bestEntry(
  kv: KVNamespace,
  list: ListMeta,
  pdq: PdqResult,
  keys: () => Promise<ListKeyring>,
  budget?: MemoryBudget,
  shards?: PdqShardRouting | null,
) {
  if (usesShards(list, shards)) return queryShards(shards, list, pdq.dihedral);
  const index = await isolateIndex(kv, list, keys, budget);
  return index.query(pdq.dihedral, list.pdqThreshold);
}

/** Matches an image's PDQ hash (and its dihedral variants) against every list with PDQ entries. */
export async function matchPdq(
  kv: KVNamespace,
  lists: ListMeta[],
  pdq: PdqResult,
  keys: () => Promise<ListKeyring>,
  budget?: MemoryBudget,
  shards?: PdqShardRouting | null,
): Promise<MatchHit[]> {
  if (pdq.quality < MIN_PDQ_QUALITY) return [];
  const hits: MatchHit[] = [];
  for (const list of pdqLists(lists)) {
    const m = await bestEntry(kv, list, pdq, keys, budget, shards);
    if (!m) continue;
    const ring = await keys();
    const key = ring.forId(list.keyId, `list ${list.id}`);
    const rk = recordKey(list.id, key.id, await key.tag(tagInput("pdq", m.hash)));
    const rec = await kv.get<EntryRecord>(rk, "json");
    const meta =
      rec && inVersion(rec, list.version, list.abandoned) ? await recordMeta(ring, list, rec, rk) : {};
    hits.push({
      listId: list.id,
      kind: "pdq",
      action: list.action,
      category: meta.c ?? list.category,
      ...(meta.id ? { entryId: meta.id } : {}),
      distance: m.distance,
      quality: pdq.quality,
    });
  }
  return hits;
}
