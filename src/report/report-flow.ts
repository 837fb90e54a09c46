/**
 * Reporting a confirmed case (or resuming an unfinished report): starts or reloads the
 * `reports` row, runs the configured flow (cybertip-flow.ts or webhook-flow.ts), audits it and
 * moves the case to `reported`. Admins retract (cybertip-flow.ts) and resolve (resolve.ts).
 */

import { AUDIT, auditLog } from "../cases/audit.ts";
import { caseStore } from "../cases/case-store.ts";
import type { MatchMessage } from "../cases/messages.ts";
import { transition } from "../cases/workflow.ts";
import type { Env } from "../env.ts";
import { reportConfig } from "./config.ts";
import { cybertipFlow } from "./cybertip-flow.ts";
import type { ReportDeps } from "./deps.ts";
import { ReportFlowError } from "./errors.ts";
import { type ReportRow, reportStore } from "./store.ts";
import { webhookFlow } from "./webhook-flow.ts";

export interface ReportOutcome {
  kind: ReportRow["kind"];
  state: ReportRow["state"];
  reportId: string | null;
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
  const cases = caseStore(db);
  const c = await cases.getRow(caseId);
  if (!c || c.purged_at) throw new ReportFlowError("not_found", "no such case");
  let row = await reportStore(db).get(caseId);
  if (!row) {
    if (c.status !== "confirmed")
      throw new ReportFlowError("not_confirmed", "only a confirmed case can be reported");
    await reportStore(db).create(caseId, cfg.kind, actor);
    row = (await reportStore(db).get(caseId))!;
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
    await auditLog(db).write({
      actor,
      action: AUDIT.report,
      subject: `case:${caseId}`,
      detail: { kind: row.kind, reportId: row.report_id },
    });
  }
  // The report exists: the case is reported (again idempotent if an earlier run got here).
  const now = await cases.getRow(caseId);
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
