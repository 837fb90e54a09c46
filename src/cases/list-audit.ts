/** Audit rows for list changes, in D1's shared `audit_log` table (migrations/0001_init.sql). */

export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  detail?: Record<string, unknown>;
}

export async function auditListChange(db: D1Database, e: AuditEntry, now = new Date()): Promise<void> {
  await db
    .prepare("INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)")
    .bind(now.toISOString(), e.actor, e.action, e.subject, JSON.stringify(e.detail ?? {}))
    .run();
}
