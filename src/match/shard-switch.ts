/**
 * The Worker's half of the two-step switch (src/lists/staged.ts): a staged version's PDQ shard
 * objects build their indexes, then the manifest names it. Run by the scheduled handler for
 * every staged list and by POST /admin/lists/:id/switch for one; also used by the admin API's
 * own publish (buildShardObjects as its beforeSwitch). DELETE /admin/lists/:id/staged discards
 * a staged version instead (discardStagedList); the decision object settles a discard racing a
 * switch (src/pdq-shards/staged-decision.ts).
 */
import type { Env } from "../env.ts";
import { AppError } from "../errors.ts";
import { configFor } from "../gate/config.ts";
import { LIST_LOAD_TIMEOUTS } from "../gate/judge.ts";
import { findList, readManifest } from "../lists/layout.ts";
import { forgetManifest, type ListMeta } from "../lists/manifest.ts";
import {
  type DiscardResult,
  discardStaged,
  readStaged,
  type StagedVersion,
  type SwitchStore,
  switchedMeta,
  switchStaged,
} from "../lists/staged.ts";
import { type KvBinding, KvListStore } from "../lists/store.ts";
import { type PdqShardRpc, shardObjectName } from "../pdq-shards/protocol.ts";
import { type StagedDecisionNamespace, stagedDecider } from "../pdq-shards/staged-decision.ts";
import { buildShardsBeforeSwitch, type PdqShardSettings, pdqShardRouting, usesShards } from "./pdq-remote.ts";

/**
 * A version searched on PDQ shard objects has them build their indexes (with the gate's
 * list-load deadline); one that fails or is late throws scan_unavailable.
 */
export async function buildShardObjects(env: object, list: ListMeta): Promise<void> {
  // Versions without PDQ entries, or a Worker without shard objects, need no gate settings here.
  if ((list.pdqShards ?? 0) === 0 || !(env as PdqShardSettings).PDQ_SHARDS) return;
  const t = configFor(env as Env).bindingTimeoutMs;
  const routing = pdqShardRouting(env as PdqShardSettings, t, t * LIST_LOAD_TIMEOUTS);
  try {
    await buildShardsBeforeSwitch(routing, list);
  } catch (e) {
    throw new AppError(
      "scan_unavailable",
      `PDQ shard objects of ${list.id} v${list.version} did not build their indexes: not switched, try again`,
      (e as Error).message,
      { cause: e },
    );
  }
}

/** A list store over KV that can also remove the staged marker. */
export function switchStore(kv: KvBinding & { delete(key: string): Promise<void> }): SwitchStore {
  return Object.assign(new KvListStore(kv), { deleteKey: (key: string) => kv.delete(key) });
}

interface SwitchEnv {
  HASHES: KVNamespace;
  /** Absent in a Worker deployed without it: switch and discard then only re-check KV. */
  STAGED_DECISIONS?: StagedDecisionNamespace;
}

/** Switches one list's staged version in (null: nothing staged); see switchStaged. */
export async function switchStagedList(
  env: SwitchEnv,
  id: string,
  now = new Date(),
): Promise<ListMeta | null> {
  const build = (next: ListMeta) => buildShardObjects(env, next);
  const list = await switchStaged(
    switchStore(env.HASHES),
    id,
    build,
    now,
    stagedDecider(env.STAGED_DECISIONS),
  );
  if (list) forgetManifest(env.HASHES);
  return list;
}

/**
 * Discards one list's staged version (see discardStaged), then has the shard objects built for
 * it drop their indexes (a staged publish only: a staged rollback's objects are an earlier
 * version's, which a later rollback may use). A failed release is left to eviction: the
 * version's data is gone, so no object can load it again.
 */
export async function discardStagedList(
  env: SwitchEnv,
  id: string,
  actor: string,
  now = new Date(),
): Promise<DiscardResult & { released: number }> {
  const store = switchStore(env.HASHES);
  const before = findList(await readManifest(store), id);
  const r = await discardStaged(store, id, actor, now, stagedDecider(env.STAGED_DECISIONS));
  forgetManifest(env.HASHES);
  const routing = (() => {
    try {
      return pdqShardRouting(env as PdqShardSettings, 0, 0);
    } catch {
      return null;
    }
  })();
  const list = switchedMeta(before, r.staged);
  if (r.deletedKeys === 0 || !usesShards(list, routing)) return { ...r, released: 0 };
  const released = await Promise.all(
    Array.from({ length: list.pdqShards ?? 0 }, (_, shard) => {
      const ns = routing.namespace;
      const stub = ns.get(ns.idFromName(shardObjectName(list, shard))) as unknown as PdqShardRpc;
      return stub.release(list, shard).catch(() => false);
    }),
  );
  return { ...r, released: released.filter(Boolean).length };
}

/** Every list's staged version, for /admin/status (a version waiting for its shard objects). */
export async function stagedVersions(kv: KVNamespace): Promise<StagedVersion[]> {
  const store = new KvListStore(kv);
  const lists = (await readManifest(store)).lists;
  const staged = await Promise.all(lists.map((l) => readStaged(store, l.id)));
  return staged.filter((s): s is StagedVersion => s !== null);
}

/**
 * The scheduled handler's part: switches every staged version whose objects build; one that
 * fails stays staged (manifest and marker unchanged) for the next run. Logs one JSON line.
 */
export async function switchStagedVersions(env: SwitchEnv, now = new Date()) {
  const switched: { id: string; version: number }[] = [];
  const waiting: { id: string; version: number; reason: string }[] = [];
  for (const s of await stagedVersions(env.HASHES)) {
    try {
      const list = await switchStagedList(env, s.listId, now);
      if (list) switched.push({ id: list.id, version: list.version });
    } catch (e) {
      waiting.push({ id: s.listId, version: s.version, reason: (e as Error).message });
    }
  }
  if (switched.length + waiting.length > 0)
    (waiting.length > 0 ? console.error : console.log)(
      JSON.stringify({ hashgate: "staged-switch", switched, waiting }),
    );
  return { switched, waiting };
}
