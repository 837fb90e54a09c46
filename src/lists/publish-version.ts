/** The derived data of a list version (key set, prefilter, PDQ shards) and the manifest switch. */

import type { EntryLog } from "./entries.ts";
import type { ListKey } from "./keyring.ts";
import { joinKeyShards, keyShards } from "./keyset.ts";
import {
  appendHistory,
  applyShape,
  entriesKey,
  findList,
  keysKey,
  ListError,
  type ListVersionRecord,
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
import { stageVersion } from "./staged.ts";
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
  /** The version is staged (src/lists/staged.ts): the manifest still names `base`. */
  staged?: boolean;
}

export interface BaseVersion {
  /** Null when the base version has no key set: the new version then goes out without a prefilter. */
  keys: Uint32Array | null;
  pdq: Map<string, number>;
  /** Plain entry shards (src/lists/entries.ts). */
  entries: Uint8Array[];
}

/** Reads and opens a sealed value of a list version; a missing or altered one stops the publish. */
async function openSealed(
  store: ListStore,
  key: ListKey,
  list: ListMeta,
  kvKey: string,
): Promise<Uint8Array> {
  const bytes = await store.getBytes(kvKey);
  if (!bytes) throw new ListError("conflict", `${kvKey} is missing`);
  return key.openBlob(list.id, list.version, bytes, kvKey);
}

/** The base version's key set, PDQ entries and entries, opened with `key` (the base's own). */
export async function loadBase(store: ListStore, list: ListMeta, key: ListKey): Promise<BaseVersion> {
  const pdq = new Map<string, number>();
  const base: BaseVersion = { keys: new Uint32Array(0), pdq, entries: [] };
  if (list.version === 0) return base;
  for (let i = 0; i < (list.pdqShards ?? 0); i++)
    readPdqShard(await openSealed(store, key, list, pdqShardKey(list.id, list.version, i)), pdq);
  for (let i = 0; i < (list.entryShards ?? 0); i++)
    base.entries.push(await openSealed(store, key, list, entriesKey(list.id, list.version, i)));
  if (!list.keyShards) return { ...base, keys: null };
  const shards: Uint8Array[] = [];
  for (let i = 0; i < list.keyShards; i++) {
    const bytes = await store.getBytes(keysKey(list.id, list.version, i));
    if (!bytes) return { ...base, keys: null };
    shards.push(bytes);
  }
  return { ...base, keys: joinKeyShards(shards) };
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
  entries: EntryLog;
  /** The key the version is published with. */
  key: ListKey;
  algorithms: DigestAlgo[];
  added: number;
  removed: number;
  actor: string;
  now: Date;
  beforeSwitch?: (list: ListMeta) => Promise<void>;
  /** True for a version to stage instead of switching to (src/lists/staged.ts). */
  stage?: (list: ListMeta) => boolean;
}

export { applyShape } from "./layout.ts";

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
  // PDQ shards and entries are sealed under the version's own key (keyring.ts).
  const pdqShards = d.pdq.size > 0 ? encodePdqShards(d.pdq) : [];
  for (let i = 0; i < pdqShards.length; i++) {
    const k = pdqShardKey(id, d.next, i);
    await store.put(k, await d.key.sealBlob(id, d.next, pdqShards[i]!, k));
  }
  let entryShards = 0;
  if (d.entries.size > 0)
    for (const plain of d.entries.shards()) {
      const k = entriesKey(id, d.next, entryShards++);
      await store.put(k, await d.key.sealBlob(id, d.next, plain, k));
    }
  const exactEntries = d.keys ? d.keys.length / 2 : null;
  const shape: VersionShape = {
    algorithms: d.algorithms,
    pdqShards: pdqShards.length,
    prefilterShards: prefilter[0],
    keyShards: keyShardCount,
    entryShards,
    keyId: d.key.id,
    pdqEntries: d.pdq.size,
    ...(exactEntries === null ? {} : { exactEntries }),
  };
  const counts = { added: d.added, removed: d.removed, pdqEntries: d.pdq.size };
  const record: ListVersionRecord = {
    kind: "publish",
    version: d.next,
    base: d.base,
    at: d.now.toISOString(),
    actor: d.actor,
    ...counts,
    ...(exactEntries === null ? {} : { exactEntries }),
    shape,
  };
  const next: ListMeta = structuredClone(d.list);
  applyShape(next, shape);
  next.version = d.next;
  next.latest = d.next;
  if (d.abandoned.length > 0) next.abandoned = d.abandoned;
  const staged = d.stage?.(next) ?? false;
  // A staged version's history line is written when it switches (src/lists/staged.ts).
  if (!staged) await appendHistory(store, id, record);
  // Records, derived data and history all land before the manifest names the new version.
  await store.flush();
  if (d.beforeSwitch && !staged) await d.beforeSwitch(next);

  const manifest = await readManifest(store);
  const list = findList(manifest, id);
  if (list.version !== d.base || (list.latest ?? list.version) !== d.next - 1)
    throw new ListError("conflict", `list ${id} changed while version ${d.next} was being built`);
  if (staged)
    await stageVersion(store, {
      listId: id,
      kind: "publish",
      from: { version: d.base, latest: d.next - 1 },
      version: d.next,
      latest: d.next,
      ...(d.abandoned.length > 0 ? { abandoned: d.abandoned } : {}),
      shape,
      stagedAt: d.now.toISOString(),
      actor: d.actor,
      record,
    });
  else {
    applyShape(list, shape);
    list.version = d.next;
    list.latest = d.next;
    if (d.abandoned.length > 0) list.abandoned = d.abandoned;
    await writeManifest(store, manifest, d.now);
  }
  const bits = exactEntries ? (prefilter[1] * 8) / exactEntries : null;
  return {
    ...(staged ? { staged } : {}),
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
