/**
 * The list manifest (`lists/manifest` in KV): every list's metadata and published version.
 * Read once per isolate and kept for MANIFEST_TTL_MS, so a scan costs no KV read for it.
 */
import type { DigestAlgo } from "./ops.ts";

export type ListAction = "block" | "flag";

export interface ListMeta {
  id: string;
  name?: string;
  provider: string;
  category: string;
  licenceRef: string;
  /** Last day (UTC, YYYY-MM-DD) the licence allows use. */
  licensedUntil: string;
  allowedUses: string[];
  action: ListAction;
  /** Largest PDQ Hamming distance that counts as a match. */
  pdqThreshold: number;
  enabled: boolean;
  /** Published version in force; 0 = nothing published yet. */
  version: number;
  /** Exact digest algorithms the published version holds. */
  algorithms: DigestAlgo[];
  /** Number of PDQ shards of the published version. */
  pdqShards?: number;
  /** Newest version ever published (> version after a rollback); absent = version. */
  latest?: number;
  /**
   * Versions abandoned by a rollback followed by a new publish: membership marks made by them
   * are ignored (see inVersion). Kept short: one per rollback-then-publish.
   */
  abandoned?: number[];
  /** Prefilter values of the published version (lists/<id>/v/<version>/prefilter…); 0/absent = none. */
  prefilterShards?: number;
  /** Key-set values of the published version (lists/<id>/v/<version>/keys/<i>). */
  keyShards?: number;
  /** Sealed entry shards of the published version (lists/<id>/v/<version>/entries/<i>). */
  entryShards?: number;
  /**
   * Id of the list secret the published version is keyed with (src/lists/keyring.ts): the gate
   * picks LIST_KEY or LIST_KEY_PREVIOUS by it. Absent: published before lists were keyed.
   */
  keyId?: string;
  /** Distinct exact digests and PDQ hashes in the published version. */
  exactEntries?: number;
  pdqEntries?: number;
}

export interface ListManifest {
  revision: number;
  updatedAt: string;
  lists: ListMeta[];
}

export const MANIFEST_KEY = "lists/manifest";
/**
 * How long an isolate trusts its copy of the manifest. KV itself takes up to ~60 s to show a
 * write everywhere; 30 s here keeps a list change's worst case at about 90 s (< 2 minutes).
 */
export const MANIFEST_TTL_MS = 30_000;

export const EMPTY_MANIFEST: ListManifest = { revision: 0, updatedAt: "1970-01-01T00:00:00Z", lists: [] };

/** Why a list is or is not in use today. */
export function listStatus(list: ListMeta, now: Date): "active" | "disabled" | "expired" | "unpublished" {
  if (!list.enabled) return "disabled";
  if (now.toISOString().slice(0, 10) > list.licensedUntil) return "expired";
  if (list.version <= 0) return "unpublished";
  return "active";
}

/** Lists in use now: enabled, licence not expired, a version published. */
export function activeLists(manifest: ListManifest, now: Date): ListMeta[] {
  return manifest.lists.filter((l) => listStatus(l, now) === "active");
}

/** Digest algorithms some active list uses: the only ones the gate computes. */
export function activeAlgorithms(lists: ListMeta[]): DigestAlgo[] {
  const set = new Set<DigestAlgo>();
  for (const l of lists) for (const a of l.algorithms) set.add(a);
  return [...set].sort();
}

/** The part of a KV binding the manifest cache needs (structural: the CLI type-checks without workers-types). */
export interface ManifestKv {
  get(key: string, type: "json"): Promise<unknown>;
}

interface Cached {
  manifest: ListManifest;
  fetchedAt: number;
}
const cache = new WeakMap<ManifestKv, Cached>();

/** The manifest, from this isolate's cache when fresh. KV failures propagate. */
export async function loadManifest(kv: ManifestKv, now = Date.now()): Promise<ListManifest> {
  const hit = cache.get(kv);
  if (hit && now - hit.fetchedAt < MANIFEST_TTL_MS) return hit.manifest;
  const manifest = ((await kv.get(MANIFEST_KEY, "json")) as ListManifest | null) ?? EMPTY_MANIFEST;
  cache.set(kv, { manifest, fetchedAt: now });
  return manifest;
}

/** Forgets the cached manifest (after a publish from this isolate, and in tests). */
export function forgetManifest(kv: ManifestKv): void {
  cache.delete(kv);
}
