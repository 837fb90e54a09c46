/**
 * Where case data is read and written: the `cases` table and the tables that hang off it
 * (`case_events`, `appeals`, and the `reports` columns a purge clears). Every statement on them
 * goes through the `CaseStore` interface, as list data goes through lists/store.ts's ListStore;
 * `D1CaseStore` is the one implementation. Its siblings own the rest of D1: audit.ts
 * (`audit_log`), allow-store.ts (`allow_entries`), claim-store.ts (the claim columns of
 * `cases`), unscanned-store.ts (`unscanned`), cron-run-store.ts (`cron_runs`). Methods that
 * return statements let the caller run them in one D1 batch with transaction.ts's
 * `applyTogether` (a transition, its event, its audit row and its extras apply together or not
 * at all).
 */
import type { MatchMessage } from "./messages.ts";
import type { CaseStatus } from "./status.ts";
import {
  type AuditExportRow,
  auditOfCases,
  type CaseDetail,
  type CaseFilter,
  type CaseQuery,
  type CaseSummary,
  getCase,
  listCases,
  openCasesWithDigest,
  statusCounts,
} from "./store.ts";

export type CaseSource = "queue" | "fallback" | "sweep";

/** One case's row, the columns the kernel decides on. */
export interface CaseRow {
  status: CaseStatus;
  message: string;
  purged_at: string | null;
  notified_at: string | null;
}

/** A case's state for the workflow: its status, whether purged, whether a report finished. */
export interface CaseState {
  status: CaseStatus;
  purged_at: string | null;
  reported: number;
}

export interface TransitionRow {
  caseId: string;
  actor: string;
  action: string;
  reason: string;
  from: CaseStatus;
  to: CaseStatus;
  at: string;
  /** Sets decided_at/decided_by (confirm, dismiss). */
  decides: boolean;
  escalates: boolean;
}

export interface CaseStore {
  /** Inserts a case unless it exists; true if a row was written. */
  insertCase(msg: MatchMessage, source: CaseSource, listIds: string[], now: string): Promise<boolean>;
  getRow(caseId: string): Promise<CaseRow | null>;
  getState(caseId: string): Promise<CaseState | null>;
  list(q: CaseQuery): Promise<{ cases: CaseSummary[]; total: number }>;
  /** Cases per status (and escalated) under the filter's other conditions: the queue's tabs. */
  statusCounts(f: CaseFilter): Promise<Record<string, number>>;
  detail(caseId: string): Promise<CaseDetail | null>;
  openCasesWithDigest(digest: string, limit?: number): Promise<string[]>;
  /** Audit entries of the cases the filter selects (the case and its files), oldest first, at most `cap`. */
  auditTrail(f: CaseFilter, cap?: number): Promise<AuditExportRow[]>;
  /** The update of the case (if still in `from`) and its event (only if the update applied). */
  transition(t: TransitionRow): D1PreparedStatement[];
  markNotified(caseId: string, at: string): Promise<void>;
  /** Messages of cases not notified, created before `before`, oldest first. */
  unnotifiedMessages(before: string, limit: number): Promise<string[]>;
  openAppealId(caseId: string): Promise<number | null>;
  latestAppealId(caseId: string): Promise<number | null>;
  /** Records an appeal, only if the `appeal` transition at `at` applied. */
  insertAppeal(
    caseId: string,
    at: string,
    actor: string,
    complaint: string,
    from: CaseStatus,
  ): D1PreparedStatement;
  /** Records the outcome of the open appeal, only if the decision at `at` by `by` applied. */
  appealOutcome(
    caseId: string,
    outcome: "upheld" | "overturned",
    by: string,
    at: string,
  ): D1PreparedStatement;
  /** Cases retention may purge now: reported ones past `reportedCutoff`, dismissed ones past `dismissedCutoff`. */
  purgeCandidates(
    reportedCutoff: string,
    dismissedCutoff: string,
    limit: number,
  ): Promise<{ reported: string[]; dismissed: string[] }>;
  /** Clears a case's personal data (case row, report documents, appeal texts). */
  purge(caseId: string, at: string): D1PreparedStatement[];
}

export class D1CaseStore implements CaseStore {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  async insertCase(msg: MatchMessage, source: CaseSource, listIds: string[], now: string): Promise<boolean> {
    const res = await this.db
      .prepare(
        `INSERT OR IGNORE INTO cases
           (id, created_at, verdict, status, source, uploader_ip, identity, request_path, file_count, list_ids, message, updated_at)
         VALUES (?1, ?2, ?3, 'new', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
      )
      .bind(
        msg.caseId,
        msg.at,
        msg.verdict,
        source,
        msg.request.ip,
        JSON.stringify(msg.request.identity),
        msg.request.path,
        msg.files.length + (msg.omitted?.files ?? 0),
        JSON.stringify(listIds),
        JSON.stringify(msg),
        now,
      )
      .run();
    return (res.meta.changes ?? 0) > 0;
  }

  getRow(caseId: string): Promise<CaseRow | null> {
    return this.db
      .prepare("SELECT status, message, purged_at, notified_at FROM cases WHERE id = ?1")
      .bind(caseId)
      .first<CaseRow>();
  }

  getState(caseId: string): Promise<CaseState | null> {
    return this.db
      .prepare(
        `SELECT status, purged_at,
           EXISTS (SELECT 1 FROM reports r WHERE r.case_id = cases.id AND r.state = 'finished') AS reported
         FROM cases WHERE id = ?1`,
      )
      .bind(caseId)
      .first<CaseState>();
  }

  list(q: CaseQuery): Promise<{ cases: CaseSummary[]; total: number }> {
    return listCases(this.db, q);
  }

  statusCounts(f: CaseFilter): Promise<Record<string, number>> {
    return statusCounts(this.db, f);
  }

  detail(caseId: string): Promise<CaseDetail | null> {
    return getCase(this.db, caseId);
  }

  openCasesWithDigest(digest: string, limit?: number): Promise<string[]> {
    return openCasesWithDigest(this.db, digest, limit);
  }

  auditTrail(f: CaseFilter, cap?: number): Promise<AuditExportRow[]> {
    return auditOfCases(this.db, f, cap);
  }

  transition(t: TransitionRow): D1PreparedStatement[] {
    return [
      this.db
        .prepare(
          `UPDATE cases SET status = ?1, updated_at = ?2,
             decided_at = CASE WHEN ?3 THEN ?2 ELSE decided_at END,
             decided_by = CASE WHEN ?3 THEN ?4 ELSE decided_by END,
             escalated = CASE WHEN ?5 THEN 1 ELSE escalated END
           WHERE id = ?6 AND status = ?7 AND purged_at IS NULL`,
        )
        .bind(t.to, t.at, t.decides ? 1 : 0, t.actor, t.escalates ? 1 : 0, t.caseId, t.from),
      this.db
        .prepare(
          `INSERT INTO case_events (case_id, at, actor, action, from_status, to_status, reason)
           SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE changes() = 1`,
        )
        .bind(t.caseId, t.at, t.actor, t.action, t.from, t.to, t.reason),
    ];
  }

  async markNotified(caseId: string, at: string): Promise<void> {
    await this.db
      .prepare("UPDATE cases SET notified_at = ?1 WHERE id = ?2 AND notified_at IS NULL")
      .bind(at, caseId)
      .run();
  }

  async unnotifiedMessages(before: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .prepare(
        "SELECT message FROM cases WHERE notified_at IS NULL AND purged_at IS NULL AND created_at < ?1 ORDER BY created_at LIMIT ?2",
      )
      .bind(before, limit)
      .all<{ message: string }>();
    return rows.results.map((r) => r.message);
  }

  async openAppealId(caseId: string): Promise<number | null> {
    const row = await this.db
      .prepare("SELECT id FROM appeals WHERE case_id = ?1 AND outcome IS NULL ORDER BY id DESC LIMIT 1")
      .bind(caseId)
      .first<{ id: number }>();
    return row?.id ?? null;
  }

  async latestAppealId(caseId: string): Promise<number | null> {
    const row = await this.db
      .prepare("SELECT id FROM appeals WHERE case_id = ?1 ORDER BY id DESC LIMIT 1")
      .bind(caseId)
      .first<{ id: number }>();
    return row?.id ?? null;
  }

  insertAppeal(
    caseId: string,
    at: string,
    actor: string,
    complaint: string,
    from: CaseStatus,
  ): D1PreparedStatement {
    return this.db
      .prepare(
        `INSERT INTO appeals (case_id, at, actor, complaint, previous_status)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS
           (SELECT 1 FROM case_events WHERE case_id = ?1 AND at = ?2 AND action = 'appeal')`,
      )
      .bind(caseId, at, actor, complaint, from);
  }

  appealOutcome(
    caseId: string,
    outcome: "upheld" | "overturned",
    by: string,
    at: string,
  ): D1PreparedStatement {
    return this.db
      .prepare(
        `UPDATE appeals SET outcome = ?1, decided_at = ?2, decided_by = ?3
         WHERE case_id = ?4 AND outcome IS NULL AND EXISTS
           (SELECT 1 FROM case_events WHERE case_id = ?4 AND at = ?2 AND actor = ?3)`,
      )
      .bind(outcome, at, by, caseId);
  }

  async purgeCandidates(
    reportedCutoff: string,
    dismissedCutoff: string,
    limit: number,
  ): Promise<{ reported: string[]; dismissed: string[] }> {
    const reported = await this.db
      .prepare(
        `SELECT c.id FROM cases c JOIN reports r ON r.case_id = c.id
         WHERE c.status = 'reported' AND c.purged_at IS NULL AND r.finished_at IS NOT NULL AND r.finished_at <= ?1
         LIMIT ?2`,
      )
      .bind(reportedCutoff, limit)
      .all<{ id: string }>();
    const dismissed = await this.db
      .prepare(
        `SELECT c.id FROM cases c
         WHERE c.status = 'dismissed' AND c.purged_at IS NULL AND c.decided_at IS NOT NULL AND c.decided_at <= ?1
           AND NOT EXISTS (SELECT 1 FROM reports r WHERE r.case_id = c.id
             AND (r.finished_at IS NULL OR r.finished_at > ?2) AND r.state NOT IN ('rejected', 'retracted'))
         LIMIT ?3`,
      )
      .bind(dismissedCutoff, reportedCutoff, limit)
      .all<{ id: string }>();
    return { reported: reported.results.map((r) => r.id), dismissed: dismissed.results.map((r) => r.id) };
  }

  purge(caseId: string, at: string): D1PreparedStatement[] {
    return [
      this.db
        .prepare(
          `UPDATE cases SET purged_at = ?1, updated_at = ?1, message = '{"purged":true}', uploader_ip = NULL,
             identity = NULL, request_path = NULL WHERE id = ?2`,
        )
        .bind(at, caseId),
      this.db.prepare("UPDATE reports SET xml = NULL, files = '{}' WHERE case_id = ?1").bind(caseId),
      this.db.prepare("UPDATE appeals SET complaint = '' WHERE case_id = ?1").bind(caseId),
    ];
  }
}

/** The case store of a D1 binding. */
export function caseStore(db: D1Database): CaseStore {
  return new D1CaseStore(db);
}
