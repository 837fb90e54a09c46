/**
 * Allow-list: files a reviewer judged false positives, per file (its digests) and per list.
 * An entry cancels its list's PDQ hits on a file bearing its digest; it cancels an exact-digest
 * hit only when an admin set `cancelsExact` for that list, because an exact hit is the listed
 * file itself. The gate reads the entries that concern an upload in one D1 query.
 */
import type { MatchHit } from "../match/types.ts";
import type { Digests } from "../scan/digests.ts";

/** An entry as the gate uses it. `listId` "*" (carried over from the old allow_list) means every list. */
export interface AllowRule {
  algo: string;
  digest: string;
  listId: string;
  cancelsExact: boolean;
}

export interface AllowEntry extends AllowRule {
  id: number;
  addedAt: string;
  addedBy: string;
  caseId: string | null;
  fileIndex: number | null;
  reason: string;
  revokedAt: string | null;
  revokedBy: string | null;
}

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
  const { results } = await db
    .prepare(
      `SELECT algo, digest, list_id, cancels_exact FROM allow_entries
       WHERE revoked_at IS NULL AND digest IN (SELECT value FROM json_each(?1))`,
    )
    .bind(JSON.stringify(digests))
    .all<{ algo: string; digest: string; list_id: string; cancels_exact: number }>();
  return results.map((r) => ({
    algo: r.algo,
    digest: r.digest,
    listId: r.list_id,
    cancelsExact: r.cancels_exact === 1,
  }));
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
  return g.listIds.flatMap((listId) =>
    pairs(g.digests).map(([algo, digest]) =>
      db
        .prepare(
          `INSERT INTO allow_entries (algo, digest, list_id, cancels_exact, added_at, added_by, case_id, file_index, reason)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
           ON CONFLICT (algo, digest, list_id) WHERE revoked_at IS NULL
           DO UPDATE SET cancels_exact = max(cancels_exact, excluded.cancels_exact)`,
        )
        .bind(
          algo,
          digest.toLowerCase(),
          listId,
          g.cancelsExact.includes(listId) ? 1 : 0,
          at,
          by,
          caseId,
          g.fileIndex,
          reason,
        ),
    ),
  );
}

interface AllowRow {
  id: number;
  algo: string;
  digest: string;
  list_id: string;
  cancels_exact: number;
  added_at: string;
  added_by: string;
  case_id: string | null;
  file_index: number | null;
  reason: string;
  revoked_at: string | null;
  revoked_by: string | null;
}

function entryOf(r: AllowRow): AllowEntry {
  return {
    id: r.id,
    algo: r.algo,
    digest: r.digest,
    listId: r.list_id,
    cancelsExact: r.cancels_exact === 1,
    addedAt: r.added_at,
    addedBy: r.added_by,
    caseId: r.case_id,
    fileIndex: r.file_index,
    reason: r.reason,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
  };
}

/** Entries, newest first; revoked ones only when asked. */
export async function listAllowEntries(
  db: D1Database,
  q: { listId?: string; includeRevoked?: boolean; limit?: number },
): Promise<AllowEntry[]> {
  const { results } = await db
    .prepare(
      `SELECT * FROM allow_entries
       WHERE (?1 IS NULL OR list_id = ?1) AND (?2 = 1 OR revoked_at IS NULL)
       ORDER BY id DESC LIMIT ?3`,
    )
    .bind(q.listId ?? null, q.includeRevoked ? 1 : 0, Math.min(Math.max(q.limit ?? 100, 1), 1000))
    .all<AllowRow>();
  return results.map(entryOf);
}

/** Revokes one entry. Returns it, or null if there is no such active entry. */
export async function revokeAllowEntry(
  db: D1Database,
  id: number,
  by: string,
  at = new Date().toISOString(),
): Promise<AllowEntry | null> {
  const row = await db
    .prepare(
      "UPDATE allow_entries SET revoked_at = ?1, revoked_by = ?2 WHERE id = ?3 AND revoked_at IS NULL RETURNING *",
    )
    .bind(at, by, id)
    .first<AllowRow>();
  return row ? entryOf(row) : null;
}
