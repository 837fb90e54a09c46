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
  unsupported_encoding: 415,
  corrupt_encoding: 400,
  decoded_too_large: 413,
  malformed_json: 400,
  too_many_files: 413,
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
  empty: 404,
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
  /**
   * The runtime's per-invocation limit (subrequests, API calls) was hit: not an outage but a
   * request built to exhaust the budget, so FAIL_MODE=open must not forward it.
   */
  readonly limit: boolean;
  constructor(binding: string, cause: unknown) {
    super(`${binding} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ScanInfrastructureError";
    this.binding = binding;
    this.limit = isLimitError(cause);
  }
}

/** A binding call that did not answer within its time: it follows FAIL_MODE like a failure. */
export class BindingTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = "BindingTimeoutError";
  }
}

/** workerd's messages for the per-invocation budgets ("Too many subrequests.", "Too many API requests by single Worker invocation."). */
const LIMIT_MESSAGE = /too many (subrequests|api requests)|subrequest limit|exceeded.*(limit|budget)/i;

/** True for an error raised by a per-invocation limit of the runtime. */
export function isLimitError(e: unknown): boolean {
  if (e instanceof ScanInfrastructureError) return e.limit;
  return e instanceof Error && LIMIT_MESSAGE.test(e.message);
}

/** The JSON error response of an AppError. */
export function errorResponse(err: AppError): Response {
  return err.getResponse();
}

/**
 * Runs `fn`, turning any failure into a ScanInfrastructureError tagged with the binding name.
 * With `timeoutMs`, a call still unanswered then fails the same way (BindingTimeoutError as
 * cause): a slow binding must not hold an upload, and its memory, until the client gives up.
 * The call itself is not cancelled (bindings take no signal); its late result is ignored.
 */
export async function viaBinding<T>(binding: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
  try {
    return timeoutMs === undefined ? await fn() : await withTimeout(fn(), timeoutMs);
  } catch (e) {
    if (e instanceof AppError || e instanceof ScanInfrastructureError) throw e;
    throw new ScanInfrastructureError(binding, e);
  }
}

/** `p`, or a BindingTimeoutError after `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BindingTimeoutError(ms)), ms);
  });
  p.catch(() => undefined);
  return Promise.race([p, expired]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}
