/** Errors of the review app and their one mapping to HTTP (generic body; detail to logs). */
import { AuthConfigError } from "../auth/roles.ts";
import { WorkflowError } from "../cases/workflow.ts";
import { ReportConfigError } from "../report/config.ts";
import { ReportFlowError } from "../report/errors.ts";
import { ReportValidationError } from "../report/validate.ts";
import { QueryError } from "./query.ts";

export class ApiError extends Error {
  readonly status: 400 | 403 | 404 | 409 | 410 | 422 | 502 | 503;
  readonly code: string;
  constructor(status: ApiError["status"], code: string, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

const WORKFLOW_STATUS = { not_found: 404, conflict: 409, purged: 410, bad_request: 400 } as const;
const REPORT_STATUS: Record<ReportFlowError["code"], ApiError["status"]> = {
  not_found: 404,
  not_confirmed: 409,
  uncertain: 409,
  busy: 409,
  rejected: 422,
  remote: 502,
  evidence_missing: 410,
  md5_mismatch: 502,
  retracted: 409,
  finished: 409,
};

/** Maps any error thrown in the review app to an ApiError (unknown errors to a generic 503). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof WorkflowError) return new ApiError(WORKFLOW_STATUS[e.code], e.code, e.message);
  if (e instanceof QueryError) return new ApiError(400, "bad_request", e.message);
  if (e instanceof ReportFlowError) return new ApiError(REPORT_STATUS[e.code], e.code, e.message);
  if (e instanceof ReportValidationError) return new ApiError(422, "report_invalid", e.message);
  if (e instanceof ReportConfigError || e instanceof AuthConfigError) {
    return new ApiError(503, "not_configured", "reporting or auth is not configured; see docs/review.md");
  }
  console.error("hashgate review: unexpected error", e);
  return new ApiError(503, "unavailable", "temporarily unavailable, retry later");
}
