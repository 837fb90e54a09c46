/**
 * Staged versions: the two-step switch for lists searched on PDQ shard objects when the
 * publisher cannot reach the objects (the CLI writes KV through wrangler). The publisher writes
 * the version's data and a marker `lists/<id>/staged` instead of switching the manifest; the
 * Worker (scheduled handler, or POST /admin/lists/:id/switch) has the objects build the
 * version's indexes and only then writes the manifest. Until then every query keeps seeing
 * the manifest's version. While a version is staged, the list takes no other publish or rollback.
 */
import { applyShape, findList, ListError, readManifest, type VersionShape, writeManifest } from "./layout.ts";
import { EMPTY_MANIFEST, type ListManifest, type ListMeta, MANIFEST_KEY } from "./manifest.ts";
import { getJson, type ListStore } from "./store.ts";

export const stagedKey = (id: string) => `lists/${id}/staged`;

export interface StagedVersion {
  listId: string;
  kind: "publish" | "rollback";
  /** The manifest's version and latest when staged: the switch happens only from there. */
  from: { version: number; latest: number };
  /** What the manifest names after the switch. */
  version: number;
  latest: number;
  abandoned?: number[];
  shape: VersionShape;
  stagedAt: string;
  actor: string;
}

export async function readStaged(store: ListStore, id: string): Promise<StagedVersion | null> {
  return getJson<StagedVersion>(store, stagedKey(id));
}

/**
 * The manifest as stored now, for a publish of list `id`: stops it while the list has a staged
 * version. One read of both keys, so the check costs a publish no extra round trip.
 */
export async function manifestForPublish(store: ListStore, id: string): Promise<ListManifest> {
  const [manifest, staged] = await store.getJsonMany<unknown>([MANIFEST_KEY, stagedKey(id)]);
  stopIfStaged(id, staged as StagedVersion | null);
  return (manifest as ListManifest | null) ?? EMPTY_MANIFEST;
}

/** Stops a publish or rollback of a list whose staged version has not switched yet. */
export async function requireNothingStaged(store: ListStore, id: string): Promise<void> {
  stopIfStaged(id, await readStaged(store, id));
}

function stopIfStaged(id: string, s: StagedVersion | null): void {
  if (s)
    throw new ListError(
      "conflict",
      `list ${id} has version ${s.version} staged (waiting for the gate's PDQ shard objects): switch it first (POST /admin/lists/${id}/switch, or the next scheduled run)`,
    );
}

/** The manifest entry `list` becomes once `s` is switched in. */
export function switchedMeta(list: ListMeta, s: StagedVersion): ListMeta {
  const next: ListMeta = structuredClone(list);
  applyShape(next, s.shape);
  next.version = s.version;
  next.latest = s.latest;
  if (s.abandoned && s.abandoned.length > 0) next.abandoned = s.abandoned;
  return next;
}

/** True while the manifest is still where the staged version was built from. */
export function stagedFrom(list: ListMeta, s: StagedVersion): boolean {
  return list.version === s.from.version && (list.latest ?? list.version) === s.from.latest;
}

/** Writes the marker (the version's data and history are already flushed). */
export async function stageVersion(store: ListStore, s: StagedVersion): Promise<void> {
  await store.put(stagedKey(s.listId), JSON.stringify(s));
  await store.flush();
}

export interface SwitchStore extends ListStore {
  deleteKey(key: string): Promise<void>;
}

/**
 * Switches the list's staged version in: `build` (the shard objects' index build) first, then
 * the manifest, then the marker is removed. Null when nothing is staged. A throwing build leaves
 * the manifest and the marker as they were (retried later). A marker the manifest has moved
 * away from (edited by hand) cannot switch: it is removed and a conflict reported.
 */
export async function switchStaged(
  store: SwitchStore,
  id: string,
  build: (next: ListMeta) => Promise<void>,
  now = new Date(),
): Promise<ListMeta | null> {
  const s = await readStaged(store, id);
  if (!s) return null;
  const stale = async (): Promise<never> => {
    await store.deleteKey(stagedKey(id));
    throw new ListError(
      "conflict",
      `list ${id} changed since version ${s.version} was staged: marker removed`,
    );
  };
  const before = findList(await readManifest(store), id);
  if (!stagedFrom(before, s)) return stale();
  await build(switchedMeta(before, s));
  const manifest = await readManifest(store);
  const list = findList(manifest, id);
  if (list.version === s.version && (list.latest ?? list.version) === s.latest) {
    // Another switcher (the scheduled run, or a second POST) got there first.
    await store.deleteKey(stagedKey(id));
    return list;
  }
  if (!stagedFrom(list, s)) return stale();
  Object.assign(list, switchedMeta(list, s));
  await writeManifest(store, manifest, now);
  await store.deleteKey(stagedKey(id));
  return list;
}
