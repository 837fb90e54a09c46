import type { RequestInfo } from "../cases/messages.ts";
import type { GateConfig } from "./config.ts";

/** Longest header value copied into a case: keeps messages small whatever a client sends. */
const MAX_VALUE = 512;

/** What the case needs to know of the request: who uploaded, from where, to which path. */
export function requestInfo(request: Request, cfg: GateConfig): RequestInfo {
  const url = new URL(request.url);
  const identity: Record<string, string> = {};
  for (const h of cfg.identityHeaders) {
    const v = request.headers.get(h);
    if (v !== null) identity[h] = v.slice(0, MAX_VALUE);
  }
  const len = request.headers.get("content-length");
  const encoding = request.headers.get("content-encoding");
  return {
    method: request.method,
    host: url.host,
    path: url.pathname.slice(0, 2048),
    query: url.search.slice(0, 2048),
    ip: request.headers.get("cf-connecting-ip"),
    userAgent: request.headers.get("user-agent")?.slice(0, MAX_VALUE) ?? null,
    identity,
    contentType: request.headers.get("content-type")?.slice(0, MAX_VALUE) ?? null,
    contentLength: len !== null && /^\d+$/.test(len) ? Number(len) : null,
    ...(encoding !== null ? { contentEncoding: encoding.slice(0, MAX_VALUE) } : {}),
  };
}
