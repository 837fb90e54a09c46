/**
 * Bearer-token auth for the admin API. `ADMIN_TOKEN` (a secret) holds one token, or several
 * as `name=token,name2=token2` so the audit log can say who acted (syntax: auth/tokens.ts).
 * Unset: the API is off (403). A bad entry: the API answers 503 until the secret is fixed.
 */
import type { MiddlewareHandler } from "hono";
import { AuthConfigError } from "../auth/roles.ts";
import { adminTokens } from "../auth/tokens.ts";

async function sha256(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
}

/** Compares fixed-length digests of both sides, so timing reveals neither content nor length. */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([sha256(a), sha256(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/** Sets `actor` (`admin:<name>`) or answers 401/403 with a generic body. */
export function adminAuth(): MiddlewareHandler<{
  Bindings: { ADMIN_TOKEN?: string };
  Variables: { actor: string };
}> {
  return async function adminAuthMiddleware(c, next) {
    let tokens: ReturnType<typeof adminTokens>;
    try {
      tokens = adminTokens(c.env);
    } catch (e) {
      if (!(e instanceof AuthConfigError)) throw e;
      console.error("hashgate admin: ADMIN_TOKEN invalid", e.message);
      return c.json({ error: "admin_misconfigured", message: "admin token configuration is invalid" }, 503);
    }
    if (tokens.length === 0) return c.json({ error: "forbidden", message: "admin disabled" }, 403);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
    let actor: string | undefined;
    // Every configured token is compared, matched or not, so timing does not reveal which one matched.
    for (const t of tokens) if ((await sameSecret(m?.[1] ?? "", t.token)) && m) actor ??= t.actor;
    if (!actor) {
      c.header("www-authenticate", 'Bearer realm="hashgate-admin"');
      return c.json({ error: "unauthorized", message: "missing or wrong token" }, 401);
    }
    c.set("actor", `admin:${actor}`);
    await next();
  };
}
