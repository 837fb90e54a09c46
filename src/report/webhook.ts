/**
 * Generic webhook reporter: POSTs the case as JSON to the platform's own pipeline. The case id
 * is the idempotency key (the receiver must dedupe on it); an optional HMAC-SHA256 signature of
 * the body lets the receiver check the sender.
 */
import { toHex } from "../bytes.ts";
import type { ReportDeps } from "./deps.ts";

const ATTEMPTS = 3;
const BACKOFF_MS = 500;

export class WebhookReportError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "WebhookReportError";
    this.status = status;
  }
}

export async function hmacHex(secret: string, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(body)));
  return toHex(sig);
}

/** Sends the report; returns the receiver's id for it (JSON `id`) or the case id. */
export async function sendWebhookReport(
  cfg: { url: string; secret: string | null },
  caseId: string,
  body: string,
  deps: ReportDeps,
): Promise<string> {
  const doFetch = deps.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const headers: Record<string, string> = { "content-type": "application/json", "idempotency-key": caseId };
  if (cfg.secret) headers["x-hashgate-signature"] = `sha256=${await hmacHex(cfg.secret, body)}`;
  for (let attempt = 1; ; attempt++) {
    let status = -1;
    let detail = "";
    try {
      const res = await doFetch(cfg.url, { method: "POST", headers, body });
      status = res.status;
      const text = await res.text();
      if (res.ok) {
        try {
          const id = (JSON.parse(text) as { id?: unknown }).id;
          return typeof id === "string" || typeof id === "number" ? String(id) : caseId;
        } catch {
          return caseId;
        }
      }
      detail = `HTTP ${status}`;
    } catch (e) {
      detail = e instanceof Error ? e.message : String(e);
    }
    // Client errors will fail again; only network and server errors are retried.
    const retryable = status === -1 || status >= 500 || status === 429;
    if (!retryable || attempt >= ATTEMPTS)
      throw new WebhookReportError(status, `report webhook failed: ${detail}`);
    await sleep(BACKOFF_MS * 2 ** (attempt - 1));
  }
}
