/** Creating, enabling, disabling, rolling back and removing lists: manifest edits. */
import {
  appendHistory,
  EMPTY_SHAPE,
  entriesKey,
  findList,
  keysKey,
  ListError,
  type ListVersionRecord,
  pdqShardKey,
  readHistory,
  readManifest,
  type VersionShape,
  writeManifest,
} from "./layout.ts";
import type { ListAction, ListMeta } from "./manifest.ts";
import { prefilterKey } from "./membership.ts";
import { applyShape } from "./publish-version.ts";
import { requireNothingStaged, stageVersion } from "./staged.ts";
import type { ListStore } from "./store.ts";

/** What `create` needs; everything else starts empty. */
export interface NewList {
  id: string;
  name?: string;
  provider: string;
  category?: string;
  licenceRef: string;
  licensedUntil: string;
  allowedUses: string[];
  action: ListAction;
  pdqThreshold?: number;
  enabled?: boolean;
}

/** List ids go into KV keys and URLs: keep them short and plain. */
const ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
export const DEFAULT_PDQ_THRESHOLD = 31;

/** Checks untrusted input (admin API body, CLI flags) and returns the new list's metadata. */
export function validateNewList(input: unknown): ListMeta {
  const o = (typeof input === "object" && input !== null ? input : {}) as Record<string, unknown>;
  const bad = (what: string) => new ListError("invalid", what);
  const str = (k: string) =>
    typeof o[k] === "string" && (o[k] as string).trim() ? (o[k] as string).trim() : undefined;
  const id = str("id");
  if (!id || !ID_RE.test(id)) throw bad("id: 1–64 characters a-z 0-9 . _ -, starting with a letter or digit");
  const provider = str("provider");
  const licenceRef = str("licenceRef");
  const licensedUntil = str("licensedUntil");
  if (!provider) throw bad("provider is required");
  if (!licenceRef) throw bad("licenceRef is required");
  if (!licensedUntil || !DATE_RE.test(licensedUntil) || Number.isNaN(Date.parse(licensedUntil)))
    throw bad("licensedUntil must be a date YYYY-MM-DD");
  const uses = o.allowedUses;
  if (!Array.isArray(uses) || uses.length === 0 || !uses.every((u) => typeof u === "string" && u))
    throw bad("allowedUses must be a non-empty list of strings");
  if (o.action !== "block" && o.action !== "flag") throw bad('action must be "block" or "flag"');
  const t = o.pdqThreshold ?? DEFAULT_PDQ_THRESHOLD;
  if (typeof t !== "number" || !Number.isInteger(t) || t < 0 || t > 128)
    throw bad("pdqThreshold must be 0–128");
  const name = str("name");
  return {
    id,
    ...(name ? { name } : {}),
    provider,
    category: str("category") ?? "unspecified",
    licenceRef,
    licensedUntil,
    allowedUses: uses as string[],
    action: o.action,
    pdqThreshold: t,
    enabled: o.enabled !== false,
    version: 0,
    algorithms: [],
  };
}

export async function createList(store: ListStore, input: unknown, now = new Date()): Promise<ListMeta> {
  const meta = validateNewList(input);
  const manifest = await readManifest(store);
  if (manifest.lists.some((l) => l.id === meta.id)) throw new ListError("exists", `list "${meta.id}" exists`);
  manifest.lists.push(meta);
  await writeManifest(store, manifest, now);
  return meta;
}

export async function setEnabled(
  store: ListStore,
  id: string,
  enabled: boolean,
  now = new Date(),
): Promise<ListMeta> {
  const manifest = await readManifest(store);
  const list = findList(manifest, id);
  list.enabled = enabled;
  await writeManifest(store, manifest, now);
  return list;
}

/**
 * Switches the list back to an earlier version of its line: by default the one its current
 * version was built on, or `to` (any earlier published version that was not abandoned, whose
 * derived data is still stored). Exact for any number of steps: membership records keep every
 * span an entry was in the list (src/lists/membership.ts), and each version's prefilter, key
 * set, PDQ and entry shards stay under its own version number.
 */
export async function rollbackList(
  store: ListStore,
  id: string,
  actor: string,
  now = new Date(),
  to?: number,
  /** True for a target version to stage instead of switching to (src/lists/staged.ts). */
  stage?: (next: ListMeta) => boolean,
): Promise<ListMeta & { staged?: boolean }> {
  const manifest = await readManifest(store);
  const list = findList(manifest, id);
  if (list.version === 0) throw new ListError("invalid", `list ${id} has no published version`);
  await requireNothingStaged(store, id);
  const history = await readHistory(store, id);
  const published = (v: number) => history.findLast((h) => h.kind === "publish" && h.version === v);
  const rec = published(list.version);
  if (!rec) throw new ListError("conflict", `no history for version ${list.version} of ${id}`);
  const target = to ?? rec.base;
  if (!Number.isInteger(target) || target < 0 || target >= list.version)
    throw new ListError(
      "invalid",
      `list ${id} is at version ${list.version}: roll back to an earlier version`,
    );
  if (list.abandoned?.includes(target))
    throw new ListError(
      "invalid",
      `version ${target} of ${id} was rolled back and superseded: not in the list's line`,
    );
  const prev = target === 0 ? { shape: EMPTY_SHAPE } : published(target);
  if (!prev?.shape)
    throw new ListError("conflict", `no history for version ${target} of ${id}: cannot roll back to it`);
  await requireDerivedData(store, id, target, prev.shape);
  const record: ListVersionRecord = {
    kind: "rollback",
    version: target,
    base: list.version,
    at: now.toISOString(),
    actor,
    added: 0,
    removed: 0,
  };
  const from = { version: list.version, latest: list.latest ?? list.version };
  const next = structuredClone(list);
  next.latest = Math.max(from.latest, from.version);
  next.version = target;
  applyShape(next, prev.shape);
  if (stage?.(next)) {
    // The history line is written when the staged rollback switches (src/lists/staged.ts).
    await stageVersion(store, {
      listId: id,
      kind: "rollback",
      from,
      version: target,
      latest: next.latest,
      shape: prev.shape,
      stagedAt: now.toISOString(),
      actor,
      record,
    });
    return { ...next, staged: true };
  }
  await appendHistory(store, id, record);
  await store.flush();
  Object.assign(list, next);
  await writeManifest(store, manifest, now);
  return list;
}

/** Refuses a rollback to a version whose stored data (first shard of each kind) is gone. */
async function requireDerivedData(
  store: ListStore,
  id: string,
  v: number,
  shape: VersionShape,
): Promise<void> {
  const keys = [
    ...((shape.prefilterShards ?? 0) > 0 ? [prefilterKey(id, v, 0, shape.prefilterShards!)] : []),
    ...((shape.keyShards ?? 0) > 0 ? [keysKey(id, v, 0)] : []),
    ...((shape.pdqShards ?? 0) > 0 ? [pdqShardKey(id, v, 0)] : []),
    ...((shape.entryShards ?? 0) > 0 ? [entriesKey(id, v, 0)] : []),
  ];
  for (const key of keys)
    if ((await store.getBytes(key)) === null && (await store.getJsonMany([key]))[0] === null)
      throw new ListError(
        "conflict",
        `version ${v} of ${id} is no longer stored (${key} is missing): cannot roll back to it`,
      );
}

/** Takes the list out of the manifest. Its KV data stays (unreferenced) until cleaned up. */
export async function removeList(store: ListStore, id: string, now = new Date()): Promise<void> {
  const manifest = await readManifest(store);
  findList(manifest, id);
  manifest.lists = manifest.lists.filter((l) => l.id !== id);
  await writeManifest(store, manifest, now);
}
