/**
 * The one application error. An AppError has a `code`; the code alone decides the HTTP status
 * (HTTP_STATUS, the one table); `publicMessage` is what the client reads and `message` (the
 * detail) goes to the logs only. The wire body is generic JSON (`{ error, message }`) and never
 * names a list or a hash. Domain errors (ListError, WorkflowError, ReportFlowError, …) extend
 * it. Like Hono's HTTPException it answers for itself (`getResponse`), so Hono's default error
 * handler and the Worker's one `onError` (src/index.ts) both render it.
 */

const HTTP_STATUS = {
  // the gate
  bad_request: 400,
  malformed_multipart: 400,
  length_mismatch: 400,
  body_too_large: 413,
  scan_unavailable: 503,
  origin_unreachable: 502,
  config_invalid: 500,
  // hash lists (admin API; the CLI maps them to exit codes)
  invalid: 400,
  "not-found": 404,
  exists: 409,
  conflict: 409,
  // cases and the review API
  not_found: 404,
  forbidden: 403,
  gone: 410,
  purged: 410,
  reason_required: 400,
  // reporting
  not_confirmed: 409,
  uncertain: 409,
  busy: 409,
  rejected: 422,
  remote: 502,
  evidence_missing: 410,
  md5_mismatch: 502,
  retracted: 409,
  finished: 409,
  report_invalid: 422,
  not_configured: 503,
  // anything unexpected
  unavailable: 503,
} as const;

export type AppErrorCode = keyof typeof HTTP_STATUS;
export type AppErrorStatus = (typeof HTTP_STATUS)[AppErrorCode];

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 30;

export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly status: AppErrorStatus;
  /** Said to the client; `message` (for logs) may carry more detail. */
  readonly publicMessage: string;
  constructor(code: AppErrorCode, publicMessage: string, detail?: string, options?: { cause?: unknown }) {
    super(detail ?? publicMessage, options);
    this.name = "AppError";
    this.code = code;
    this.status = HTTP_STATUS[code];
    this.publicMessage = publicMessage;
  }

  /** The JSON error response (with Retry-After on a 503). */
  getResponse(): Response {
    const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
    if (this.status === 503) headers["retry-after"] = String(RETRY_AFTER_SECONDS);
    return new Response(JSON.stringify({ error: this.code, message: this.publicMessage }), {
      status: this.status,
      headers,
    });
  }
}

/** What an error that is not an AppError is answered with (its detail goes to the logs). */
export function unexpectedError(): AppError {
  return new AppError("unavailable", "temporarily unavailable, retry later");
}

/** A binding (KV, R2, Queue, D1) failed while scanning: the upload cannot be judged. */
export class ScanInfrastructureError extends Error {
  readonly binding: string;
  constructor(binding: string, cause: unknown) {
    super(`${binding} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ScanInfrastructureError";
    this.binding = binding;
  }
}

/** The JSON error response of an AppError. */
export function errorResponse(err: AppError): Response {
  return err.getResponse();
}

/** Runs `fn`, turning any failure into a ScanInfrastructureError tagged with the binding name. */
export async function viaBinding<T>(binding: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof AppError || e instanceof ScanInfrastructureError) throw e;
    throw new ScanInfrastructureError(binding, e);
  }
}
