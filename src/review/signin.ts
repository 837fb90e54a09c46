/**
 * Signing in to the review UI. In production Cloudflare Access signs reviewers in before a
 * request reaches the Worker; locally `npm start` prints a one-time link (src/auth/local-signin.ts).
 * An unauthenticated browser gets this page instead of a JSON 401; API clients still get JSON.
 */
import { Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import {
  endSession,
  exchangeCode,
  localSigninRefusal,
  SESSION_COOKIE,
  SESSION_TTL_MS,
} from "../auth/local-signin.ts";
import type { Env } from "../env.ts";
import { html, type Safe } from "./html.ts";

const WHY: Record<string, string> = {
  wrong_code: "That sign-in code is not the one `npm start` printed.",
  expired: "That sign-in link has expired. Restart `npm start` for a new one.",
  used: "That sign-in link was already used. Restart `npm start` for a new one.",
  bad_role: "role must be viewer, reviewer or admin.",
  disabled: "Local sign-in is not enabled here (only `npm start` enables it).",
  access_configured: "Local sign-in is off because Cloudflare Access is configured: sign in through Access.",
  not_loopback: "Local sign-in works only on 127.0.0.1 / localhost.",
};

/** True if the client asked for a page (a browser navigation), not JSON. */
export function wantsHtml(req: Request): boolean {
  return (req.headers.get("accept") ?? "").includes("text/html");
}

export function signinPage(message: string | null, localAvailable: boolean): string {
  const local: Safe = localAvailable
    ? html`<h2>Local development</h2><p><code>npm start</code> printed a one-time sign-in link
(<code>/review/signin?code=…</code>) in its banner. Open it in this browser; add
<code>&amp;role=reviewer</code> to sign in as a reviewer instead of an admin. The link works once.</p>`
    : html`<h2>Local development</h2><p>Run <code>npm start</code>: its banner prints a one-time sign-in link.</p>`;
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · hashgate review</title><link rel="stylesheet" href="/review/static/review.css"></head>
<body><header><span class="brand">hashgate review</span></header><main class="signin">
<h1>Sign in</h1>${message ? html`<p class="signin-error" role="alert">${message}</p>` : ""}
<h2>In production</h2><p>The review UI sits behind Cloudflare Access: open it through your Access
login and your email's role (REVIEW_ROLES) decides what you may do. Automation uses an API token
(<code>Authorization: Bearer …</code>).</p>${local}</main></body></html>`.html;
}

export function createSigninRoutes() {
  const r = new Hono<{ Bindings: Env }>();
  r.get("/signin", async (c) => {
    const refusal = localSigninRefusal(c.env, c.req.raw);
    const code = c.req.query("code");
    if (!code) return c.html(signinPage(null, refusal === null), 200);
    if (refusal) return c.html(signinPage(WHY[refusal] ?? refusal, false), 403);
    const res = await exchangeCode(c.env, code, c.req.query("role"));
    if (!res.ok) return c.html(signinPage(WHY[res.why] ?? res.why, true), res.why === "bad_role" ? 400 : 403);
    setCookie(c, SESSION_COOKIE, res.token, {
      path: "/review",
      httpOnly: true,
      sameSite: "Strict",
      secure: new URL(c.req.url).protocol === "https:",
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
    return c.redirect("/review", 303);
  });
  r.post("/signout", async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token) await endSession(c.env, token);
    deleteCookie(c, SESSION_COOKIE, { path: "/review" });
    return c.redirect("/review/signin", 303);
  });
  return r;
}
