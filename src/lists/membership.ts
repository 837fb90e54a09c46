/**
 * Membership records (`h/<algo>/<hex>`) and prefilter keys: shared by the gate's matcher and the
 * publisher, free of runtime types so the CLI (Node) can use them too.
 */
import type { HashAlgo } from "./ops.ts";

/** Membership of one digest in the lists: list id → versions (see docs/storage.md). */
export type EntryMembership = Record<string, { a: number; r?: number; id?: string; c?: string }>;

export function entryKey(algo: HashAlgo, hex: string): string {
  return `h/${algo}/${hex.toLowerCase()}`;
}

/**
 * True when a membership record puts the entry in the list at `version`. Marks made by an
 * `abandoned` version (published, rolled back, then superseded) are ignored.
 */
export function inVersion(
  m: { a: number; r?: number },
  version: number,
  abandoned?: readonly number[],
): boolean {
  if (abandoned?.includes(m.a)) return false;
  const r = m.r === undefined || abandoned?.includes(m.r) ? undefined : m.r;
  return m.a <= version && (r === undefined || version < r);
}

/** KV key of a list version's prefilter; sharded prefilters add `/<shard>`. */
export function prefilterKey(listId: string, version: number, shard: number, shards: number): string {
  const base = `lists/${listId}/v/${version}/prefilter`;
  return shards <= 1 ? base : `${base}/${shard}`;
}

/** Which prefilter shard holds a key: by the high word, so shards split the key space evenly. */
export function prefilterShardOf(hi: number, shards: number): number {
  return Math.floor((hi * shards) / 4294967296);
}
