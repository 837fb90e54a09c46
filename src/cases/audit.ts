/** Rows for D1's shared `audit_log` table (schema in migrations/0001_init.sql). */
export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  detail?: Record<string, unknown>;
}

/** A prepared insert, so callers can put it in the same D1 batch as the change it records. */
export function auditStatement(
  db: D1Database,
  e: AuditEntry,
  at = new Date().toISOString(),
): D1PreparedStatement {
  return db
    .prepare("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)")
    .bind(at, e.actor, e.action, e.subject, JSON.stringify(e.detail ?? {}));
}

export async function writeAudit(db: D1Database, e: AuditEntry): Promise<void> {
  await auditStatement(db, e).run();
}

/** Audit action names written by review and reporting (others are written by src/admin). */
export const AUDIT = {
  transition: "case.transition",
  reveal: "evidence.reveal",
  allowList: "allowlist.add",
  settings: "reviewer.settings",
  report: "report.submit",
  retract: "report.retract",
  purge: "retention.purge",
  appeal: "case.appeal",
} as const;

/** The audit subject of evidence file `n` of a case: what fileViewedByEsp is decided from. */
export function fileSubject(caseId: string, n: number): string {
  return `case:${caseId}/file-${n}`;
}

/** Files of a case a reviewer revealed (distinct indexes), from the audit log. */
export async function revealedFiles(db: D1Database, caseId: string): Promise<Set<number>> {
  const rows = await db
    .prepare(
      "SELECT DISTINCT subject FROM audit_log WHERE action = ?1 AND substr(subject, 1, length(?2)) = ?2",
    )
    .bind(AUDIT.reveal, `case:${caseId}/file-`)
    .all<{ subject: string }>();
  const out = new Set<number>();
  for (const r of rows.results) {
    const n = Number(r.subject.slice(r.subject.lastIndexOf("-") + 1));
    if (Number.isInteger(n)) out.add(n);
  }
  return out;
}
