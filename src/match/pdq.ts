/**
 * PDQ near-duplicate matching: each list version's PDQ shards (KV `lists/<id>/v/<version>/pdq/<n>`,
 * sealed under the version's key) are opened and loaded once per isolate into a PdqIndex in WASM
 * memory, and reloaded when the manifest publishes another version. Near-duplicate search needs
 * the plain hashes, so they are plain in isolate memory only. A hit reads the entry's membership
 * record (by the hash's tag) for its provider id and category. The hit does not carry the list's
 * hash: cases keep what was uploaded, never the list.
 */
import { type ListKeyring, tagInput } from "../lists/keyring.ts";
import { pdqShardKey } from "../lists/layout.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { type EntryRecord, inVersion, recordKey } from "../lists/membership.ts";
import type { PdqResult } from "../pdq/core.ts";
import { decodeShard } from "../pdq/shard.ts";
import { cachedPdqIndex } from "../pdq/worker.ts";
import type { MemoryBudget } from "../scan/budget.ts";
import { recordMeta } from "./exact.ts";
import type { MatchHit } from "./types.ts";

/** Query hashes below this quality are too flat to match anything meaningfully (PDQ's own rule). */
export const MIN_PDQ_QUALITY = 50;
/** Shards of a published version never change: the edge may cache them long. */
const SHARD_CACHE_TTL_S = 3600;

/** Lists that hold PDQ entries in their published version. */
export function pdqLists(lists: ListMeta[]): ListMeta[] {
  return lists.filter((l) => (l.pdqShards ?? 0) > 0);
}

/** Reads and opens a version's shards; one that is missing or fails authentication fails the load. */
async function loadShards(kv: KVNamespace, keys: ListKeyring, list: ListMeta) {
  const key = keys.forId(list.keyId, `list ${list.id}`);
  const n = list.pdqShards ?? 0;
  const parts = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      kv.get(pdqShardKey(list.id, list.version, i), { type: "arrayBuffer", cacheTtl: SHARD_CACHE_TTL_S }),
    ),
  );
  return Promise.all(
    parts.map(async (p, i) => {
      // A shard not yet visible at this edge: fail the load (the scan then follows FAIL_MODE) rather than match against part of a list.
      if (p === null) throw new Error(`PDQ shard ${i} of ${list.id}@${list.version} missing`);
      const plain = await key.openBlob(
        list.id,
        list.version,
        new Uint8Array(p),
        pdqShardKey(list.id, list.version, i),
      );
      return decodeShard(plain);
    }),
  );
}

/** Loads (once per isolate and version) the PDQ index of every list that has one. */
export async function loadPdqIndexes(
  kv: KVNamespace,
  lists: ListMeta[],
  keys: () => Promise<ListKeyring>,
  budget?: MemoryBudget,
): Promise<void> {
  const targets = pdqLists(lists);
  if (targets.length === 0) return;
  const ring = await keys();
  await Promise.all(
    targets.map((list) =>
      cachedPdqIndex(list.id, `${list.version}/${list.keyId}`, () => loadShards(kv, ring, list), budget),
    ),
  );
}

/** Matches an image's PDQ hash (and its dihedral variants) against every list with PDQ entries. */
export async function matchPdq(
  kv: KVNamespace,
  lists: ListMeta[],
  pdq: PdqResult,
  keys: () => Promise<ListKeyring>,
  budget?: MemoryBudget,
): Promise<MatchHit[]> {
  if (pdq.quality < MIN_PDQ_QUALITY) return [];
  const hits: MatchHit[] = [];
  for (const list of pdqLists(lists)) {
    const ring = await keys();
    // The key id is part of the cache key: a re-keyed version is a new version anyway.
    const index = await cachedPdqIndex(
      list.id,
      `${list.version}/${list.keyId}`,
      () => loadShards(kv, ring, list),
      budget,
    );
    const m = index.query(pdq.dihedral, list.pdqThreshold);
    if (!m) continue;
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
