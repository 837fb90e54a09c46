/**
 * Reporting a confirmed case, resumable and idempotent. The `reports` row (primary key: case
 * id) records how far the flow got: pending → submitting → submitted (report id; then per file
 * upload and fileinfo, saved after each step) → finished. A crash or error resumes from the
 * saved step. A submit whose outcome is unknown (network failure or crash after the request
 * left) stays `submitting` and is never resent automatically: an admin resolves it with the
 * report id from NCMEC or explicitly allows a resubmit.
 */

import { AUDIT, revealedFiles, writeAudit } from "../cases/audit.ts";
import type { MatchMessage } from "../cases/messages.ts";
import { transition } from "../cases/workflow.ts";
import type { Env } from "../env.ts";
import { type ReportConfig, reportConfig } from "./config.ts";
import { CyberTipClient, CyberTipError } from "./cybertip-client.ts";
import type { ReportDeps } from "./deps.ts";
import { advance, createReport, type FileProgress, getReport, type ReportRow, saveFiles } from "./store.ts";
import { validateFileInfoXml, validateReportXml } from "./validate.ts";
import { sendWebhookReport } from "./webhook.ts";
import { buildFileInfoXml, buildReportXml } from "./xml.ts";

export type ReportFlowErrorCode =
  | "not_found"
  | "not_confirmed"
  | "uncertain"
  | "busy"
  | "rejected"
  | "remote"
  | "evidence_missing"
  | "md5_mismatch"
  | "retracted"
  | "finished";

export class ReportFlowError extends Error {
  readonly code: ReportFlowErrorCode;
  constructor(code: ReportFlowErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ReportFlowError";
    this.code = code;
  }
}

export interface ReportOutcome {
  kind: ReportRow["kind"];
  state: ReportRow["state"];
  reportId: string | null;
}

interface CaseRowForReport {
  status: string;
  message: string;
  purged_at: string | null;
}

/** Reports a confirmed case (or resumes an unfinished report). */
export async function reportCase(
  env: Env,
  caseId: string,
  actor: string,
  deps: ReportDeps = {},
): Promise<ReportOutcome> {
  const cfg = reportConfig(env);
  const db = env.DB;
  const c = await db
    .prepare("SELECT status, message, purged_at FROM cases WHERE id = ?1")
    .bind(caseId)
    .first<CaseRowForReport>();
  if (!c || c.purged_at) throw new ReportFlowError("not_found", "no such case");
  let row = await getReport(db, caseId);
  if (!row) {
    if (c.status !== "confirmed")
      throw new ReportFlowError("not_confirmed", "only a confirmed case can be reported");
    await createReport(db, caseId, cfg.kind, actor);
    row = (await getReport(db, caseId))!;
  }
  if (row.state === "retracted") throw new ReportFlowError("retracted", "this case's report was retracted");
  const msg = JSON.parse(c.message) as MatchMessage;
  if (row.state !== "finished") {
    if (row.kind === "webhook") {
      if (cfg.kind !== "webhook")
        throw new ReportFlowError("busy", "report was started as a webhook; configure it");
      row = await webhookFlow(db, row, msg, cfg, deps);
    } else {
      if (cfg.kind !== "cybertip")
        throw new ReportFlowError("busy", "report was started as a CyberTip; configure it");
      row = await cybertipFlow(env, row, msg, cfg, deps);
    }
    await writeAudit(db, {
      actor,
      action: AUDIT.report,
      subject: `case:${caseId}`,
      detail: { kind: row.kind, reportId: row.report_id },
    });
  }
  // The report exists: the case is reported (again idempotent if an earlier run got here).
  const now = await db
    .prepare("SELECT status FROM cases WHERE id = ?1")
    .bind(caseId)
    .first<{ status: string }>();
  if (now?.status === "confirmed") {
    await transition(db, {
      caseId,
      action: "report",
      actor,
      reason: `${row.kind} report ${row.report_id ?? ""}`.trim(),
    });
  }
  return { kind: row.kind, state: row.state, reportId: row.report_id };
}

async function reload(db: D1Database, caseId: string): Promise<ReportRow> {
  return (await getReport(db, caseId))!;
}

async function cybertipFlow(
  env: Env,
  row: ReportRow,
  msg: MatchMessage,
  cfg: Extract<ReportConfig, { kind: "cybertip" }>,
  deps: ReportDeps,
): Promise<ReportRow> {
  const db = env.DB;
  const caseId = row.case_id;
  const client = new CyberTipClient({
    baseUrl: cfg.baseUrl,
    username: cfg.username,
    password: cfg.password,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  if (row.state === "submitting") {
    throw new ReportFlowError(
      "uncertain",
      "an earlier submit may have reached NCMEC; an admin must resolve it",
    );
  }
  if (row.state === "pending" || row.state === "rejected") {
    const xml = buildReportXml(msg, cfg.reporter);
    validateReportXml(xml);
    if (!(await advance(db, caseId, ["pending", "rejected"], "submitting", { xml }))) {
      throw new ReportFlowError("busy", "another report run is in progress");
    }
    let reportId: string;
    try {
      reportId = await client.submit(xml);
    } catch (e) {
      const err = e instanceof Error ? e.message : String(e);
      if (e instanceof CyberTipError && e.code !== -1) {
        await advance(db, caseId, ["submitting"], "rejected", { last_error: err });
        throw new ReportFlowError("rejected", err, { cause: e });
      }
      await db.prepare("UPDATE reports SET last_error = ?1 WHERE case_id = ?2").bind(err, caseId).run();
      throw new ReportFlowError("uncertain", `submit outcome unknown: ${err}`, { cause: e });
    }
    await advance(db, caseId, ["submitting"], "submitted", { report_id: reportId });
    row = await reload(db, caseId);
  }
  if (row.state === "submitted") {
    await sendFiles(env, row, msg, client);
    try {
      await client.finish(row.report_id!);
    } catch (e) {
      // 5102: finished already (an earlier run's finish got through but its answer was lost).
      if (!(e instanceof CyberTipError && e.code === 5102)) throw remoteError(e);
    }
    await advance(db, caseId, ["submitted"], "finished", { finished: true });
  }
  return reload(db, caseId);
}

/** The index of a file whose upload outcome is unknown, if any. */
function uncertainUpload(row: ReportRow): string | null {
  const files = JSON.parse(row.files) as Record<string, FileProgress>;
  return Object.entries(files).find(([, p]) => p.uploading && !p.fileId)?.[0] ?? null;
}

function remoteError(e: unknown): ReportFlowError {
  if (e instanceof ReportFlowError) return e;
  return new ReportFlowError("remote", e instanceof Error ? e.message : String(e), { cause: e });
}

/** Uploads each matched file and sends its fileinfo, saving progress after every step. */
async function sendFiles(env: Env, row: ReportRow, msg: MatchMessage, client: CyberTipClient): Promise<void> {
  const db = env.DB;
  const files = JSON.parse(row.files) as Record<string, FileProgress>;
  const revealed = await revealedFiles(db, row.case_id);
  const reportId = row.report_id!;
  for (const f of msg.files) {
    const p: FileProgress = files[f.index] ?? {};
    files[f.index] = p;
    try {
      if (!p.fileId) {
        if (p.uploading) {
          // An earlier upload of this file may have been stored: uploading again could put it in
          // the report twice. An admin resolves it (the file id NCMEC has, or a re-upload).
          throw new ReportFlowError(
            "uncertain",
            `upload of file ${f.index} may have reached NCMEC; an admin must resolve it`,
          );
        }
        // null: bytes not kept (over the case's evidence cap); the case says so (evidenceNotKept).
        const obj = f.evidenceKey === null ? null : await env.EVIDENCE.get(f.evidenceKey);
        if (!obj) throw new ReportFlowError("evidence_missing", `evidence of file ${f.index} is missing`);
        const bytes = new Uint8Array(await obj.arrayBuffer());
        p.uploading = true;
        await saveFiles(db, row.case_id, files, null);
        let up: { fileId: string; md5: string | null };
        try {
          up = await client.upload(reportId, f.filename ?? `file-${f.index}`, bytes);
        } catch (e) {
          // An explicit refusal means nothing was stored: the next run may upload again.
          if (e instanceof CyberTipError && e.code !== -1) delete p.uploading;
          throw e;
        }
        p.fileId = up.fileId;
        p.md5 = up.md5;
        delete p.uploading;
        await saveFiles(db, row.case_id, files, null);
        if (f.digests.md5 && up.md5 && up.md5 !== f.digests.md5) {
          throw new ReportFlowError("md5_mismatch", `NCMEC's MD5 of file ${f.index} differs from ours`);
        }
      }
      if (!p.infoSent) {
        const xml = buildFileInfoXml(reportId, p.fileId, f, msg, revealed.has(f.index));
        validateFileInfoXml(xml);
        await client.fileInfo(xml);
        p.infoXml = xml;
        p.infoSent = true;
        await saveFiles(db, row.case_id, files, null);
      }
    } catch (e) {
      const err = remoteError(e);
      await saveFiles(db, row.case_id, files, err.message);
      throw err;
    }
  }
}

async function webhookFlow(
  db: D1Database,
  row: ReportRow,
  msg: MatchMessage,
  cfg: Extract<ReportConfig, { kind: "webhook" }>,
  deps: ReportDeps,
): Promise<ReportRow> {
  const revealed = await revealedFiles(db, row.case_id);
  // The receiver dedupes by the idempotency key, so resending from `submitting` is safe.
  const body = JSON.stringify(webhookPayload(msg, revealed));
  await advance(db, row.case_id, ["pending", "rejected", "submitting"], "submitting", { xml: body });
  try {
    const id = await sendWebhookReport(cfg, row.case_id, body, deps);
    await advance(db, row.case_id, ["submitting"], "finished", { report_id: id, finished: true });
  } catch (e) {
    await advance(db, row.case_id, ["submitting"], "rejected", { last_error: String(e) });
    throw remoteError(e);
  }
  return reload(db, row.case_id);
}

/** The generic report document: the case as the platform's own pipeline needs it. */
export function webhookPayload(msg: MatchMessage, revealed: Set<number>) {
  return {
    type: "hashgate.report",
    v: 1,
    caseId: msg.caseId,
    at: msg.at,
    uploader: { ip: msg.request.ip, identity: msg.request.identity, userAgent: msg.request.userAgent },
    request: { host: msg.request.host, path: msg.request.path, method: msg.request.method },
    files: msg.files.map((f) => ({
      index: f.index,
      filename: f.filename,
      size: f.size,
      type: f.sniffedType,
      digests: f.digests,
      matches: f.matches.map((m) => ({ listId: m.listId, kind: m.kind, category: m.category ?? null })),
      viewedByReviewer: revealed.has(f.index),
      evidenceKey: f.evidenceKey,
    })),
  };
}

/** Withdraws an unfinished CyberTipline report (admin). */
export async function retractReport(
  env: Env,
  caseId: string,
  actor: string,
  deps: ReportDeps = {},
): Promise<void> {
  const cfg = reportConfig(env);
  const row = await getReport(env.DB, caseId);
  if (row?.kind !== "cybertip" || cfg.kind !== "cybertip")
    throw new ReportFlowError("not_found", "no CyberTip report");
  if (row.state === "finished")
    throw new ReportFlowError("finished", "a finished report cannot be retracted");
  if (row.state !== "submitted" || !row.report_id)
    throw new ReportFlowError("busy", `report is ${row.state}`);
  const client = new CyberTipClient({
    baseUrl: cfg.baseUrl,
    username: cfg.username,
    password: cfg.password,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  try {
    await client.retract(row.report_id);
  } catch (e) {
    if (!(e instanceof CyberTipError && e.code === 5101)) throw remoteError(e);
  }
  await advance(env.DB, caseId, ["submitted"], "retracted");
  await writeAudit(env.DB, {
    actor,
    action: AUDIT.retract,
    subject: `case:${caseId}`,
    detail: { reportId: row.report_id },
  });
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
  const row = await getReport(db, caseId);
  const pending = row?.state === "submitted" ? uncertainUpload(row) : null;
  if (row && pending !== null) {
    // An upload of unknown outcome: with the file id NCMEC has it counts as uploaded; without
    // one, the admin asserts nothing was stored and the file is uploaded again.
    const files = JSON.parse(row.files) as Record<string, FileProgress>;
    const p = files[pending]!;
    delete p.uploading;
    if (reportId) p.fileId = reportId; // here: the file id NCMEC has
    await saveFiles(db, caseId, files, null);
    await writeAudit(db, {
      actor,
      action: "report.resolve",
      subject: `case:${caseId}`,
      detail: { file: Number(pending), fileId: reportId },
    });
    return;
  }
  const ok = reportId
    ? await advance(db, caseId, ["submitting"], "submitted", { report_id: reportId })
    : await advance(db, caseId, ["submitting"], "rejected", { last_error: `resubmit allowed by ${actor}` });
  if (!ok) throw new ReportFlowError("busy", "report is not awaiting resolution");
  await writeAudit(db, { actor, action: "report.resolve", subject: `case:${caseId}`, detail: { reportId } });
}
