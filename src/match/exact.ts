/**
 * Exact-digest matching against the published lists. Each list version carries a prefilter
 * (src/lists/prefilter.ts), loaded once per isolate and version: a digest no list's prefilter
 * holds costs no KV read. Otherwise the digest's record (`h/<algo>/<hex>`, read in bulk with the
 * upload's other digests) answers for every list at once; the membership record says since which version each list holds the entry, so
 * a scan sees exactly the versions of the manifest it read.
 */
import { foldDigest } from "../lists/fold.ts";
import type { ListMeta } from "../lists/manifest.ts";
import {
  type EntryMembership,
  entryKey,
  inVersion,
  prefilterKey,
  prefilterShardOf,
} from "../lists/membership.ts";
import { Prefilter } from "../lists/prefilter.ts";
import type { DigestAlgo, Digests } from "../scan/digests.ts";
import type { MatchHit } from "./types.ts";

export {
  type EntryMembership,
  entryKey,
  inVersion,
  prefilterKey,
  prefilterShardOf,
} from "../lists/membership.ts";

/** KV edge-cache time for entry reads; KV's minimum. Lists change by new versions, not edits in place. */
const ENTRY_CACHE_TTL_S = 60;
/** Prefilters of a version never change, so the edge may keep them as long as it likes. */
const PREFILTER_CACHE_TTL_S = 3600;

/** Prefilters loaded in this isolate: per KV binding, `<list id>@<version>` → filters (null: none). */
const prefilters = new WeakMap<KVNamespace, Map<string, Promise<Prefilter[] | null>>>();

async function fetchPrefilters(kv: KVNamespace, list: ListMeta): Promise<Prefilter[] | null> {
  const shards = list.prefilterShards ?? 0;
  const parts = await Promise.all(
    Array.from({ length: shards }, (_, i) =>
      kv.get(prefilterKey(list.id, list.version, i, shards), {
        type: "arrayBuffer",
        cacheTtl: PREFILTER_CACHE_TTL_S,
      }),
    ),
  );
  // A missing shard (not yet visible at this edge) means no prefilter: KV is read instead.
  if (parts.some((p) => p === null)) return null;
  return parts.map((p) => Prefilter.parse(new Uint8Array(p!)));
}

/** The list version's prefilters, loaded once per isolate; null when it has none. */
export function listPrefilters(kv: KVNamespace, list: ListMeta): Promise<Prefilter[] | null> {
  if (!list.prefilterShards) return Promise.resolve(null);
  let byList = prefilters.get(kv);
  if (!byList) {
    byList = new Map();
    prefilters.set(kv, byList);
  }
  const key = `${list.id}@${list.version}`;
  let p = byList.get(key);
  if (!p) {
    // Other versions of this list are no longer needed by this manifest.
    for (const k of byList.keys()) if (k.startsWith(`${list.id}@`)) byList.delete(k);
    p = fetchPrefilters(kv, list).catch(() => null);
    p.then((f) => f === null && byList.delete(key));
    byList.set(key, p);
  }
  return p;
}

/** Loads (once per isolate and version) the prefilters of every list that has them. */
export async function loadPrefilters(kv: KVNamespace, lists: ListMeta[]): Promise<void> {
  await Promise.all(lists.map((l) => listPrefilters(kv, l)));
}

/** False only when every list using `algo` has a prefilter and none of them may hold the digest. */
async function mayHold(kv: KVNamespace, lists: ListMeta[], algo: DigestAlgo, hex: string): Promise<boolean> {
  const key = foldDigest(algo, hex);
  for (const list of lists) {
    if (!list.algorithms.includes(algo)) continue;
    const filters = await listPrefilters(kv, list);
    if (!filters) return true;
    if (filters[prefilterShardOf(key[1]!, filters.length)]!.has(key[0]!, key[1]!)) return true;
  }
  return false;
}

/**
 * Keys one KV bulk `get` may name (KV's limit). A bulk read counts as one operation against
 * the per-invocation budget, where one read per digest made ~334 copies of a listed file
 * exhaust it.
 */
export const KV_BULK_GET_KEYS = 100;

/** Looks up a file's digests; returns every hit in the given (active) lists. */
export async function matchDigests(
  kv: KVNamespace,
  lists: ListMeta[],
  digests: Digests,
): Promise<MatchHit[]> {
  return (await matchDigestSets(kv, lists, [digests]))[0]!;
}

/**
 * Looks up the digests of every file of an upload at once: each distinct digest is checked
 * against the prefilters once, and those that may be listed are read in bulk (KV_BULK_GET_KEYS
 * per read). Returns the hits of each file, in order.
 */
export async function matchDigestSets(
  kv: KVNamespace,
  lists: ListMeta[],
  sets: Digests[],
): Promise<MatchHit[][]> {
  const byId = new Map(lists.map((l) => [l.id, l]));
  const distinct = new Map<string, [DigestAlgo, string]>();
  for (const d of sets) {
    for (const [algo, hex] of Object.entries(d) as [DigestAlgo, string][]) {
      if (lists.some((l) => l.algorithms.includes(algo))) distinct.set(entryKey(algo, hex), [algo, hex]);
    }
  }
  const candidates = [...distinct.entries()];
  const needed = await Promise.all(candidates.map(([, [algo, hex]]) => mayHold(kv, lists, algo, hex)));
  const keys = candidates.filter((_, i) => needed[i]).map(([key]) => key);
  const records = new Map<string, EntryMembership | null>();
  for (let i = 0; i < keys.length; i += KV_BULK_GET_KEYS) {
    const part = keys.slice(i, i + KV_BULK_GET_KEYS);
    const got = await kv.get<EntryMembership>(part, { type: "json", cacheTtl: ENTRY_CACHE_TTL_S });
    for (const k of part) records.set(k, got.get(k) ?? null);
  }
  return sets.map((d) => {
    const hits: MatchHit[] = [];
    for (const [algo, hex] of Object.entries(d) as [DigestAlgo, string][]) {
      const rec = records.get(entryKey(algo, hex));
      if (!rec) continue;
      for (const [listId, m] of Object.entries(rec)) {
        const list = byId.get(listId);
        if (!list?.algorithms.includes(algo) || !inVersion(m, list.version, list.abandoned)) continue;
        hits.push({
          listId,
          kind: "exact",
          action: list.action,
          algo,
          category: m.c ?? list.category,
          ...(m.id ? { entryId: m.id } : {}),
        });
      }
    }
    return hits;
  });
}
