/** The derived data of a list version (key set, prefilter, PDQ shards) and the manifest switch. */

import { joinKeyShards, keyShards } from "./keyset.ts";
import {
  appendHistory,
  findList,
  keysKey,
  ListError,
  pdqShardKey,
  readManifest,
  type VersionShape,
  writeManifest,
} from "./layout.ts";
import type { ListMeta } from "./manifest.ts";
import { prefilterKey, prefilterShardOf } from "./membership.ts";
import type { DigestAlgo } from "./ops.ts";
import { encodePdqShards, readPdqShard } from "./pdq-shards.ts";
import { buildPrefilter } from "./prefilter.ts";
import type { ListStore } from "./store.ts";

/** Keys per prefilter value: ~9 bits each, so 20M keys ≈ 22.5 MB, under KV's 25 MiB. */
export const MAX_KEYS_PER_PREFILTER = 20_000_000;

export interface PublishResult {
  listId: string;
  version: number;
  base: number;
  added: number;
  removed: number;
  exactEntries: number | null;
  pdqEntries: number;
  prefilterBytes: number;
  prefilterBitsPerKey: number | null;
}

/**
 * The base version's key set and PDQ entries. `keys` is null when the base version has no key
 * set (published before prefilters existed): the new version then goes out without a prefilter.
 */
export async function loadBase(
  store: ListStore,
  list: ListMeta,
): Promise<{ keys: Uint32Array | null; pdq: Map<string, number> }> {
  const pdq = new Map<string, number>();
  if (list.version === 0) return { keys: new Uint32Array(0), pdq };
  for (let i = 0; i < (list.pdqShards ?? 0); i++) {
    const bytes = await store.getBytes(pdqShardKey(list.id, list.version, i));
    if (!bytes) throw new ListError("conflict", `PDQ shard ${i} of ${list.id} v${list.version} is missing`);
    readPdqShard(bytes, pdq);
  }
  if (!list.keyShards) return { keys: null, pdq };
  const shards: Uint8Array[] = [];
  for (let i = 0; i < list.keyShards; i++) {
    const bytes = await store.getBytes(keysKey(list.id, list.version, i));
    if (!bytes) return { keys: null, pdq };
    shards.push(bytes);
  }
  return { keys: joinKeyShards(shards), pdq };
}

/** Builds and writes the prefilter(s) of sorted keys; returns their total size. */
async function writePrefilters(
  store: ListStore,
  id: string,
  v: number,
  keys: Uint32Array,
): Promise<[number, number]> {
  const n = keys.length / 2;
  const shards = Math.max(1, Math.ceil(n / MAX_KEYS_PER_PREFILTER));
  let bytes = 0;
  let start = 0;
  for (let s = 0; s < shards; s++) {
    // Keys are sorted by their high word, so each shard is one contiguous run.
    let end = start;
    while (end < n && prefilterShardOf(keys[2 * end + 1]!, shards) === s) end++;
    const blob = buildPrefilter(keys.subarray(2 * start, 2 * end)).serialize();
    bytes += blob.length;
    await store.put(prefilterKey(id, v, s, shards), blob);
    start = end;
  }
  return [shards, bytes];
}

export interface VersionData {
  list: ListMeta;
  base: number;
  next: number;
  abandoned: number[];
  keys: Uint32Array | null;
  pdq: Map<string, number>;
  algorithms: DigestAlgo[];
  added: number;
  removed: number;
  actor: string;
  now: Date;
}

/** Puts a version's shape into its manifest entry. */
export function applyShape(list: ListMeta, shape: VersionShape): void {
  delete list.exactEntries;
  Object.assign(list, shape);
}

export async function finishVersion(store: ListStore, d: VersionData): Promise<PublishResult> {
  const id = d.list.id;
  let prefilter: [number, number] = [0, 0];
  let keyShardCount = 0;
  if (d.keys) {
    prefilter = await writePrefilters(store, id, d.next, d.keys);
    const shards = keyShards(d.keys);
    keyShardCount = shards.length;
    for (let i = 0; i < shards.length; i++) await store.put(keysKey(id, d.next, i), shards[i]!);
  }
  const pdqShards = d.pdq.size > 0 ? encodePdqShards(d.pdq) : [];
  for (let i = 0; i < pdqShards.length; i++) await store.put(pdqShardKey(id, d.next, i), pdqShards[i]!);
  const exactEntries = d.keys ? d.keys.length / 2 : null;
  const shape: VersionShape = {
    algorithms: d.algorithms,
    pdqShards: pdqShards.length,
    prefilterShards: prefilter[0],
    keyShards: keyShardCount,
    pdqEntries: d.pdq.size,
    ...(exactEntries === null ? {} : { exactEntries }),
  };
  const rec = {
    kind: "publish" as const,
    version: d.next,
    base: d.base,
    at: d.now.toISOString(),
    actor: d.actor,
  };
  const counts = { added: d.added, removed: d.removed, pdqEntries: d.pdq.size };
  await appendHistory(store, id, {
    ...rec,
    ...counts,
    ...(exactEntries === null ? {} : { exactEntries }),
    shape,
  });
  // Records, derived data and history all land before the manifest names the new version.
  await store.flush();

  const manifest = await readManifest(store);
  const list = findList(manifest, id);
  if (list.version !== d.base || (list.latest ?? list.version) !== d.next - 1)
    throw new ListError("conflict", `list ${id} changed while version ${d.next} was being built`);
  applyShape(list, shape);
  list.version = d.next;
  list.latest = d.next;
  if (d.abandoned.length > 0) list.abandoned = d.abandoned;
  await writeManifest(store, manifest, d.now);
  const bits = exactEntries ? (prefilter[1] * 8) / exactEntries : null;
  return {
    listId: id,
    version: d.next,
    base: d.base,
    added: d.added,
    removed: d.removed,
    exactEntries,
    pdqEntries: d.pdq.size,
    prefilterBytes: prefilter[1],
    prefilterBitsPerKey: bits,
  };
}
