/**
 * Browser-facing protections for the review app: a strict Content-Security-Policy (no inline
 * script or style at all), no caching, no framing, and CSRF protection for Access-authenticated
 * requests that change state or reveal evidence (double-submit token + Origin check; the
 * cookie is SameSite=Strict). Bearer-token requests are exempt: browsers never add that header.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { constantTimeEqual } from "../auth/roles.ts";
import { toHex } from "../bytes.ts";
import type { ReviewBindings } from "./types.ts";

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export function securityHeaders(): MiddlewareHandler<ReviewBindings> {
  return async function setSecurityHeaders(c, next) {
    await next();
    const h = c.res.headers;
    if (!h.has("content-security-policy")) h.set("content-security-policy", CSP);
    h.set("x-content-type-options", "nosniff");
    h.set("x-frame-options", "DENY");
    h.set("referrer-policy", "no-referrer");
    h.set("cache-control", "no-store");
    h.set("cross-origin-resource-policy", "same-origin");
  };
}

export const CSRF_COOKIE = "hg_csrf";
export const CSRF_HEADER = "x-csrf-token";

function randomToken(): string {
  const b = crypto.getRandomValues(new Uint8Array(32));
  return toHex(b);
}

/** The page's CSRF token: the cookie's if it has one, else a new one set as a cookie. */
export function csrfToken(c: Context<ReviewBindings>): string {
  const have = getCookie(c, CSRF_COOKIE);
  if (have && /^[0-9a-f]{64}$/.test(have)) return have;
  const token = randomToken();
  setCookie(c, CSRF_COOKIE, token, {
    path: "/review",
    httpOnly: true,
    sameSite: "Strict",
    secure: new URL(c.req.url).protocol === "https:",
  });
  return token;
}

/** True if the request must pass the CSRF check: browser principals, unsafe or revealing requests. */
function needsCheck(c: Context<ReviewBindings>, alsoGet: boolean): boolean {
  if (c.var.principal.via === "token") return false;
  const m = c.req.method;
  return alsoGet || !(m === "GET" || m === "HEAD" || m === "OPTIONS");
}

/** Refuses cross-site requests. `alsoGet`: for GETs with side effects (evidence reveal). */
export function csrfProtect(alsoGet = false): MiddlewareHandler<ReviewBindings> {
  return async function checkCsrf(c, next) {
    if (!needsCheck(c, alsoGet)) return next();
    const origin = c.req.header("origin");
    const site = c.req.header("sec-fetch-site");
    const own = new URL(c.env.REVIEW_PUBLIC_URL || c.req.url).origin;
    const cookie = getCookie(c, CSRF_COOKIE) ?? "";
    const header = c.req.header(CSRF_HEADER) ?? "";
    const enc = new TextEncoder();
    const tokenOk = cookie.length === 64 && constantTimeEqual(enc.encode(cookie), enc.encode(header));
    const originOk = origin === undefined || origin === own;
    const siteOk = site === undefined || site === "same-origin" || site === "none";
    if (!tokenOk || !originOk || !siteOk) {
      return c.json({ error: "csrf", message: "request refused: missing or wrong CSRF token" }, 403);
    }
    return next();
  };
}
