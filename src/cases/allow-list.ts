/**
 * Allow-list: digests a reviewer judged false positives. The gate consults it before it
 * blocks, so the same benign file is not blocked (and queued) again.
 */
import type { Digests } from "../scan/digests.ts";

export interface AllowListEntry {
  algo: string;
  digest: string;
}

/** Algorithms an allow-list entry may name; PDQ entries are exact PDQ hashes. */
const ALGOS = new Set(["md5", "sha1", "sha256", "pdq"]);

/** True if any of the digests is on the allow-list. One D1 query. */
export async function isAllowListed(
  db: D1Database,
  digests: Partial<Record<string, string>>,
): Promise<boolean> {
  const pairs = Object.entries(digests).filter(
    (e): e is [string, string] => ALGOS.has(e[0]) && typeof e[1] === "string" && e[1] !== "",
  );
  if (pairs.length === 0) return false;
  const where = pairs.map((_, i) => `(algo = ?${2 * i + 1} AND digest = ?${2 * i + 2})`).join(" OR ");
  const row = await db
    .prepare(`SELECT 1 AS hit FROM allow_list WHERE ${where} LIMIT 1`)
    .bind(...pairs.flatMap(([a, d]) => [a, d.toLowerCase()]))
    .first<{ hit: number }>();
  return row !== null;
}

/** Statements adding a file's digests to the allow-list (idempotent). */
export function allowListStatements(
  db: D1Database,
  digests: Digests & { pdq?: string },
  by: string,
  caseId: string,
  reason: string,
  at = new Date().toISOString(),
): D1PreparedStatement[] {
  return Object.entries(digests)
    .filter((e): e is [string, string] => ALGOS.has(e[0]) && typeof e[1] === "string" && e[1] !== "")
    .map(([algo, digest]) =>
      db
        .prepare(
          "INSERT OR IGNORE INTO allow_list (algo, digest, added_at, added_by, case_id, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(algo, digest.toLowerCase(), at, by, caseId, reason),
    );
}
