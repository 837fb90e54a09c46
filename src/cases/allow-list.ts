/**
 * Allow-list: digests a reviewer judged false positives. The gate consults it before it
 * blocks, so the same benign file is not blocked (and queued) again.
 */
import type { Digests } from "../scan/digests.ts";
import { caseStore } from "./case-store.ts";

export type { AllowListEntry } from "./case-store.ts";

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
  return caseStore(db).isAllowListed(pairs.map(([algo, digest]) => ({ algo, digest: digest.toLowerCase() })));
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
  const entries = Object.entries(digests)
    .filter((e): e is [string, string] => ALGOS.has(e[0]) && typeof e[1] === "string" && e[1] !== "")
    .map(([algo, digest]) => ({ algo, digest: digest.toLowerCase() }));
  return caseStore(db).addToAllowList(entries, by, caseId, reason, at);
}
