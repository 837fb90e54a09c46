/**
 * What a report would say, before anything is sent: the reviewer sees the fields and the exact
 * XML (CyberTipline) or the destination (webhook) and confirms explicitly. Building the preview
 * has no side effect: no `reports` row, no request to NCMEC.
 */
import { auditLog } from "../cases/audit.ts";
import { caseStore } from "../cases/case-store.ts";
import type { MatchMessage } from "../cases/messages.ts";
import type { Env } from "../env.ts";
import { reportConfig } from "./config.ts";
import { ReportFlowError } from "./errors.ts";
import { reportStore } from "./store.ts";
import { validateReportXml } from "./validate.ts";
import { buildFileInfoXml, buildReportXml, INCIDENT_TYPES, industryClassification } from "./xml.ts";

export interface ReportPreview {
  caseId: string;
  kind: "cybertip" | "webhook";
  /** The report row's state if a run already started (then submitting resumes it). */
  state: string | null;
  fields: { label: string; value: string }[];
  files: {
    index: number;
    filename: string | null;
    sha256: string | null;
    industryClassification: string | null;
    viewedByEsp: boolean;
    fileInfoXml: string | null;
  }[];
  xml: string | null;
  destination: string;
}

export async function previewReport(env: Env, caseId: string): Promise<ReportPreview> {
  const cfg = reportConfig(env);
  const row = await caseStore(env.DB).getRow(caseId);
  if (!row || row.purged_at) throw new ReportFlowError("not_found", "no such case");
  const existing = await reportStore(env.DB).get(caseId);
  if (!existing && row.status !== "confirmed")
    throw new ReportFlowError("not_confirmed", "only a confirmed case can be reported");
  const msg = JSON.parse(row.message) as MatchMessage;
  const revealed = await auditLog(env.DB).revealedFiles(caseId);
  const ids = Object.entries(msg.request.identity);
  const fields = [
    { label: "Incident type", value: INCIDENT_TYPES[0] },
    { label: "Incident time", value: msg.at },
    { label: "URL", value: `https://${msg.request.host}${msg.request.path}` },
    { label: "Uploader IP", value: msg.request.ip ?? "unknown" },
    { label: "Uploader account", value: ids.map(([k, v]) => `${k}: ${v}`).join(", ") || "none" },
    { label: "Files", value: String(msg.files.length) },
  ];
  const files = msg.files.map((f) => ({
    index: f.index,
    filename: f.filename ?? null,
    sha256: f.digests.sha256 ?? null,
    industryClassification: industryClassification(f),
    viewedByEsp: revealed.has(f.index),
    fileInfoXml:
      cfg.kind === "cybertip"
        ? buildFileInfoXml("(assigned by NCMEC)", "(assigned by NCMEC)", f, msg, revealed.has(f.index))
        : null,
  }));
  if (cfg.kind === "webhook") {
    return {
      caseId,
      kind: "webhook",
      state: existing?.state ?? null,
      fields,
      files,
      xml: null,
      destination: cfg.url,
    };
  }
  fields.push({
    label: "Reporter",
    value: [cfg.reporter.firstName, cfg.reporter.lastName, `<${cfg.reporter.email}>`]
      .filter(Boolean)
      .join(" "),
  });
  const xml = buildReportXml(msg, cfg.reporter);
  validateReportXml(xml);
  return {
    caseId,
    kind: "cybertip",
    state: existing?.state ?? null,
    fields,
    files,
    xml,
    destination: cfg.baseUrl,
  };
}
