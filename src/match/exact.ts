/**
 * Exact-digest matching against the published lists. One KV read per digest (`h/<algo>/<hex>`)
 * answers for every list at once; the membership record says since which version each list
 * holds the entry, so a scan sees exactly the versions of the manifest it read.
 */
import type { ListMeta } from "../lists/manifest.ts";
import type { DigestAlgo, Digests } from "../scan/digests.ts";
import type { MatchHit } from "./types.ts";

/** Membership of one digest in the lists: list id → versions (see docs/storage.md). */
export type EntryMembership = Record<string, { a: number; r?: number; id?: string; c?: string }>;

export function entryKey(algo: DigestAlgo, hex: string): string {
  return `h/${algo}/${hex.toLowerCase()}`;
}

/** True when a membership record puts the entry in the list at `version`. */
export function inVersion(m: { a: number; r?: number }, version: number): boolean {
  return m.a <= version && (m.r === undefined || version < m.r);
}

/** KV edge-cache time for entry reads; KV's minimum. Lists change by new versions, not edits in place. */
const ENTRY_CACHE_TTL_S = 60;

/** Looks up a file's digests; returns every hit in the given (active) lists. */
export async function matchDigests(
  kv: KVNamespace,
  lists: ListMeta[],
  digests: Digests,
): Promise<MatchHit[]> {
  const byId = new Map(lists.map((l) => [l.id, l]));
  const lookups = (Object.entries(digests) as [DigestAlgo, string][]).filter(([algo]) =>
    lists.some((l) => l.algorithms.includes(algo)),
  );
  const records = await Promise.all(
    lookups.map(([algo, hex]) =>
      kv.get<EntryMembership>(entryKey(algo, hex), { type: "json", cacheTtl: ENTRY_CACHE_TTL_S }),
    ),
  );
  const hits: MatchHit[] = [];
  records.forEach((rec, i) => {
    if (!rec) return;
    const algo = lookups[i]![0];
    for (const [listId, m] of Object.entries(rec)) {
      const list = byId.get(listId);
      if (list === undefined || !list.algorithms.includes(algo) || !inVersion(m, list.version)) continue;
      hits.push({
        listId,
        kind: "exact",
        action: list.action,
        algo,
        category: m.c ?? list.category,
        ...(m.id ? { entryId: m.id } : {}),
      });
    }
  });
  return hits;
}
