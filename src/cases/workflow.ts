/**
 * Case workflow: new → in_review → confirmed | dismissed → reported; appealed reopens.
 * Every transition is one D1 batch (a transaction): the guarded status update, the
 * `case_events` row and the `audit_log` row, the latter two only if the update applied
 * (`changes() = 1`), so a lost race records nothing and answers a conflict.
 */
import { AppError } from "../errors.ts";
import { AUDIT, auditLog } from "./audit.ts";

export const CASE_STATUSES = ["new", "in_review", "confirmed", "dismissed", "reported", "appealed"] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export function isCaseStatus(s: string): s is CaseStatus {
  return (CASE_STATUSES as readonly string[]).includes(s);
}

export type CaseAction = "start" | "confirm" | "dismiss" | "escalate" | "report" | "appeal";

/** Which states each action may leave from. */
const FROM: Record<CaseAction, readonly CaseStatus[]> = {
  start: ["new"],
  confirm: ["new", "in_review", "appealed"],
  dismiss: ["new", "in_review", "appealed"],
  escalate: ["new", "in_review", "appealed"],
  report: ["confirmed"],
  appeal: ["new", "in_review", "confirmed", "dismissed", "reported"],
};

export type WorkflowErrorCode = "not_found" | "conflict" | "purged" | "bad_request";

export class WorkflowError extends AppError {
  declare readonly code: WorkflowErrorCode;
  constructor(code: WorkflowErrorCode, message: string) {
    super(code, message);
    this.name = "WorkflowError";
  }
}

export interface TransitionRequest {
  caseId: string;
  action: CaseAction;
  actor: string;
  reason: string;
}

export interface TransitionResult {
  caseId: string;
  from: CaseStatus;
  to: CaseStatus;
}

interface CaseState {
  status: CaseStatus;
  purged_at: string | null;
  reported: number;
}

async function readState(db: D1Database, caseId: string): Promise<CaseState> {
  const row = await db
    .prepare(
      `SELECT status, purged_at,
         EXISTS (SELECT 1 FROM reports r WHERE r.case_id = cases.id AND r.state = 'finished') AS reported
       FROM cases WHERE id = ?1`,
    )
    .bind(caseId)
    .first<CaseState>();
  if (!row) throw new WorkflowError("not_found", "no such case");
  return row;
}

/** The state an action leads to from `from`. */
function target(action: CaseAction, from: CaseStatus, alreadyReported: boolean): CaseStatus {
  switch (action) {
    case "start":
      return "in_review";
    case "confirm":
      // Upholding an appeal of a case already reported puts it back where it was.
      return alreadyReported ? "reported" : "confirmed";
    case "dismiss":
      return "dismissed";
    case "escalate":
      return from === "new" ? "in_review" : from;
    case "report":
      return "reported";
    case "appeal":
      return "appealed";
  }
}

/**
 * Statements that apply a transition if the case is still in `from`. `extra` statements run
 * in the same transaction only when the transition applied.
 */
export function transitionStatements(
  db: D1Database,
  req: TransitionRequest,
  from: CaseStatus,
  to: CaseStatus,
  at: string,
): D1PreparedStatement[] {
  const decides = req.action === "confirm" || req.action === "dismiss";
  return [
    db
      .prepare(
        `UPDATE cases SET status = ?1, updated_at = ?2,
           decided_at = CASE WHEN ?3 THEN ?2 ELSE decided_at END,
           decided_by = CASE WHEN ?3 THEN ?4 ELSE decided_by END,
           escalated = CASE WHEN ?5 THEN 1 ELSE escalated END
         WHERE id = ?6 AND status = ?7 AND purged_at IS NULL`,
      )
      .bind(to, at, decides ? 1 : 0, req.actor, req.action === "escalate" ? 1 : 0, req.caseId, from),
    db
      .prepare(
        `INSERT INTO case_events (case_id, at, actor, action, from_status, to_status, reason)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE changes() = 1`,
      )
      .bind(req.caseId, at, req.actor, req.action, from, to, req.reason),
    auditLog(db).insert(
      {
        actor: req.actor,
        action: AUDIT.transition,
        subject: `case:${req.caseId}`,
        detail: { action: req.action, from, to, reason: req.reason },
      },
      { at, ifChanged: true },
    ),
  ];
}

/** Applies one transition; `extra` are statements to run in the same batch after it. */
export async function transition(
  db: D1Database,
  req: TransitionRequest,
  extra: (from: CaseStatus, to: CaseStatus, at: string) => D1PreparedStatement[] = () => [],
): Promise<TransitionResult> {
  if (req.reason.length > 2000) throw new WorkflowError("bad_request", "reason too long");
  const state = await readState(db, req.caseId);
  if (state.purged_at) throw new WorkflowError("purged", "case data was purged under the retention policy");
  if (!FROM[req.action].includes(state.status)) {
    throw new WorkflowError("conflict", `cannot ${req.action} a case that is ${state.status}`);
  }
  const from = state.status;
  const to = target(req.action, from, state.reported === 1);
  const at = new Date().toISOString();
  const results = await db.batch([...transitionStatements(db, req, from, to, at), ...extra(from, to, at)]);
  if ((results[0]?.meta.changes ?? 0) !== 1) {
    throw new WorkflowError("conflict", "the case changed meanwhile; reload");
  }
  return { caseId: req.caseId, from, to };
}

/** Records the outcome of the open appeal of a case (run in the decision's batch). */
export function appealOutcomeStatement(
  db: D1Database,
  caseId: string,
  outcome: "upheld" | "overturned",
  by: string,
  at: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE appeals SET outcome = ?1, decided_at = ?2, decided_by = ?3
       WHERE case_id = ?4 AND outcome IS NULL AND EXISTS
         (SELECT 1 FROM case_events WHERE case_id = ?4 AND at = ?2 AND actor = ?3)`,
    )
    .bind(outcome, at, by, caseId);
}

/** Files an appeal: reopens the case. An appeal on an already appealed case is recorded once. */
export async function fileAppeal(
  db: D1Database,
  caseId: string,
  actor: string,
  complaint: string,
): Promise<{ appealId: number; status: CaseStatus; reopened: boolean }> {
  const state = await readState(db, caseId);
  if (state.status === "appealed") {
    const open = await db
      .prepare("SELECT id FROM appeals WHERE case_id = ?1 AND outcome IS NULL ORDER BY id DESC LIMIT 1")
      .bind(caseId)
      .first<{ id: number }>();
    if (open) return { appealId: open.id, status: "appealed", reopened: false };
  }
  const res = await transition(
    db,
    { caseId, action: "appeal", actor, reason: complaint.slice(0, 2000) },
    (from, _to, at) => [
      db
        .prepare(
          `INSERT INTO appeals (case_id, at, actor, complaint, previous_status)
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS
           (SELECT 1 FROM case_events WHERE case_id = ?1 AND at = ?2 AND action = 'appeal')`,
        )
        .bind(caseId, at, actor, complaint, from),
    ],
  );
  const row = await db
    .prepare("SELECT id FROM appeals WHERE case_id = ?1 ORDER BY id DESC LIMIT 1")
    .bind(caseId)
    .first<{ id: number }>();
  return { appealId: row?.id ?? 0, status: res.to, reopened: true };
}
