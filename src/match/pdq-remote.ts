/**
 * The gate's side of the sharded PDQ index: lists with at least PDQ_SHARD_THRESHOLD PDQ entries
 * are searched on PDQ shard objects (Durable Objects, src/pdq-shards/) instead of in the
 * isolate. A query's dihedral hashes go to every shard of the list's version in one call each,
 * in parallel, with a deadline; the best answers are merged in the in-isolate index's order
 * (distance, then entry position in the version, then query position), so the result is the
 * one the in-isolate index would give. A shard that fails or misses the deadline fails the
 * whole search (ScanInfrastructureError: the gate applies FAIL_MODE), never a partial answer.
 *
 * Locally workerd runs every object on one thread, so a query costs the sum of its objects; what
 * each call costs beside the search is kept small (bench pdq-scale, "per object"): the query
 * goes as bytes with only the version's identity (PdqShardQuery), and one deadline covers the
 * whole fan-out (its calls start together) instead of a timer per object.
 */
import { ScanInfrastructureError, withTimeout } from "../errors.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { hexToBytes } from "../pdq/core.ts";
import {
  DEFAULT_PDQ_SHARD_THRESHOLD,
  type PdqShardHit,
  type PdqShardRpc,
  type PdqShardStats,
  pdqShardList,
  shardObjectName,
} from "../pdq-shards/protocol.ts";

export { DEFAULT_PDQ_SHARD_THRESHOLD } from "../pdq-shards/protocol.ts";
/** Cloudflare's location hints for a Durable Object's first placement. */
export const LOCATION_HINTS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"] as const;
export type LocationHint = (typeof LOCATION_HINTS)[number];

/**
 * Made per request (pdqShardRouting, by the gate for each upload): it keeps that request's
 * stubs, which cannot outlive the request (workerd refuses I/O through them from another one).
 */
export interface PdqShardRouting {
  namespace: ShardNamespace;
  /** Lists with at least this many PDQ entries are searched on shard objects. */
  threshold: number;
  /** Where new shard objects are placed (near the origin); undefined: near the first caller. */
  locationHint?: LocationHint;
  queryTimeoutMs: number;
  loadTimeoutMs: number;
}

/** What routing needs of the PDQ_SHARDS namespace (whatever class its generated type names). */
export interface ShardNamespace {
  idFromName(name: string): DurableObjectId;
  get(id: DurableObjectId, options?: { locationHint?: DurableObjectLocationHint }): unknown;
}

export interface PdqShardSettings {
  PDQ_SHARDS?: ShardNamespace;
  PDQ_SHARD_THRESHOLD?: string;
  PDQ_SHARD_LOCATION?: string;
}

/** The routing from the Worker's settings; null without a PDQ_SHARDS binding. Bad values throw. */
export function pdqShardRouting(
  env: PdqShardSettings,
  queryTimeoutMs: number,
  loadTimeoutMs: number,
): PdqShardRouting | null {
  if (!env.PDQ_SHARDS) return null;
  const raw = env.PDQ_SHARD_THRESHOLD?.trim();
  const threshold = raw ? Number(raw) : DEFAULT_PDQ_SHARD_THRESHOLD;
  if (!Number.isSafeInteger(threshold) || threshold < 0) {
    throw new Error(`PDQ_SHARD_THRESHOLD must be a whole number of entries, got ${JSON.stringify(raw)}`);
  }
  const hint = env.PDQ_SHARD_LOCATION?.trim() || undefined;
  if (hint !== undefined && !(LOCATION_HINTS as readonly string[]).includes(hint)) {
    throw new Error(
      `PDQ_SHARD_LOCATION must be one of ${LOCATION_HINTS.join(", ")}, got ${JSON.stringify(hint)}`,
    );
  }
  return {
    namespace: env.PDQ_SHARDS,
    threshold,
    ...(hint ? { locationHint: hint as LocationHint } : {}),
    queryTimeoutMs,
    loadTimeoutMs,
  };
}

/** True when the list is searched on shard objects under this routing. */
export function usesShards(
  list: ListMeta,
  routing: PdqShardRouting | null | undefined,
): routing is PdqShardRouting {
  return !!routing && (list.pdqShards ?? 0) > 0 && (list.pdqEntries ?? 0) >= routing.threshold;
}

/**
 * The stubs of a routing's request by object name: an upload that asks more than once (an
 * animation's frames, several images) reuses them, as a call through a new stub costs about
 * 0.02 ms more per object than through one already used (bench pdq-scale, "frames of one
 * upload"). Dropped after any failure: a stub may be broken by it, and the next query then
 * starts afresh.
 */
const requestStubs = new WeakMap<PdqShardRouting, Map<string, PdqShardRpc>>();

function shardStub(routing: PdqShardRouting, list: ListMeta, shard: number): PdqShardRpc {
  let stubs = requestStubs.get(routing);
  if (!stubs) {
    stubs = new Map();
    requestStubs.set(routing, stubs);
  }
  const name = shardObjectName(list, shard);
  let stub = stubs.get(name);
  if (!stub) {
    const ns = routing.namespace;
    const id = ns.idFromName(name);
    stub = (
      routing.locationHint ? ns.get(id, { locationHint: routing.locationHint }) : ns.get(id)
    ) as PdqShardRpc;
    stubs.set(name, stub);
  }
  return stub;
}

/** Every shard's answer within `ms` (one deadline: all are asked at once); any failure fails the whole. */
async function allShards<T>(
  routing: PdqShardRouting,
  list: ListMeta,
  ms: number,
  call: (shard: number) => Promise<T>,
): Promise<T[]> {
  try {
    return await withTimeout(
      Promise.all(Array.from({ length: list.pdqShards ?? 0 }, (_, shard) => call(shard))),
      ms,
    );
  } catch (e) {
    requestStubs.delete(routing);
    throw new ScanInfrastructureError("PDQ_SHARDS", e);
  }
}

/** Shard objects already loaded from this isolate, per `<list>@<version>`. */
const warmed = new Map<string, Promise<PdqShardStats[]>>();

/**
 * Has every shard object of the list version load its shard (once per isolate and version), so
 * that the queries after it meet loaded objects; with the longer load deadline.
 */
export function warmShards(routing: PdqShardRouting, list: ListMeta): Promise<PdqShardStats[]> {
  const key = `${list.id}@${list.version}`;
  let p = warmed.get(key);
  if (!p) {
    for (const k of warmed.keys()) if (k.startsWith(`${list.id}@`)) warmed.delete(k);
    const version = pdqShardList(list);
    p = allShards(routing, list, routing.loadTimeoutMs, (shard) =>
      shardStub(routing, list, shard).load(version, shard),
    );
    p.catch(() => warmed.delete(key));
    warmed.set(key, p);
  }
  return p;
}

/**
 * For a publish, before the manifest names `list` (the new version): has every shard object of
 * the version load and index its shard, so that the first query after the switch meets built
 * indexes. Nothing for lists the isolate searches. Not cached: a publish always asks.
 */
export function buildShardsBeforeSwitch(
  routing: PdqShardRouting | null,
  list: ListMeta,
): Promise<PdqShardStats[]> {
  if (!usesShards(list, routing)) return Promise.resolve([]);
  const version = pdqShardList(list);
  return allShards(routing, list, routing.loadTimeoutMs, (shard) =>
    shardStub(routing, list, shard).load(version, shard),
  );
}

/** The list version's best entry within its threshold of any of `hashes`, across all its shards. */
export async function queryShards(
  routing: PdqShardRouting,
  list: ListMeta,
  hashes: readonly string[],
): Promise<PdqShardHit | null> {
  // Parsed once here, not in every object; every call sends the same bytes (RPC copies them).
  const bytes = new Uint8Array(32 * hashes.length);
  hashes.forEach((h, i) => {
    bytes.set(hexToBytes(h), 32 * i);
  });
  const version = pdqShardList(list);
  const answers = await allShards(routing, list, routing.queryTimeoutMs, (shard) =>
    shardStub(routing, list, shard).query({
      list: version,
      shard,
      hashes: bytes,
      threshold: list.pdqThreshold,
    }),
  );
  // Shards hold consecutive entries in order, so (shard, index) is the entry's position.
  let best: PdqShardHit | null = null;
  for (const hit of answers) {
    if (hit && (!best || hit.distance < best.distance)) best = hit;
  }
  return best;
}

/** Health figures (`/admin/status`): where each active list's PDQ entries are searched. */
export function pdqSearchFigures(env: PdqShardSettings, lists: ListMeta[]) {
  let routing: PdqShardRouting | null;
  try {
    routing = pdqShardRouting(env, 0, 0);
  } catch (e) {
    return { error: (e as Error).message };
  }
  return {
    shardThreshold: routing?.threshold ?? null,
    locationHint: routing?.locationHint ?? null,
    lists: lists
      .filter((l) => (l.pdqShards ?? 0) > 0)
      .map((l) => ({
        id: l.id,
        version: l.version,
        entries: l.pdqEntries ?? null,
        searchedIn: usesShards(l, routing) ? "shard-objects" : "isolate",
        ...(usesShards(l, routing) ? { objects: l.pdqShards } : {}),
      })),
  };
}
