/**
 * Claims: a reviewer takes a case so that two reviewers do not work the same one. A claim is
 * a name and a time on the case row; it lapses after CLAIM_TTL_MS (a reviewer who walks away
 * does not hold a case forever), and a decision that closes the case releases it. "Next"
 * claims atomically: one UPDATE picks the oldest open case nobody else holds and takes it.
 * The statements are claim-store.ts's ClaimStore.
 */
import { claimStore } from "./claim-store.ts";
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
  const held = await claimStore(db).holder(caseId);
  if (!held || held.claimedBy === me || held.claimedAt <= cutoff(now)) return null;
  return claimOf(caseId, held.claimedBy, held.claimedAt);
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
  if (await claimStore(db).take(caseId, me, at, cutoff(now))) return claimOf(caseId, me, at);
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
  return claimStore(db).releaseStatement(caseId, me);
}

/**
 * Claims the next open case (new or in review) nobody else holds: the oldest one created after
 * case `after` (or before it, for "previous"), or the oldest of all when `after` is not given or
 * no such case exists. Null when there is none.
 */
export async function claimNext(
  db: D1Database,
  me: string,
  opts: { after?: string; dir?: "next" | "prev" } = {},
  now = Date.now(),
): Promise<Claim | null> {
  const at = new Date(now).toISOString();
  const store = claimStore(db);
  const after = opts.after === undefined ? null : await store.position(opts.after);
  const id = await store.takeNext(me, at, cutoff(now), {
    ...(after ? { after } : {}),
    ...(opts.dir ? { dir: opts.dir } : {}),
  });
  return id ? claimOf(id, me, at) : null;
}
