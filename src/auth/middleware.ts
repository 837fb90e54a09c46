/**
 * Hono middleware: who is calling, and may they? Access users arrive with the
 * `Cf-Access-Jwt-Assertion` header (or the `CF_Authorization` cookie); automation with
 * `Authorization: Bearer <token>`. Failures answer generic JSON; the detail goes to logs.
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { JWTVerifyGetKey } from "jose";
import type { Env } from "../env.ts";
import { type AccessConfig, AccessTokenError, verifyAccessJwt } from "./access-jwt.ts";
import { localSigninRefusal, SESSION_COOKIE, sessionPrincipal } from "./local-signin.ts";
import { AuthConfigError, findApiToken, type Principal, type Role, roleAtLeast } from "./roles.ts";
import { reviewAuthConfig } from "./tokens.ts";

export interface AuthVariables {
  principal: Principal;
}

export interface AuthOptions {
  /** Key set for Access JWTs; tests pass a local one. Default: the team's remote JWKS. */
  keys?: JWTVerifyGetKey;
}

type AuthCtx = Context<{ Bindings: Env; Variables: AuthVariables }>;

function deny(c: AuthCtx, status: 401 | 403 | 503, error: string) {
  return c.json(
    { error, message: status === 503 ? "authentication unavailable, retry later" : error },
    status,
  );
}

function accessConfig(env: Env): AccessConfig | null {
  if (!env.ACCESS_TEAM_DOMAIN || !env.ACCESS_AUD) return null;
  return {
    teamDomain: env.ACCESS_TEAM_DOMAIN,
    aud: env.ACCESS_AUD,
    ...(env.ACCESS_JWKS_URL ? { jwksUrl: env.ACCESS_JWKS_URL } : {}),
  };
}

/** Resolves the caller to a Principal or answers 401/403/503. */
export async function resolvePrincipal(c: AuthCtx, opts: AuthOptions): Promise<Principal | Response> {
  try {
    const authz = c.req.header("authorization");
    if (authz?.startsWith("Bearer ")) {
      const token = await findApiToken(reviewAuthConfig(c.env).apiTokens, authz.slice(7).trim());
      if (!token) return deny(c, 401, "unauthenticated");
      return { id: token.label, role: token.role, via: "token" };
    }
    // A local sign-in session counts only where local sign-in is allowed at all (dev, loopback).
    const session = getCookie(c, SESSION_COOKIE);
    if (session && localSigninRefusal(c.env, c.req.raw) === null) {
      const who = await sessionPrincipal(c.env, session);
      if (who) return { ...who, via: "local" };
    }
    const jwt = c.req.header("cf-access-jwt-assertion") ?? getCookie(c, "CF_Authorization");
    const cfg = accessConfig(c.env);
    if (!jwt || !cfg) return deny(c, 401, "unauthenticated");
    const who = await verifyAccessJwt(jwt, cfg, opts.keys);
    const role = reviewAuthConfig(c.env).roles.get(who.email);
    // Access let them in, but nobody gave them a role here.
    if (!role) return deny(c, 403, "forbidden");
    return { id: who.email, role, via: "access" };
  } catch (e) {
    if (e instanceof AccessTokenError) {
      console.warn("hashgate review: Access token refused", e.kind, e.message);
      return deny(c, e.kind === "unavailable" ? 503 : 401, "unauthenticated");
    }
    if (e instanceof AuthConfigError) {
      console.error("hashgate review: auth configuration invalid", e.message);
      return deny(c, 503, "auth_misconfigured");
    }
    throw e;
  }
}

/** Authenticates every request; sets `c.var.principal`. */
export function authenticate(
  opts: AuthOptions = {},
): MiddlewareHandler<{ Bindings: Env; Variables: AuthVariables }> {
  return async function authenticateRequest(c, next) {
    const p = await resolvePrincipal(c, opts);
    if (p instanceof Response) return p;
    c.set("principal", p);
    await next();
  };
}

/** Lets the request through only if the caller's role is at least `need`. */
export function requireRole(need: Role): MiddlewareHandler<{ Bindings: Env; Variables: AuthVariables }> {
  return async function checkRole(c, next) {
    if (!roleAtLeast(c.var.principal.role, need))
      return c.json({ error: "forbidden", message: "forbidden" }, 403);
    await next();
  };
}
