/** KV keys of list data besides the manifest and membership records (docs/storage.md). */
import { AppError } from "../errors.ts";
import { EMPTY_MANIFEST, type ListManifest, type ListMeta, MANIFEST_KEY } from "./manifest.ts";
import { getJson, type ListStore } from "./store.ts";

export const historyKey = (id: string) => `lists/${id}/history`;
export const keysKey = (id: string, v: number, shard: number) => `lists/${id}/v/${v}/keys/${shard}`;
export const pdqShardKey = (id: string, v: number, shard: number) => `lists/${id}/v/${v}/pdq/${shard}`;
/** A version's entries (every digest, its entry id and category), sealed: what `rekey` reads. */
export const entriesKey = (id: string, v: number, shard: number) => `lists/${id}/v/${v}/entries/${shard}`;
/**
 * Provider entry id → its digests ("algo:hex", sealed), so a tombstone can remove them. The key
 * holds the entry id's tag (hex), never the id itself.
 */
export const entryIdKey = (id: string, keyId: string, idTagHex: string) =>
  `lists/${id}/id/${keyId}/${idTagHex}`;

/**
 * One line of a list's history (`lists/<id>/history`). publish and rollback lines say when the
 * manifest named the version (a staged version's line is written at its switch); a discard line
 * says a staged version was dropped without ever being served.
 */
export interface ListVersionRecord {
  kind: "publish" | "rollback" | "discard";
  version: number;
  /** publish: the version the delta applied to; rollback: the version left; discard: the version kept. */
  base: number;
  at: string;
  /** Staged versions (src/lists/staged.ts): when the version was staged (`at` is its switch or discard). */
  stagedAt?: string;
  /** discard: what the dropped staged version was. */
  discarded?: "publish" | "rollback";
  actor: string;
  added: number;
  removed: number;
  exactEntries?: number;
  pdqEntries?: number;
  /** publish: the version's derived data, restored by a rollback to it. */
  shape?: VersionShape;
}

/** The manifest fields that describe one published version's data. */
export type VersionShape = Pick<
  ListMeta,
  | "algorithms"
  | "pdqShards"
  | "prefilterShards"
  | "keyShards"
  | "entryShards"
  | "keyId"
  | "exactEntries"
  | "pdqEntries"
>;

/** Puts a version's shape into its manifest entry. */
export function applyShape(list: ListMeta, shape: VersionShape): void {
  delete list.exactEntries;
  delete list.keyId;
  Object.assign(list, shape);
}

export const EMPTY_SHAPE: VersionShape = {
  algorithms: [],
  pdqShards: 0,
  prefilterShards: 0,
  keyShards: 0,
  entryShards: 0,
  exactEntries: 0,
  pdqEntries: 0,
};

/** Why a list operation was refused; mapped to HTTP by the admin API and to exit codes by the CLI. */
export type ListErrorCode = "not-found" | "exists" | "invalid" | "conflict";

export class ListError extends AppError {
  declare readonly code: ListErrorCode;
  constructor(code: ListErrorCode, message: string) {
    super(code, message);
    this.name = "ListError";
  }
}

/** The manifest as stored now (never the per-isolate cache: writers need the latest). */
export async function readManifest(store: ListStore): Promise<ListManifest> {
  return (await getJson<ListManifest>(store, MANIFEST_KEY)) ?? structuredClone(EMPTY_MANIFEST);
}

export function findList(manifest: ListManifest, id: string): ListMeta {
  const list = manifest.lists.find((l) => l.id === id);
  if (!list) throw new ListError("not-found", `no list "${id}"`);
  return list;
}

/** Writes the manifest with `change` applied to list `id`: the one write that switches versions. */
export async function writeManifest(store: ListStore, manifest: ListManifest, now: Date): Promise<void> {
  manifest.revision++;
  manifest.updatedAt = now.toISOString();
  await store.put(MANIFEST_KEY, JSON.stringify(manifest));
  await store.flush();
}

export async function readHistory(store: ListStore, id: string): Promise<ListVersionRecord[]> {
  return (await getJson<ListVersionRecord[]>(store, historyKey(id))) ?? [];
}

export async function appendHistory(store: ListStore, id: string, rec: ListVersionRecord): Promise<void> {
  const history = await readHistory(store, id);
  history.push(rec);
  await store.put(historyKey(id), JSON.stringify(history));
}
