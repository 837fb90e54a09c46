/** The `reports` table: one row per case, holding the submit flow's state (see cybertip-flow.ts). */
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

export async function getReport(db: D1Database, caseId: string): Promise<ReportRow | null> {
  return db.prepare("SELECT * FROM reports WHERE case_id = ?1").bind(caseId).first<ReportRow>();
}

/** Creates the row unless it exists (the primary key makes two reports for a case impossible). */
export async function createReport(
  db: D1Database,
  caseId: string,
  kind: ReportRow["kind"],
  by: string,
): Promise<void> {
  const now = new Date().toISOString();
  await db
    .prepare(
      `INSERT OR IGNORE INTO reports (case_id, kind, state, created_by, created_at, updated_at)
       VALUES (?1, ?2, 'pending', ?3, ?4, ?4)`,
    )
    .bind(caseId, kind, by, now)
    .run();
}

/** Moves the row from one of `from` to `to`, setting fields; false if another flow got there first. */
export async function advance(
  db: D1Database,
  caseId: string,
  from: ReportState[],
  to: ReportState,
  set: {
    report_id?: string;
    xml?: string;
    files?: string;
    last_error?: string | null;
    finished?: boolean;
  } = {},
): Promise<boolean> {
  const now = new Date().toISOString();
  const res = await db
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

/** Saves per-file progress (after each upload/fileinfo step, so a crash resumes there). */
export async function saveFiles(
  db: D1Database,
  caseId: string,
  files: Record<string, FileProgress>,
  err: string | null,
) {
  await db
    .prepare("UPDATE reports SET files = ?1, last_error = ?2, updated_at = ?3 WHERE case_id = ?4")
    .bind(JSON.stringify(files), err, new Date().toISOString(), caseId)
    .run();
}

/** Records why a step failed without moving the report's state. */
export async function setLastError(db: D1Database, caseId: string, error: string): Promise<void> {
  await db.prepare("UPDATE reports SET last_error = ?1 WHERE case_id = ?2").bind(error, caseId).run();
}
