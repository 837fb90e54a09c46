/**
 * Bearer-token auth for the admin API. `ADMIN_TOKEN` (a secret) holds one token, or several
 * as `name=token,name2=token2` so the audit log can say who acted. Unset: the API is off (403).
 */
import type { MiddlewareHandler } from "hono";

export interface AdminToken {
  actor: string;
  token: string;
}

/** Tokens shorter than this are refused as configuration: guessable. */
export const MIN_TOKEN_CHARS = 24;

export function parseAdminTokens(raw: string | undefined): AdminToken[] {
  if (!raw?.trim()) return [];
  return raw.split(",").flatMap((part) => {
    const s = part.trim();
    if (!s) return [];
    const eq = s.indexOf("=");
    const t =
      eq < 0 ? { actor: "admin", token: s } : { actor: s.slice(0, eq).trim(), token: s.slice(eq + 1).trim() };
    return t.token.length >= MIN_TOKEN_CHARS && t.actor ? [t] : [];
  });
}

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
    const tokens = parseAdminTokens(c.env.ADMIN_TOKEN);
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
