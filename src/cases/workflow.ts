/**
 * Case workflow: new → in_review → confirmed | dismissed → reported; appealed reopens.
 * Every transition is one D1 batch (a transaction): the guarded status update, the
 * `case_events` row and the `audit_log` row, the latter two only if the update applied
 * (`changes() = 1`), so a lost race records nothing and answers a conflict.
 */
import { AppError } from "../errors.ts";
import { AUDIT, auditLog } from "./audit.ts";
import { type CaseState, caseStore } from "./case-store.ts";
import type { CaseStatus } from "./status.ts";
import { applyTogether } from "./transaction.ts";

export { CASE_STATUSES, type CaseStatus, isCaseStatus } from "./status.ts";

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

async function readState(db: D1Database, caseId: string): Promise<CaseState> {
  const row = await caseStore(db).getState(caseId);
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
    ...caseStore(db).transition({
      caseId: req.caseId,
      actor: req.actor,
      action: req.action,
      reason: req.reason,
      from,
      to,
      at,
      decides,
      escalates: req.action === "escalate",
    }),
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
  const results = await applyTogether(db, [
    ...transitionStatements(db, req, from, to, at),
    ...extra(from, to, at),
  ]);
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
  return caseStore(db).appealOutcome(caseId, outcome, by, at);
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
    const open = await caseStore(db).openAppealId(caseId);
    if (open !== null) return { appealId: open, status: "appealed", reopened: false };
  }
  const res = await transition(
    db,
    { caseId, action: "appeal", actor, reason: complaint.slice(0, 2000) },
    (from, _to, at) => [caseStore(db).insertAppeal(caseId, at, actor, complaint, from)],
  );
  const latest = await caseStore(db).latestAppealId(caseId);
  return { appealId: latest ?? 0, status: res.to, reopened: true };
}
