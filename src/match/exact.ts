/**
 * Exact-digest matching against the published lists. A digest is first turned into its tag
 * (HMAC under the list secret, src/lists/keyring.ts): one HMAC per distinct digest and per
 * secret in use (two only while a rotation runs). Each list version carries a prefilter over
 * tags, loaded once per isolate and version: a digest no list's prefilter may hold costs no KV
 * read. The records of the rest (`lists/<id>/e/<key id>/<tag>`, one per list) are read in bulk
 * with the upload's other digests; a record says since which version the list holds the entry,
 * so a scan sees exactly the versions of the manifest it read.
 */
import { type ListKeyring, tagInput } from "../lists/keyring.ts";
import type { ListMeta } from "../lists/manifest.ts";
import {
  type EntryMeta,
  type EntryRecord,
  inVersion,
  prefilterKey,
  prefilterShardOf,
  recordKey,
  tagKeyPair,
} from "../lists/membership.ts";
import { Prefilter } from "../lists/prefilter.ts";
import type { DigestAlgo, Digests } from "../scan/digests.ts";
import type { MatchHit } from "./types.ts";

export { inVersion, prefilterKey, prefilterShardOf, recordKey } from "../lists/membership.ts";

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

/**
 * Keys one KV bulk `get` may name (KV's limit). A bulk read counts as one operation against
 * the per-invocation budget, where one read per digest made ~334 copies of a listed file
 * exhaust it.
 */
export const KV_BULK_GET_KEYS = 100;

/** False only when the list has a prefilter and it cannot hold the tag. */
async function mayHold(kv: KVNamespace, list: ListMeta, lo: number, hi: number): Promise<boolean> {
  const filters = await listPrefilters(kv, list);
  if (!filters) return true;
  return filters[prefilterShardOf(hi, filters.length)]!.has(lo, hi);
}

/** The sealed metadata of a record (entry id, category), opened only for a hit. */
export async function recordMeta(
  keys: ListKeyring,
  list: ListMeta,
  rec: EntryRecord,
  key: string,
): Promise<EntryMeta> {
  if (!rec.x) return {};
  return JSON.parse(await keys.forId(list.keyId, `list ${list.id}`).openText(rec.x, key)) as EntryMeta;
}

/**
 * Looks up a file's digests; returns every hit in the given (active) lists. `keys` is called
 * only when some list uses one of the digests' algorithms (no list, no secret needed).
 */
export async function matchDigests(
  kv: KVNamespace,
  lists: ListMeta[],
  digests: Digests,
  keys: () => Promise<ListKeyring>,
): Promise<MatchHit[]> {
  return (await matchDigestSets(kv, lists, [digests], keys))[0]!;
}

/**
 * Looks up the digests of every file of an upload at once: each distinct digest is tagged and
 * checked against the prefilters once, and the records that may exist are read in bulk
 * (KV_BULK_GET_KEYS per read). Returns the hits of each file, in order. `keys` is called only
 * when some list uses one of the digests' algorithms (no list, no secret needed).
 */
export async function matchDigestSets(
  kv: KVNamespace,
  lists: ListMeta[],
  sets: Digests[],
  keys: () => Promise<ListKeyring>,
): Promise<MatchHit[][]> {
  const distinct = new Map<string, [DigestAlgo, string]>();
  for (const d of sets) {
    for (const [algo, hex] of Object.entries(d) as [DigestAlgo, string][]) {
      if (lists.some((l) => l.algorithms.includes(algo)))
        distinct.set(`${algo}:${hex.toLowerCase()}`, [algo, hex.toLowerCase()]);
    }
  }
  if (distinct.size === 0) return sets.map(() => []);
  const ring = await keys();
  const lookups: { digest: string; list: ListMeta; algo: DigestAlgo; key: string }[] = [];
  for (const [digest, [algo, hex]] of distinct) {
    const tags = new Map<string, Uint8Array>();
    for (const list of lists.filter((l) => l.algorithms.includes(algo))) {
      const k = ring.forId(list.keyId, `list ${list.id}`);
      let tag = tags.get(k.id);
      if (!tag) {
        tag = await k.tag(tagInput(algo, hex));
        tags.set(k.id, tag);
      }
      const [lo, hi] = tagKeyPair(tag);
      if (await mayHold(kv, list, lo, hi))
        lookups.push({ digest, list, algo, key: recordKey(list.id, k.id, tag) });
    }
  }
  const toRead = [...new Set(lookups.map((l) => l.key))];
  const records = new Map<string, EntryRecord | null>();
  for (let i = 0; i < toRead.length; i += KV_BULK_GET_KEYS) {
    const part = toRead.slice(i, i + KV_BULK_GET_KEYS);
    const got = await kv.get<EntryRecord>(part, { type: "json", cacheTtl: ENTRY_CACHE_TTL_S });
    for (const k of part) records.set(k, got.get(k) ?? null);
  }
  const hitsOf = new Map<string, MatchHit[]>();
  for (const { digest, list, algo, key } of lookups) {
    const rec = records.get(key);
    if (!rec || !inVersion(rec, list.version, list.abandoned)) continue;
    const meta = await recordMeta(ring, list, rec, key);
    const hits = hitsOf.get(digest) ?? [];
    hits.push({
      listId: list.id,
      kind: "exact",
      action: list.action,
      algo,
      category: meta.c ?? list.category,
      ...(meta.id ? { entryId: meta.id } : {}),
    });
    hitsOf.set(digest, hits);
  }
  return sets.map((d) =>
    (Object.entries(d) as [DigestAlgo, string][]).flatMap(
      ([algo, hex]) => hitsOf.get(`${algo}:${hex.toLowerCase()}`) ?? [],
    ),
  );
}
