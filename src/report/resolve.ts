/** An admin resolving a report step whose outcome is unknown (see cybertip-flow.ts). */
import { AUDIT, auditLog } from "../cases/audit.ts";
import { ReportFlowError } from "./errors.ts";
import { type FileProgress, type ReportRow, reportStore } from "./store.ts";

/** The index of a file whose upload outcome is unknown, if any. */
function uncertainUpload(row: ReportRow): string | null {
  const files = JSON.parse(row.files) as Record<string, FileProgress>;
  return Object.entries(files).find(([, p]) => p.uploading && !p.fileId)?.[0] ?? null;
}

/**
 * Resolves a step of unknown outcome (admin), given the id NCMEC has or null:
 * - a submit: with the report id, the flow goes on from `submitted`; with null, the admin
 *   asserts no report was made and a resubmit is allowed;
 * - an upload: with the file id, the file counts as uploaded; with null, it is uploaded again.
 */
export async function resolveUncertain(
  db: D1Database,
  caseId: string,
  actor: string,
  reportId: string | null,
) {
  const row = await reportStore(db).get(caseId);
  const pending = row?.state === "submitted" ? uncertainUpload(row) : null;
  if (row && pending !== null) {
    // An upload of unknown outcome: with the file id NCMEC has it counts as uploaded; without
    // one, the admin asserts nothing was stored and the file is uploaded again.
    const files = JSON.parse(row.files) as Record<string, FileProgress>;
    const p = files[pending]!;
    delete p.uploading;
    if (reportId) p.fileId = reportId; // here: the file id NCMEC has
    await reportStore(db).saveFiles(caseId, files, null);
    await auditLog(db).write({
      actor,
      action: AUDIT.resolve,
      subject: `case:${caseId}`,
      detail: { file: Number(pending), fileId: reportId },
    });
    return;
  }
  const ok = reportId
    ? await reportStore(db).advance(caseId, ["submitting"], "submitted", { report_id: reportId })
    : await reportStore(db).advance(caseId, ["submitting"], "rejected", {
        last_error: `resubmit allowed by ${actor}`,
      });
  if (!ok) throw new ReportFlowError("busy", "report is not awaiting resolution");
  await auditLog(db).write({ actor, action: AUDIT.resolve, subject: `case:${caseId}`, detail: { reportId } });
}
