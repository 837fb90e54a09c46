/**
 * Exact-digest matching against the published lists. A digest is first turned into its tag
 * (HMAC under the list secret, src/lists/keyring.ts): one HMAC per digest and per secret in use
 * (two only while a rotation runs). Each list version carries a prefilter over tags, loaded once
 * per isolate and version: a digest no list's prefilter may hold costs no KV read. Otherwise one
 * KV read per list (`lists/<id>/e/<key id>/<tag>`); the record says since which version the list
 * holds the entry, so a scan sees exactly the versions of the manifest it read.
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
  const candidates = (Object.entries(digests) as [DigestAlgo, string][]).filter(([algo]) =>
    lists.some((l) => l.algorithms.includes(algo)),
  );
  if (candidates.length === 0) return [];
  const ring = await keys();
  const perDigest = await Promise.all(
    candidates.map(async ([algo, hex]) => {
      const lookups: { list: ListMeta; algo: DigestAlgo; key: string }[] = [];
      const users = lists.filter((l) => l.algorithms.includes(algo));
      const tags = new Map<string, Uint8Array>();
      for (const list of users) {
        const k = ring.forId(list.keyId, `list ${list.id}`);
        let tag = tags.get(k.id);
        if (!tag) {
          tag = await k.tag(tagInput(algo, hex.toLowerCase()));
          tags.set(k.id, tag);
        }
        const [lo, hi] = tagKeyPair(tag);
        if (await mayHold(kv, list, lo, hi)) lookups.push({ list, algo, key: recordKey(list.id, k.id, tag) });
      }
      return lookups;
    }),
  );
  const lookups = perDigest.flat();
  const records = await Promise.all(
    lookups.map((l) => kv.get<EntryRecord>(l.key, { type: "json", cacheTtl: ENTRY_CACHE_TTL_S })),
  );
  const hits: MatchHit[] = [];
  for (const [i, rec] of records.entries()) {
    const { list, algo, key } = lookups[i]!;
    if (!rec || !inVersion(rec, list.version, list.abandoned)) continue;
    const meta = await recordMeta(ring, list, rec, key);
    hits.push({
      listId: list.id,
      kind: "exact",
      action: list.action,
      algo,
      category: meta.c ?? list.category,
      ...(meta.id ? { entryId: meta.id } : {}),
    });
  }
  return hits;
}
