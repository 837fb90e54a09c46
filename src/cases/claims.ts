/**
 * Claims: a reviewer takes a case so that two reviewers do not work the same one. A claim is
 * a name and a time on the case row; it lapses after CLAIM_TTL_MS (a reviewer who walks away
 * does not hold a case forever), and a decision that closes the case releases it. "Next"
 * claims atomically: one UPDATE picks the oldest open case nobody else holds and takes it.
 */
import { WorkflowError } from "./workflow.ts";

export const CLAIM_TTL_MS = 15 * 60 * 1000;

export interface Claim {
  caseId: string;
  claimedBy: string;
  claimedAt: string;
  expiresAt: string;
}

function cutoff(now: number): string {
  return new Date(now - CLAIM_TTL_MS).toISOString();
}

function claimOf(caseId: string, by: string, at: string): Claim {
  return {
    caseId,
    claimedBy: by,
    claimedAt: at,
    expiresAt: new Date(Date.parse(at) + CLAIM_TTL_MS).toISOString(),
  };
}

/** The claim another reviewer holds on the case, or null (none, lapsed, or mine). */
export async function heldByOther(
  db: D1Database,
  caseId: string,
  me: string,
  now = Date.now(),
): Promise<Claim | null> {
  const row = await db
    .prepare("SELECT claimed_by, claimed_at FROM cases WHERE id = ?1")
    .bind(caseId)
    .first<{ claimed_by: string | null; claimed_at: string | null }>();
  if (!row?.claimed_by || !row.claimed_at || row.claimed_by === me || row.claimed_at <= cutoff(now))
    return null;
  return claimOf(caseId, row.claimed_by, row.claimed_at);
}

/** The message a reviewer sees when someone else holds the case. */
export function claimedMessage(c: Claim): string {
  return `${c.claimedBy} has this case (taken ${c.claimedAt}); it is free again when they decide or at ${c.expiresAt}`;
}

/** Throws a conflict with a clear message if another reviewer holds the case. */
export async function assertNotHeldByOther(db: D1Database, caseId: string, me: string): Promise<void> {
  const other = await heldByOther(db, caseId, me);
  if (other) throw new WorkflowError("conflict", claimedMessage(other));
}

/** Takes (or renews) the case for `me`; refused while another reviewer's claim is live. */
export async function claimCase(
  db: D1Database,
  caseId: string,
  me: string,
  now = Date.now(),
): Promise<Claim> {
  const at = new Date(now).toISOString();
  const res = await db
    .prepare(
      `UPDATE cases SET claimed_by = ?2, claimed_at = ?3
       WHERE id = ?1 AND purged_at IS NULL AND (claimed_by IS NULL OR claimed_by = ?2 OR claimed_at <= ?4)`,
    )
    .bind(caseId, me, at, cutoff(now))
    .run();
  if (res.meta.changes === 1) return claimOf(caseId, me, at);
  const other = await heldByOther(db, caseId, me, now);
  if (other) throw new WorkflowError("conflict", claimedMessage(other));
  throw new WorkflowError("not_found", "no such case");
}

/** Releases my claim (a no-op if I do not hold it). */
export async function releaseClaim(db: D1Database, caseId: string, me: string): Promise<void> {
  await releaseClaimStatement(db, caseId, me).run();
}

/** Releases `me`'s claim, for a decision's batch. */
export function releaseClaimStatement(db: D1Database, caseId: string, me: string): D1PreparedStatement {
  return db
    .prepare("UPDATE cases SET claimed_by = NULL, claimed_at = NULL WHERE id = ?1 AND claimed_by = ?2")
    .bind(caseId, me);
}

/**
 * Claims the next open case (new or in review) nobody else holds: the oldest one created after
 * `after` (or before it, for "previous"), or the oldest of all. Null when there is none.
 */
export async function claimNext(
  db: D1Database,
  me: string,
  opts: { after?: { createdAt: string; id: string }; dir?: "next" | "prev" } = {},
  now = Date.now(),
): Promise<Claim | null> {
  const at = new Date(now).toISOString();
  const prev = opts.dir === "prev";
  const pos = opts.after
    ? prev
      ? "AND (created_at < ?4 OR (created_at = ?4 AND id < ?5))"
      : "AND (created_at > ?4 OR (created_at = ?4 AND id > ?5))"
    : "AND ?4 IS NULL AND ?5 IS NULL";
  const order = prev ? "created_at DESC, id DESC" : "created_at ASC, id ASC";
  const row = await db
    .prepare(
      `UPDATE cases SET claimed_by = ?1, claimed_at = ?2
       WHERE id = (SELECT id FROM cases
         WHERE status IN ('new', 'in_review') AND purged_at IS NULL
           AND (claimed_by IS NULL OR claimed_by = ?1 OR claimed_at <= ?3) ${pos}
         ORDER BY ${order} LIMIT 1)
       RETURNING id`,
    )
    .bind(me, at, cutoff(now), opts.after?.createdAt ?? null, opts.after?.id ?? null)
    .first<{ id: string }>();
  return row ? claimOf(row.id, me, at) : null;
}
