/**
 * Where allow-list entries are read and written: D1's `allow_entries` (migrations/0003). Every
 * statement on the table goes through `AllowListStore`, as case rows go through CaseStore
 * (case-store.ts); what an entry means and which hits it cancels is allow-list.ts.
 */

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

/** Who added an entry, from which case file, why and when. */
export interface AllowProvenance {
  by: string;
  caseId: string;
  fileIndex: number;
  reason: string;
  at: string;
}

export interface AllowListStore {
  /** Active entries whose digest is one of `digests` (lower-case), in one query. */
  activeRulesFor(digests: string[]): Promise<AllowRule[]>;
  /** The insert of one entry (idempotent: an existing active entry only gains cancelsExact), for a batch. */
  addStatement(rule: AllowRule, from: AllowProvenance): D1PreparedStatement;
  /** Entries, newest first; revoked ones only when asked. `limit` is clamped to 1..1000 (default 100). */
  list(q: { listId?: string; includeRevoked?: boolean; limit?: number }): Promise<AllowEntry[]>;
  /** Revokes one active entry; returns it, or null if there is no such active entry. */
  revoke(id: number, by: string, at: string): Promise<AllowEntry | null>;
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

export class D1AllowListStore implements AllowListStore {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  async activeRulesFor(digests: string[]): Promise<AllowRule[]> {
    // The digests travel as one JSON parameter: D1 allows 100 bound parameters per statement.
    const { results } = await this.db
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

  addStatement(rule: AllowRule, from: AllowProvenance): D1PreparedStatement {
    return this.db
      .prepare(
        `INSERT INTO allow_entries (algo, digest, list_id, cancels_exact, added_at, added_by, case_id, file_index, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (algo, digest, list_id) WHERE revoked_at IS NULL
         DO UPDATE SET cancels_exact = max(cancels_exact, excluded.cancels_exact)`,
      )
      .bind(
        rule.algo,
        rule.digest,
        rule.listId,
        rule.cancelsExact ? 1 : 0,
        from.at,
        from.by,
        from.caseId,
        from.fileIndex,
        from.reason,
      );
  }

  async list(q: { listId?: string; includeRevoked?: boolean; limit?: number }): Promise<AllowEntry[]> {
    const { results } = await this.db
      .prepare(
        `SELECT * FROM allow_entries
         WHERE (?1 IS NULL OR list_id = ?1) AND (?2 = 1 OR revoked_at IS NULL)
         ORDER BY id DESC LIMIT ?3`,
      )
      .bind(q.listId ?? null, q.includeRevoked ? 1 : 0, Math.min(Math.max(q.limit ?? 100, 1), 1000))
      .all<AllowRow>();
    return results.map(entryOf);
  }

  async revoke(id: number, by: string, at: string): Promise<AllowEntry | null> {
    const row = await this.db
      .prepare(
        "UPDATE allow_entries SET revoked_at = ?1, revoked_by = ?2 WHERE id = ?3 AND revoked_at IS NULL RETURNING *",
      )
      .bind(at, by, id)
      .first<AllowRow>();
    return row ? entryOf(row) : null;
  }
}

/** The allow-list store of a D1 binding. */
export function allowListStore(db: D1Database): AllowListStore {
  return new D1AllowListStore(db);
}
