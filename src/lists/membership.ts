/**
 * Membership records (`lists/<id>/e/<key id>/<tag>`) and prefilter keys: shared by the gate's
 * matcher and the publisher, free of runtime types so the CLI (Node) can use them too. A record
 * is per list and per digest tag (src/lists/keyring.ts): its key reveals neither the digest nor
 * its algorithm, and its metadata (provider entry id, category) is sealed in `x`.
 */
import { hexOf, TAG_BYTES } from "./keyring.ts";

/** One digest's membership in one list (see docs/storage.md). */
export interface EntryRecord {
  /** Version that added the entry. */
  a: number;
  /** Version that removed it. */
  r?: number;
  /**
   * Earlier [added, removed] spans of an entry removed and re-added later, so that a rollback
   * of several steps sees exactly the entries of the version it returns to.
   */
  p?: [number, number][];
  /** Sealed `{"id"?, "c"?}` (ListKey.sealText, the record's KV key as associated data). */
  x?: string;
}

/** The metadata sealed in a record's `x`. */
export interface EntryMeta {
  id?: string;
  c?: string;
}

/** KV key of list `listId`'s record for a digest tag (the first TAG_BYTES of `tags` at `at`). */
export function recordKey(listId: string, keyId: string, tags: Uint8Array, at = 0): string {
  return `lists/${listId}/e/${keyId}/${hexOf(tags.subarray(at, at + TAG_BYTES))}`;
}

/** True for membership record keys (the bulk of a list; stores need not keep them in memory). */
export function isRecordKey(key: string): boolean {
  return key.startsWith("lists/") && key.startsWith("/e/", key.indexOf("/", 6));
}

/** The little-endian u32 at `at` of a tag. */
export function tagWord(tags: Uint8Array, at: number): number {
  return (tags[at]! | (tags[at + 1]! << 8) | (tags[at + 2]! << 16) | (tags[at + 3]! << 24)) >>> 0;
}

/** The 64-bit prefilter/key-set key of a tag: its first 8 bytes as two little-endian u32 [lo, hi]. */
export function tagKeyPair(tags: Uint8Array, at = 0): [number, number] {
  return [tagWord(tags, at), tagWord(tags, at + 4)];
}

/**
 * The spans [added, removed or undefined] of a record, with the marks of `abandoned` versions
 * (published, rolled back, then superseded) dropped: an abandoned add drops its span, an
 * abandoned removal leaves it open. Surviving marks follow one chain of versions, so at most
 * one span is open.
 */
export function recordSpans(
  m: { a: number; r?: number; p?: [number, number][] },
  abandoned?: readonly number[],
): [number, number | undefined][] {
  const spans: [number, number | undefined][] = [];
  for (const [a, r] of [...(m.p ?? []), [m.a, m.r] as [number, number | undefined]]) {
    if (abandoned?.includes(a)) continue;
    spans.push([a, r === undefined || abandoned?.includes(r) ? undefined : r]);
  }
  return spans;
}

/** A record holding `spans` (the last one current, earlier ones in `p`), keeping its sealed `x`. */
export function recordOfSpans(spans: [number, number | undefined][], x?: string): EntryRecord {
  const sorted = [...spans].sort((s, t) => s[0] - t[0]);
  const [a, r] = sorted.at(-1)!;
  const past = sorted.slice(0, -1).filter((s): s is [number, number] => s[1] !== undefined && s[1] > s[0]);
  return { a, ...(r === undefined ? {} : { r }), ...(past.length ? { p: past } : {}), ...(x ? { x } : {}) };
}

/** True when a membership record puts the entry in the list at `version` (see recordSpans). */
export function inVersion(
  m: { a: number; r?: number; p?: [number, number][] },
  version: number,
  abandoned?: readonly number[],
): boolean {
  return recordSpans(m, abandoned).some(([a, r]) => a <= version && (r === undefined || version < r));
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
