/**
 * Allow-list: files a reviewer judged false positives, per file (its digests) and per list.
 * An entry cancels its list's PDQ hits on a file bearing its digest; it cancels an exact-digest
 * hit only when an admin set `cancelsExact` for that list, because an exact hit is the listed
 * file itself. The gate reads the entries that concern an upload in one D1 query. The entries
 * are stored through allow-store.ts's AllowListStore.
 */
import type { MatchHit } from "../match/types.ts";
import type { Digests } from "../scan/digests.ts";
import { type AllowRule, allowListStore } from "./allow-store.ts";

export type { AllowEntry, AllowRule } from "./allow-store.ts";

/** Algorithms an allow-list entry may name; PDQ entries are exact PDQ hashes. */
const ALGOS = new Set(["md5", "sha1", "sha256", "pdq"]);

type FileDigests = Digests & { pdq?: string };

function pairs(d: FileDigests): [string, string][] {
  return Object.entries(d).filter(
    (e): e is [string, string] => ALGOS.has(e[0]) && typeof e[1] === "string" && e[1] !== "",
  );
}

/**
 * Active entries naming any of the files' digests. One query however many files: the digests
 * travel as one JSON parameter (D1 allows 100 bound parameters per statement).
 */
export async function allowRulesFor(db: D1Database, files: FileDigests[]): Promise<AllowRule[]> {
  const digests = [...new Set(files.flatMap((f) => pairs(f).map(([, d]) => d.toLowerCase())))];
  if (digests.length === 0) return [];
  return allowListStore(db).activeRulesFor(digests);
}

/** True when some rule cancels `hit` on a file with these digests. */
export function isCancelled(rules: AllowRule[], file: FileDigests, hit: MatchHit): boolean {
  return rules.some(
    (r) =>
      (file as Record<string, string | undefined>)[r.algo]?.toLowerCase() === r.digest &&
      (r.listId === hit.listId || r.listId === "*") &&
      (hit.kind === "pdq" || (r.cancelsExact && r.listId === hit.listId)),
  );
}

/** What one dismissal allow-lists: a file's digests for some lists. */
export interface AllowGrant {
  digests: FileDigests;
  fileIndex: number;
  listIds: string[];
  /** Lists among `listIds` whose exact hits the entries cancel too (admin's explicit choice). */
  cancelsExact: string[];
}

/** Statements adding a file's digests for each list (idempotent; an existing entry only gains cancelsExact). */
export function allowListStatements(
  db: D1Database,
  g: AllowGrant,
  by: string,
  caseId: string,
  reason: string,
  at = new Date().toISOString(),
): D1PreparedStatement[] {
  const store = allowListStore(db);
  return g.listIds.flatMap((listId) =>
    pairs(g.digests).map(([algo, digest]) =>
      store.addStatement(
        { algo, digest: digest.toLowerCase(), listId, cancelsExact: g.cancelsExact.includes(listId) },
        { by, caseId, fileIndex: g.fileIndex, reason, at },
      ),
    ),
  );
}
