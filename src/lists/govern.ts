/** Creating, enabling, disabling, rolling back and removing lists: manifest edits. */
import {
  appendHistory,
  EMPTY_SHAPE,
  findList,
  ListError,
  readHistory,
  readManifest,
  writeManifest,
} from "./layout.ts";
import type { ListAction, ListMeta } from "./manifest.ts";
import { applyShape } from "./publish-version.ts";
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
 * Switches the list back to the version its current version was built on. Exact for one step:
 * membership records hold one add/remove pair per list, so a second step back could miss
 * entries that a later version re-added. Hence only the newest version can be rolled back.
 */
export async function rollbackList(
  store: ListStore,
  id: string,
  actor: string,
  now = new Date(),
): Promise<ListMeta> {
  const manifest = await readManifest(store);
  const list = findList(manifest, id);
  if (list.version === 0) throw new ListError("invalid", `list ${id} has no published version`);
  if ((list.latest ?? list.version) !== list.version)
    throw new ListError("invalid", `list ${id} is already rolled back; publish a new version first`);
  const history = await readHistory(store, id);
  const rec = history.findLast((h) => h.kind === "publish" && h.version === list.version);
  if (!rec) throw new ListError("conflict", `no history for version ${list.version} of ${id}`);
  const entry = {
    kind: "rollback" as const,
    version: rec.base,
    base: list.version,
    at: now.toISOString(),
    actor,
  };
  await appendHistory(store, id, { ...entry, added: 0, removed: 0 });
  await store.flush();
  // The base version's derived data is still in KV under its own version number.
  const prev = history.findLast((h) => h.kind === "publish" && h.version === rec.base);
  if (rec.base > 0 && !prev?.shape)
    throw new ListError("conflict", `no history for version ${rec.base} of ${id}`);
  list.latest = list.version;
  list.version = rec.base;
  applyShape(list, rec.base === 0 ? EMPTY_SHAPE : prev!.shape!);
  await writeManifest(store, manifest, now);
  return list;
}

/** Takes the list out of the manifest. Its KV data stays (unreferenced) until cleaned up. */
export async function removeList(store: ListStore, id: string, now = new Date()): Promise<void> {
  const manifest = await readManifest(store);
  findList(manifest, id);
  manifest.lists = manifest.lists.filter((l) => l.id !== id);
  await writeManifest(store, manifest, now);
}
