/** The report flows' one error: a code the review API maps to HTTP, and the message. */
import { AppError } from "../errors.ts";

export type ReportFlowErrorCode =
  | "not_found"
  | "not_confirmed"
  | "uncertain"
  | "busy"
  | "rejected"
  | "remote"
  | "evidence_missing"
  | "md5_mismatch"
  | "retracted"
  | "finished";

export class ReportFlowError extends AppError {
  declare readonly code: ReportFlowErrorCode;
  constructor(code: ReportFlowErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, undefined, options);
    this.name = "ReportFlowError";
  }
}

/** Any error of a remote step as a ReportFlowError (`remote` unless it already is one). */
export function remoteError(e: unknown): ReportFlowError {
  if (e instanceof ReportFlowError) return e;
  return new ReportFlowError("remote", e instanceof Error ? e.message : String(e), { cause: e });
}
