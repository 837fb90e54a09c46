/**
 * Forwarding to the origin. Only ever to the configured origin (or, with none configured,
 * the request's own URL, which on a Worker route is the zone's origin): the Host header and
 * any absolute URL in the request line cannot redirect it.
 */

import { GateError } from "../errors.ts";
import type { GateConfig } from "./config.ts";
import { type GateCredentials, stripGateCredentials } from "./credentials.ts";
import { type OriginStamp, originSignature, SIGNATURE_HEADER } from "./origin-signature.ts";

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

let warnedUnsigned = false;

/** Once per isolate: without ORIGIN_SIGNING_KEY the origin cannot tell gated requests from others. */
function warnUnsigned(): void {
  if (warnedUnsigned) return;
  warnedUnsigned = true;
  console.warn(
    "hashgate: ORIGIN_SIGNING_KEY is not set; forwarded requests are not signed (README: Origin signing)",
  );
}

/** What the gate adds to and removes from a forwarded request besides hop-by-hop headers. */
export interface Delivery extends OriginStamp {
  credentials: GateCredentials;
}

/**
 * Sends a request to the origin and returns its response as it comes (streamed, unchanged).
 * The gate's credentials are removed, and any client-sent signature header; the gate's own
 * signature is added when ORIGIN_SIGNING_KEY is set.
 */
export async function forward(
  request: Request,
  cfg: GateConfig,
  body: ReadableStream<Uint8Array> | Uint8Array | null,
  size: number | null,
  delivery: Delivery,
): Promise<Response> {
  const headers = forwardHeaders(request.headers);
  await stripGateCredentials(headers, delivery.credentials);
  headers.delete(SIGNATURE_HEADER);
  const target = originTarget(request.url, cfg);
  const sendsBody = request.method !== "GET" && request.method !== "HEAD";
  if (cfg.originSigningKey === null) warnUnsigned();
  else {
    // A GET or HEAD body is never sent (fetch cannot), so its digest would describe nothing.
    const stamp = sendsBody ? delivery : { verdict: delivery.verdict, bodySha256: null };
    headers.set(SIGNATURE_HEADER, await originSignature(cfg.originSigningKey, request.method, target, stamp));
  }
  if (size !== null && body !== null) headers.set("content-length", String(size));
  const init: RequestInit = { method: request.method, headers, redirect: "manual" };
  if (body !== null && sendsBody) init.body = body;
  try {
    return await fetch(target.href, init);
  } catch (e) {
    throw new GateError("origin_unreachable", "the upload could not be delivered, retry later", String(e), {
      cause: e,
    });
  }
}
