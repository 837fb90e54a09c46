/**
 * Errors the gate answers with. Each has a stable `code` and an HTTP status; the wire body is
 * generic JSON (`{ error, message }`) and never names a list or a hash. Details go to logs.
 */
export type GateErrorCode =
  | "bad_request"
  | "malformed_multipart"
  | "length_mismatch"
  | "body_too_large"
  | "unsupported_encoding"
  | "corrupt_encoding"
  | "decoded_too_large"
  | "malformed_json"
  | "too_many_files"
  | "scan_unavailable"
  | "origin_unreachable"
  | "config_invalid";

const STATUS: Record<GateErrorCode, number> = {
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
};

export class GateError extends Error {
  readonly code: GateErrorCode;
  readonly status: number;
  /** Said to the client; `message` (for logs) may carry more detail. */
  readonly publicMessage: string;
  constructor(code: GateErrorCode, publicMessage: string, detail?: string, options?: { cause?: unknown }) {
    super(detail ?? publicMessage, options);
    this.name = "GateError";
    this.code = code;
    this.status = STATUS[code];
    this.publicMessage = publicMessage;
  }
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

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 30;

/** The JSON error response for a GateError. */
export function errorResponse(err: GateError): Response {
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  if (err.status === 503) headers["retry-after"] = String(RETRY_AFTER_SECONDS);
  return new Response(JSON.stringify({ error: err.code, message: err.publicMessage }), {
    status: err.status,
    headers,
  });
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
    if (e instanceof GateError || e instanceof ScanInfrastructureError) throw e;
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
