/**
 * The CyberTipline report flow, resumable and idempotent. The `reports` row (primary key: case
 * id) records how far it got: pending → submitting → submitted (report id; then per file
 * upload and fileinfo, saved after each step) → finished. A crash or error resumes from the
 * saved step. A submit whose outcome is unknown (network failure or crash after the request
 * left) stays `submitting` and is never resent automatically: an admin resolves it
 * (resolve.ts) with the report id from NCMEC or explicitly allows a resubmit.
 */

import { AUDIT, auditLog } from "../cases/audit.ts";
import type { MatchMessage } from "../cases/messages.ts";
import type { Env } from "../env.ts";
import { type ReportConfig, reportConfig } from "./config.ts";
import { CyberTipClient, CyberTipError } from "./cybertip-client.ts";
import type { ReportDeps } from "./deps.ts";
import { ReportFlowError, remoteError } from "./errors.ts";
import { type FileProgress, type ReportRow, reportStore } from "./store.ts";
import { validateFileInfoXml, validateReportXml } from "./validate.ts";
import { buildFileInfoXml, buildReportXml } from "./xml.ts";

type CyberTipConfig = Extract<ReportConfig, { kind: "cybertip" }>;

function cyberTipClient(cfg: CyberTipConfig, deps: ReportDeps): CyberTipClient {
  return new CyberTipClient({
    baseUrl: cfg.baseUrl,
    username: cfg.username,
    password: cfg.password,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
}

async function reload(db: D1Database, caseId: string): Promise<ReportRow> {
  return (await reportStore(db).get(caseId))!;
}

export async function cybertipFlow(
  env: Env,
  row: ReportRow,
  msg: MatchMessage,
  cfg: CyberTipConfig,
  deps: ReportDeps,
): Promise<ReportRow> {
  const db = env.DB;
  const caseId = row.case_id;
  const client = cyberTipClient(cfg, deps);
  if (row.state === "submitting") {
    throw new ReportFlowError(
      "uncertain",
      "an earlier submit may have reached NCMEC; an admin must resolve it",
    );
  }
  if (row.state === "pending" || row.state === "rejected") {
    const xml = buildReportXml(msg, cfg.reporter);
    validateReportXml(xml);
    if (!(await reportStore(db).advance(caseId, ["pending", "rejected"], "submitting", { xml }))) {
      throw new ReportFlowError("busy", "another report run is in progress");
    }
    let reportId: string;
    try {
      reportId = await client.submit(xml);
    } catch (e) {
      const err = e instanceof Error ? e.message : String(e);
      if (e instanceof CyberTipError && e.code !== -1) {
        await reportStore(db).advance(caseId, ["submitting"], "rejected", { last_error: err });
        throw new ReportFlowError("rejected", err, { cause: e });
      }
      await reportStore(db).setLastError(caseId, err);
      throw new ReportFlowError("uncertain", `submit outcome unknown: ${err}`, { cause: e });
    }
    await reportStore(db).advance(caseId, ["submitting"], "submitted", { report_id: reportId });
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
    await reportStore(db).advance(caseId, ["submitted"], "finished", { finished: true });
  }
  return reload(db, caseId);
}

/** Uploads each matched file and sends its fileinfo, saving progress after every step. */
async function sendFiles(env: Env, row: ReportRow, msg: MatchMessage, client: CyberTipClient): Promise<void> {
  const db = env.DB;
  const files = JSON.parse(row.files) as Record<string, FileProgress>;
  const revealed = await auditLog(db).revealedFiles(row.case_id);
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
        await reportStore(db).saveFiles(row.case_id, files, null);
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
        await reportStore(db).saveFiles(row.case_id, files, null);
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
        await reportStore(db).saveFiles(row.case_id, files, null);
      }
    } catch (e) {
      const err = remoteError(e);
      await reportStore(db).saveFiles(row.case_id, files, err.message);
      throw err;
    }
  }
}

/** Withdraws an unfinished CyberTipline report (admin). */
export async function retractReport(
  env: Env,
  caseId: string,
  actor: string,
  deps: ReportDeps = {},
): Promise<void> {
  const cfg = reportConfig(env);
  const row = await reportStore(env.DB).get(caseId);
  if (row?.kind !== "cybertip" || cfg.kind !== "cybertip")
    throw new ReportFlowError("not_found", "no CyberTip report");
  if (row.state === "finished")
    throw new ReportFlowError("finished", "a finished report cannot be retracted");
  if (row.state !== "submitted" || !row.report_id)
    throw new ReportFlowError("busy", `report is ${row.state}`);
  const client = cyberTipClient(cfg, deps);
  try {
    await client.retract(row.report_id);
  } catch (e) {
    if (!(e instanceof CyberTipError && e.code === 5101)) throw remoteError(e);
  }
  await reportStore(env.DB).advance(caseId, ["submitted"], "retracted");
  await auditLog(env.DB).write({
    actor,
    action: AUDIT.retract,
    subject: `case:${caseId}`,
    detail: { reportId: row.report_id },
  });
}
