/**
 * Where reports are kept: D1's `reports` table, one row per case, holding the submit flow's
 * state (see cybertip-flow.ts). Every statement of the report flows goes through `ReportStore`,
 * as case rows go through cases/case-store.ts's CaseStore (which also clears a purged case's
 * report documents and reads whether a report finished).
 */
export type ReportState = "pending" | "submitting" | "rejected" | "submitted" | "finished" | "retracted";

export interface FileProgress {
  fileId?: string;
  /** Set while an upload is under way: found set on resume, the upload's outcome is unknown. */
  uploading?: boolean;
  md5?: string | null;
  infoXml?: string;
  infoSent?: boolean;
}

export interface ReportRow {
  case_id: string;
  kind: "cybertip" | "webhook";
  state: ReportState;
  report_id: string | null;
  xml: string | null;
  files: string;
  attempts: number;
  last_error: string | null;
  finished_at: string | null;
}

/** The fields a state change may set. */
export interface ReportUpdate {
  report_id?: string;
  xml?: string;
  files?: string;
  last_error?: string | null;
  finished?: boolean;
}

export interface ReportStore {
  get(caseId: string): Promise<ReportRow | null>;
  /** Creates the row unless it exists (the primary key makes two reports for a case impossible). */
  create(caseId: string, kind: ReportRow["kind"], by: string): Promise<void>;
  /** Moves the row from one of `from` to `to`, setting fields; false if another flow got there first. */
  advance(caseId: string, from: ReportState[], to: ReportState, set?: ReportUpdate): Promise<boolean>;
  /** Saves per-file progress (after each upload/fileinfo step, so a crash resumes there). */
  saveFiles(caseId: string, files: Record<string, FileProgress>, err: string | null): Promise<void>;
  /** Records why a step failed without moving the report's state. */
  setLastError(caseId: string, error: string): Promise<void>;
}

export class D1ReportStore implements ReportStore {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  get(caseId: string): Promise<ReportRow | null> {
    return this.db.prepare("SELECT * FROM reports WHERE case_id = ?1").bind(caseId).first<ReportRow>();
  }

  async create(caseId: string, kind: ReportRow["kind"], by: string): Promise<void> {
    const now = new Date().toISOString();
    await this.db
      .prepare(
        `INSERT OR IGNORE INTO reports (case_id, kind, state, created_by, created_at, updated_at)
         VALUES (?1, ?2, 'pending', ?3, ?4, ?4)`,
      )
      .bind(caseId, kind, by, now)
      .run();
  }

  async advance(
    caseId: string,
    from: ReportState[],
    to: ReportState,
    set: ReportUpdate = {},
  ): Promise<boolean> {
    const now = new Date().toISOString();
    const res = await this.db
      .prepare(
        `UPDATE reports SET state = ?1, updated_at = ?2, attempts = attempts + CASE WHEN ?1 = 'submitting' THEN 1 ELSE 0 END,
           report_id = COALESCE(?3, report_id), xml = COALESCE(?4, xml), files = COALESCE(?5, files),
           last_error = ?6, finished_at = CASE WHEN ?7 THEN ?2 ELSE finished_at END
         WHERE case_id = ?8 AND state IN (${from.map((s) => `'${s}'`).join(", ")})`,
      )
      .bind(
        to,
        now,
        set.report_id ?? null,
        set.xml ?? null,
        set.files ?? null,
        set.last_error ?? null,
        set.finished ? 1 : 0,
        caseId,
      )
      .run();
    return (res.meta.changes ?? 0) === 1;
  }

  async saveFiles(caseId: string, files: Record<string, FileProgress>, err: string | null): Promise<void> {
    await this.db
      .prepare("UPDATE reports SET files = ?1, last_error = ?2, updated_at = ?3 WHERE case_id = ?4")
      .bind(JSON.stringify(files), err, new Date().toISOString(), caseId)
      .run();
  }

  async setLastError(caseId: string, error: string): Promise<void> {
    await this.db.prepare("UPDATE reports SET last_error = ?1 WHERE case_id = ?2").bind(error, caseId).run();
  }
}

/** The report store of a D1 binding. */
export function reportStore(db: D1Database): ReportStore {
  return new D1ReportStore(db);
}
