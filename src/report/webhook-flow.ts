/**
 * The webhook report flow: the case as a JSON document, sent to the platform's own pipeline
 * (webhook.ts sends it). Resending from `submitting` is safe: the receiver dedupes on the case id.
 */
import { auditLog } from "../cases/audit.ts";
import type { MatchMessage } from "../cases/messages.ts";
import type { ReportConfig } from "./config.ts";
import type { ReportDeps } from "./deps.ts";
import { remoteError } from "./errors.ts";
import { type ReportRow, reportStore } from "./store.ts";
import { sendWebhookReport } from "./webhook.ts";

export async function webhookFlow(
  db: D1Database,
  row: ReportRow,
  msg: MatchMessage,
  cfg: Extract<ReportConfig, { kind: "webhook" }>,
  deps: ReportDeps,
): Promise<ReportRow> {
  const revealed = await auditLog(db).revealedFiles(row.case_id);
  // The receiver dedupes by the idempotency key, so resending from `submitting` is safe.
  const body = JSON.stringify(webhookPayload(msg, revealed));
  await reportStore(db).advance(row.case_id, ["pending", "rejected", "submitting"], "submitting", {
    xml: body,
  });
  try {
    const id = await sendWebhookReport(cfg, row.case_id, body, deps);
    await reportStore(db).advance(row.case_id, ["submitting"], "finished", { report_id: id, finished: true });
  } catch (e) {
    await reportStore(db).advance(row.case_id, ["submitting"], "rejected", { last_error: String(e) });
    throw remoteError(e);
  }
  return (await reportStore(db).get(row.case_id))!;
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
