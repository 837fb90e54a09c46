/**
 * Where claims are read and written: the `claimed_by` and `claimed_at` columns of D1's `cases`
 * (migrations/0004). Every claim statement goes through `ClaimStore`; what a claim means (its
 * lapse, its messages, the errors) is claims.ts. A claim older than `lapsedBefore` counts as free.
 */

export interface ClaimHolder {
  claimedBy: string;
  claimedAt: string;
}

/** A case's place in the queue's order (oldest first, ties by id). */
export interface QueuePosition {
  id: string;
  createdAt: string;
}

export interface ClaimStore {
  /** Who holds the case (whether or not the claim lapsed); null when nobody or no such case. */
  holder(caseId: string): Promise<ClaimHolder | null>;
  /** Takes the case for `me` unless purged or held by a live claim of another; true if taken. */
  take(caseId: string, me: string, at: string, lapsedBefore: string): Promise<boolean>;
  /** Releases `me`'s claim on the case (no-op if `me` does not hold it), for a batch or `.run()`. */
  releaseStatement(caseId: string, me: string): D1PreparedStatement;
  /**
   * Takes the first open case (new or in review, not purged) nobody else holds live, in queue
   * order after `after` (before it for "prev"), or the first of all; its id, or null.
   */
  takeNext(
    me: string,
    at: string,
    lapsedBefore: string,
    opts: { after?: QueuePosition; dir?: "next" | "prev" },
  ): Promise<string | null>;
  /** Where a case stands in the queue's order, or null if there is no such case. */
  position(caseId: string): Promise<QueuePosition | null>;
}

export class D1ClaimStore implements ClaimStore {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  async holder(caseId: string): Promise<ClaimHolder | null> {
    const row = await this.db
      .prepare("SELECT claimed_by, claimed_at FROM cases WHERE id = ?1")
      .bind(caseId)
      .first<{ claimed_by: string | null; claimed_at: string | null }>();
    return row?.claimed_by && row.claimed_at
      ? { claimedBy: row.claimed_by, claimedAt: row.claimed_at }
      : null;
  }

  async take(caseId: string, me: string, at: string, lapsedBefore: string): Promise<boolean> {
    const res = await this.db
      .prepare(
        `UPDATE cases SET claimed_by = ?2, claimed_at = ?3
         WHERE id = ?1 AND purged_at IS NULL AND (claimed_by IS NULL OR claimed_by = ?2 OR claimed_at <= ?4)`,
      )
      .bind(caseId, me, at, lapsedBefore)
      .run();
    return res.meta.changes === 1;
  }

  releaseStatement(caseId: string, me: string): D1PreparedStatement {
    return this.db
      .prepare("UPDATE cases SET claimed_by = NULL, claimed_at = NULL WHERE id = ?1 AND claimed_by = ?2")
      .bind(caseId, me);
  }

  async takeNext(
    me: string,
    at: string,
    lapsedBefore: string,
    opts: { after?: QueuePosition; dir?: "next" | "prev" },
  ): Promise<string | null> {
    const prev = opts.dir === "prev";
    const pos = opts.after
      ? prev
        ? "AND (created_at < ?4 OR (created_at = ?4 AND id < ?5))"
        : "AND (created_at > ?4 OR (created_at = ?4 AND id > ?5))"
      : "AND ?4 IS NULL AND ?5 IS NULL";
    const order = prev ? "created_at DESC, id DESC" : "created_at ASC, id ASC";
    const row = await this.db
      .prepare(
        `UPDATE cases SET claimed_by = ?1, claimed_at = ?2
         WHERE id = (SELECT id FROM cases
           WHERE status IN ('new', 'in_review') AND purged_at IS NULL
             AND (claimed_by IS NULL OR claimed_by = ?1 OR claimed_at <= ?3) ${pos}
           ORDER BY ${order} LIMIT 1)
         RETURNING id`,
      )
      .bind(me, at, lapsedBefore, opts.after?.createdAt ?? null, opts.after?.id ?? null)
      .first<{ id: string }>();
    return row?.id ?? null;
  }

  async position(caseId: string): Promise<QueuePosition | null> {
    const row = await this.db
      .prepare("SELECT id, created_at FROM cases WHERE id = ?1")
      .bind(caseId)
      .first<{ id: string; created_at: string }>();
    return row ? { id: row.id, createdAt: row.created_at } : null;
  }
}

/** The claim store of a D1 binding. */
export function claimStore(db: D1Database): ClaimStore {
  return new D1ClaimStore(db);
}
