/**
 * Export of cases and of their audit log as CSV or JSON, filtered like the queue. Cases need
 * the reviewer role (they carry uploaders' IPs and accounts); the audit log, which shows every
 * reviewer's reveals and reasons, the admin role. Every export is itself audited. CSV cells
 * that a spreadsheet would run as a formula (= + - @, tab, CR) are prefixed with a quote.
 */
import { Hono } from "hono";
import { requireRole } from "../auth/middleware.ts";
import { auditLog } from "../cases/audit.ts";
import { caseStore } from "../cases/case-store.ts";
import { type CaseSummary, EXPORT_CAP, MAX_PAGE } from "../cases/store.ts";
import { parseCaseQuery } from "./query.ts";
import type { ReviewBindings } from "./types.ts";

/** One CSV cell: formula-looking text defused, then quoted. */
export function csvCell(v: unknown): string {
  let s = v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

export function toCsv(header: string[], rows: unknown[][]): string {
  return `${[header, ...rows].map((r) => r.map(csvCell).join(",")).join("\r\n")}\r\n`;
}

const CASE_COLUMNS = [
  "id",
  "createdAt",
  "updatedAt",
  "status",
  "escalated",
  "verdict",
  "listIds",
  "kinds",
  "fileCount",
  "uploaderIp",
  "account",
  "claimedBy",
  "purged",
] as const;

function download(body: string, type: string, name: string): Response {
  return new Response(body, {
    headers: { "content-type": type, "content-disposition": `attachment; filename="${name}"` },
  });
}

export function createExport() {
  const r = new Hono<ReviewBindings>();

  for (const fmt of ["csv", "json"] as const) {
    r.get(`/cases.${fmt}`, requireRole("reviewer"), async (c) => {
      const q = parseCaseQuery(new URL(c.req.url).searchParams);
      const cases: CaseSummary[] = [];
      for (let offset = 0; offset < EXPORT_CAP; offset += MAX_PAGE) {
        const page = await caseStore(c.env.DB).list({ ...q, limit: MAX_PAGE, offset });
        cases.push(...page.cases);
        if (page.cases.length < MAX_PAGE) break;
      }
      await audit(c.env.DB, c.var.principal.id, "cases", fmt, c.req.url, cases.length);
      const stamp = new Date().toISOString().slice(0, 10);
      if (fmt === "json")
        return download(JSON.stringify({ cases }, null, 1), "application/json", `cases-${stamp}.json`);
      // The account as its values (the header names are the operator's IDENTITY_HEADERS).
      const cell = (k: CaseSummary, col: (typeof CASE_COLUMNS)[number]) =>
        col === "account" ? Object.values(k.account).join("; ") : k[col];
      const rows = cases.map((k) => CASE_COLUMNS.map((col) => cell(k, col)));
      return download(toCsv([...CASE_COLUMNS], rows), "text/csv; charset=utf-8", `cases-${stamp}.csv`);
    });

    r.get(`/audit.${fmt}`, requireRole("admin"), async (c) => {
      const q = parseCaseQuery(new URL(c.req.url).searchParams);
      const rows = await caseStore(c.env.DB).auditTrail(q);
      await audit(c.env.DB, c.var.principal.id, "audit", fmt, c.req.url, rows.length);
      const stamp = new Date().toISOString().slice(0, 10);
      if (fmt === "json") {
        const audit = rows.map((a) => ({ ...a, detail: JSON.parse(a.detail) as unknown }));
        return download(JSON.stringify({ audit }, null, 1), "application/json", `audit-${stamp}.json`);
      }
      const cols = ["id", "at", "actor", "action", "subject", "detail"] as const;
      return download(
        toCsv(
          [...cols],
          rows.map((a) => cols.map((k) => a[k])),
        ),
        "text/csv; charset=utf-8",
        `audit-${stamp}.csv`,
      );
    });
  }
  return r;
}

/** Audit action of an export. */
const AUDIT_EXPORT = "review.export";

async function audit(db: D1Database, actor: string, what: string, fmt: string, url: string, rows: number) {
  await auditLog(db).write({
    actor,
    action: AUDIT_EXPORT,
    subject: `export:${what}`,
    detail: { format: fmt, query: new URL(url).search, rows },
  });
}
