/**
 * Forwarding to the origin. Only ever to the configured origin (or, with none configured,
 * the request's own URL, which on a Worker route is the zone's origin): the Host header and
 * any absolute URL in the request line cannot redirect it.
 */

import { AppError } from "../errors.ts";
import type { GateConfig } from "./config.ts";

/** Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; everything else is. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

/** The origin URL for a request: origin base + the request's path and query. */
export function originTarget(requestUrl: string, cfg: GateConfig): URL {
  const url = new URL(requestUrl);
  if (!cfg.originUrl) return url;
  const base = cfg.originUrl;
  const target = new URL(base.href);
  target.pathname = base.pathname.replace(/\/+$/, "") + url.pathname;
  target.search = url.search;
  return target;
}

export function forwardHeaders(headers: Headers): Headers {
  const out = new Headers();
  const named = (headers.get("connection") ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const [k, v] of headers) {
    if (HOP_BY_HOP.has(k) || named.includes(k)) continue;
    out.append(k, v);
  }
  return out;
}

/** Sends a request to the origin and returns its response as it comes (streamed, unchanged). */
export async function forward(
  request: Request,
  cfg: GateConfig,
  body: ReadableStream<Uint8Array> | Uint8Array | null,
  size: number | null,
): Promise<Response> {
  const headers = forwardHeaders(request.headers);
  if (size !== null && body !== null) headers.set("content-length", String(size));
  const init: RequestInit = { method: request.method, headers, redirect: "manual" };
  if (body !== null && request.method !== "GET" && request.method !== "HEAD") init.body = body;
  try {
    return await fetch(originTarget(request.url, cfg).href, init);
  } catch (e) {
    throw new AppError("origin_unreachable", "the upload could not be delivered, retry later", String(e), {
      cause: e,
    });
  }
}
