/**
 * Staged versions: the two-step switch for lists searched on PDQ shard objects when the
 * publisher cannot reach the objects (the CLI writes KV through wrangler). The publisher writes
 * the version's data and a marker `lists/<id>/staged` instead of switching the manifest; the
 * Worker (scheduled handler, or POST /admin/lists/:id/switch) has the objects build the
 * version's indexes and only then writes the manifest. Until then every query keeps seeing
 * the manifest's version. While a version is staged, the list takes no other publish or rollback.
 *
 * A staged version ends in exactly one of two ways: switched (its history line is written then,
 * so the history says when the gate began serving it) or discarded (the marker and the version's
 * data removed, a `discard` history line). Where both are asked at once, the gate's decision
 * object (`decide`, src/pdq-shards/staged-decision.ts) lets the first one through and refuses the
 * other; without it (the CLI on its own), both re-read the marker and the manifest before writing.
 */
import {
  appendHistory,
  applyShape,
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
import { EMPTY_MANIFEST, type ListManifest, type ListMeta, MANIFEST_KEY } from "./manifest.ts";
import { prefilterKey } from "./membership.ts";
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
  /**
   * The history line written when the version switches (`at` then set to the switch). Absent
   * in markers staged before history moved to the switch: their line is already written.
   */
  record?: ListVersionRecord;
}

/** How a staged version ended. */
export type StagedOutcome = "switched" | "discarded";

/**
 * Settles the outcome of one staged marker once: the first caller's outcome is kept and
 * returned to every later caller (the gate's decision object). A switch or discard that gets
 * the other outcome back writes nothing.
 */
export type DecideStaged = (s: StagedVersion, outcome: StagedOutcome) => Promise<StagedOutcome>;

/** Identifies one staging of a version (a version can be staged, discarded and staged again). */
export const stagingOf = (s: StagedVersion) => `${s.listId}@${s.version}/${s.stagedAt}`;

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
  /** Many keys at once where one call per key is slow (the CLI's wrangler). */
  deleteKeys?(keys: string[]): Promise<void>;
}

/**
 * Switches the list's staged version in: `build` (the shard objects' index build) first, then
 * the outcome is settled (`decide`), then the history line and the manifest; the marker is
 * removed last. Null when nothing is staged. A throwing build leaves the manifest and the marker
 * as they were (retried later). A marker the manifest has moved away from (edited by hand) cannot
 * switch: it is removed and a conflict reported. A version discarded meanwhile is not switched.
 */
export async function switchStaged(
  store: SwitchStore,
  id: string,
  build: (next: ListMeta) => Promise<void>,
  now = new Date(),
  decide?: DecideStaged,
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
  const switchedAlready = async () => {
    const list = findList(await readManifest(store), id);
    return list.version === s.version && (list.latest ?? list.version) === s.latest ? list : null;
  };
  // Another switcher (the scheduled run, or a second POST) got there first.
  const done = await switchedAlready();
  if (done) {
    if (sameStaging(await readStaged(store, id), s)) await store.deleteKey(stagedKey(id));
    return done;
  }
  const discarded = () =>
    new ListError("conflict", `list ${id}: staged version ${s.version} was discarded: not switched`);
  if (decide && (await decide(s, "switched")) !== "switched") throw discarded();
  // A discard made without the gate (the CLI on KV) removed the marker.
  if (!sameStaging(await readStaged(store, id), s)) throw discarded();
  const manifest = await readManifest(store);
  const list = findList(manifest, id);
  if (!stagedFrom(list, s)) return stale();
  if (s.record) await appendOnce(store, id, { ...s.record, at: now.toISOString(), stagedAt: s.stagedAt });
  Object.assign(list, switchedMeta(list, s));
  await writeManifest(store, manifest, now);
  await store.deleteKey(stagedKey(id));
  return list;
}

const sameStaging = (a: StagedVersion | null, b: StagedVersion) => !!a && stagingOf(a) === stagingOf(b);

/** Appends a staged version's line unless a retried switch or discard wrote it already. */
async function appendOnce(store: ListStore, id: string, rec: ListVersionRecord): Promise<void> {
  const last = (await readHistory(store, id)).at(-1);
  if (last && last.stagedAt === rec.stagedAt && last.version === rec.version && last.kind === rec.kind)
    return;
  await appendHistory(store, id, rec);
  await store.flush();
}

export interface DiscardResult {
  staged: StagedVersion;
  /** KV keys of the version's data deleted (only a staged publish has data of its own). */
  deletedKeys: number;
}

/**
 * Discards the list's staged version: the outcome is settled (`decide`), the manifest's
 * `latest` moves past the version (so the next publish gets a new number and ignores membership
 * marks this one made: abandoned, src/lists/membership.ts), a `discard` history line is
 * written, the marker removed, and a staged publish's own data (PDQ shards, prefilter, key set,
 * entries under its version number) deleted. The active version and its data are not touched.
 * Refused (conflict) when the version is already switched or being switched.
 */
export async function discardStaged(
  store: SwitchStore,
  id: string,
  actor: string,
  now = new Date(),
  decide?: DecideStaged,
): Promise<DiscardResult> {
  const s = await readStaged(store, id);
  if (!s) throw new ListError("not-found", `list ${id} has no staged version`);
  const manifest = await readManifest(store);
  const list = findList(manifest, id);
  const switched = () =>
    new ListError(
      "conflict",
      `list ${id}: version ${s.version} is switched in (or being switched): not discarded`,
    );
  if (list.version === s.version && (list.latest ?? list.version) === s.latest) throw switched();
  if (decide && (await decide(s, "discarded")) !== "discarded") throw switched();
  // The manifest as staged, or as an interrupted discard of this marker left it.
  const latest = list.latest ?? list.version;
  const ours =
    list.version === s.from.version &&
    (latest === s.from.latest || (s.kind === "publish" && latest === s.latest));
  const owned = ours && s.kind === "publish" && s.version > s.from.latest;
  if (owned && latest !== s.latest) {
    list.latest = s.latest;
    await writeManifest(store, manifest, now);
  }
  if (ours)
    await appendOnce(store, id, {
      kind: "discard",
      discarded: s.kind,
      version: s.version,
      base: s.from.version,
      at: now.toISOString(),
      stagedAt: s.stagedAt,
      actor,
      added: 0,
      removed: 0,
      shape: s.shape,
    });
  const keys = owned ? versionDataKeys(id, s.version, s.shape) : [];
  if (store.deleteKeys) await store.deleteKeys(keys);
  else for (const key of keys) await store.deleteKey(key);
  await store.deleteKey(stagedKey(id));
  return { staged: s, deletedKeys: keys.length };
}

/** Every KV key of a version's derived data (not its membership records, shared by versions). */
export function versionDataKeys(id: string, v: number, shape: VersionShape): string[] {
  const n = (k: number | undefined) => Array.from({ length: k ?? 0 }, (_, i) => i);
  return [
    ...n(shape.pdqShards).map((i) => pdqShardKey(id, v, i)),
    ...n(shape.prefilterShards).map((i) => prefilterKey(id, v, i, shape.prefilterShards!)),
    ...n(shape.keyShards).map((i) => keysKey(id, v, i)),
    ...n(shape.entryShards).map((i) => entriesKey(id, v, i)),
  ];
}
