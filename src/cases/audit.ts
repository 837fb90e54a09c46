/**
 * The audit log: D1's shared `audit_log` table (schema in migrations/0001_init.sql), written by
 * reviews, reports, retention, list changes and dead-letter replays. Every row goes through the
 * `AuditLog` interface (one INSERT, here), as list data goes through lists/store.ts's ListStore.
 */

export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  detail?: Record<string, unknown>;
}

export interface AuditLog {
  /**
   * The insert of `e`, not yet run, so the caller puts it in the same D1 batch as the change it
   * records. With `ifChanged` the row is written only if the statement just before it in the
   * batch changed a row (a transition that lost a race leaves no audit row).
   */
  insert(e: AuditEntry, options?: { at?: string; ifChanged?: boolean }): D1PreparedStatement;
  write(e: AuditEntry): Promise<void>;
  /** Files of a case a reviewer revealed (distinct indexes). */
  revealedFiles(caseId: string): Promise<Set<number>>;
}

/** Audit action names written by review, reporting, retention and the admin API. */
export const AUDIT = {
  transition: "case.transition",
  reveal: "evidence.reveal",
  allowList: "allowlist.add",
  settings: "reviewer.settings",
  report: "report.submit",
  retract: "report.retract",
  resolve: "report.resolve",
  purge: "retention.purge",
  appeal: "case.appeal",
  dlqReplay: "dlq.replay",
} as const;

/** The audit subject of evidence file `n` of a case: what fileViewedByEsp is decided from. */
export function fileSubject(caseId: string, n: number): string {
  return `case:${caseId}/file-${n}`;
}

export class D1AuditLog implements AuditLog {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  insert(e: AuditEntry, options: { at?: string; ifChanged?: boolean } = {}): D1PreparedStatement {
    const sql = options.ifChanged
      ? "INSERT INTO audit_log (at, actor, action, subject, detail) SELECT ?1, ?2, ?3, ?4, ?5 WHERE changes() = 1"
      : "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)";
    const at = options.at ?? new Date().toISOString();
    return this.db.prepare(sql).bind(at, e.actor, e.action, e.subject, JSON.stringify(e.detail ?? {}));
  }

  async write(e: AuditEntry): Promise<void> {
    await this.insert(e).run();
  }

  async revealedFiles(caseId: string): Promise<Set<number>> {
    const rows = await this.db
      .prepare(
        "SELECT DISTINCT subject FROM audit_log WHERE action = ?1 AND substr(subject, 1, length(?2)) = ?2",
      )
      .bind(AUDIT.reveal, `case:${caseId}/file-`)
      .all<{ subject: string }>();
    const out = new Set<number>();
    for (const r of rows.results) {
      const n = Number(r.subject.slice(r.subject.lastIndexOf("-") + 1));
      if (Number.isInteger(n)) out.add(n);
    }
    return out;
  }
}

/** The audit log of a D1 binding. */
export function auditLog(db: D1Database): AuditLog {
  return new D1AuditLog(db);
}
