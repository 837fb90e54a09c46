/**
 * Statements of several stores applied together: one D1 batch, which D1 runs as a transaction
 * (all apply or none). Stores hand out statements for this — a transition and its event
 * (CaseStore), its audit row (AuditLog), the allow-list entries of a dismissal (AllowListStore)
 * — and this is the one place outside the stores that runs them as a batch.
 */
export function applyTogether(db: D1Database, statements: D1PreparedStatement[]): Promise<D1Result[]> {
  return db.batch(statements);
}
