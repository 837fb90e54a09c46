/**
 * Local sign-in for development: `npm start` (scripts/dev.ts) starts the Worker with
 * `LOCAL_SIGNIN=true` and a random one-time code, and prints a link that exchanges the code for
 * a session cookie. It exists so that a reviewer can try the review UI without Cloudflare Access
 * and without pasting a bearer token, which a browser cannot send.
 *
 * It is refused unless ALL of these hold: `LOCAL_SIGNIN` is exactly "true" (wrangler.toml's
 * environments never set it), no Access team or audience is configured (a deployment that has
 * Access never also has a second way in), and the request came to and from a loopback address.
 * Codes are compared in constant time, expire, and work once (their hash is recorded in D1).
 * Sessions are random 256-bit cookies stored hashed in D1 with a short expiry (signin-store.ts).
 */
import type { Env } from "../env.ts";
import { constantTimeEqual, isRole, type Role } from "./roles.ts";
import { signinStore } from "./signin-store.ts";

export const SESSION_COOKIE = "hg_session";
/** A session lasts one shift; then the developer restarts `npm start` for a new link. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** How long a printed code stays valid when LOCAL_SIGNIN_EXPIRES is not given. */
export const CODE_TTL_MS = 60 * 60 * 1000;

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

function isLoopbackIp(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.") || ip === "::ffff:127.0.0.1";
}

export type LocalSigninRefusal = "disabled" | "access_configured" | "not_loopback";

/**
 * Why local sign-in is not available for this request, or null if it is. The URL's host and,
 * when present, the connecting address (CF-Connecting-IP) must both be loopback.
 */
export function localSigninRefusal(env: Env, req: Request): LocalSigninRefusal | null {
  if (env.LOCAL_SIGNIN !== "true" || !env.LOCAL_SIGNIN_CODE) return "disabled";
  if (env.ACCESS_TEAM_DOMAIN || env.ACCESS_AUD) return "access_configured";
  const host = new URL(req.url).hostname;
  const ip = req.headers.get("cf-connecting-ip");
  if (!LOOPBACK_HOSTS.has(host) || (ip !== null && !isLoopbackIp(ip))) return "not_loopback";
  return null;
}

async function sha256Hex(s: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s)));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The local principal's id: what the audit log and claims show. */
export function localPrincipalId(role: Role): string {
  return `local-${role}@localhost`;
}

export type ExchangeResult =
  | { ok: true; token: string; role: Role; expiresAt: Date }
  | { ok: false; why: "wrong_code" | "expired" | "used" | "bad_role" };

/**
 * Exchanges the one-time code for a session. The code is marked used in the same statement
 * that checks it (INSERT OR IGNORE on its hash), so two tabs racing get one session.
 */
export async function exchangeCode(
  env: Env,
  presented: string,
  roleParam: string | undefined,
  now = Date.now(),
): Promise<ExchangeResult> {
  const role = roleParam || "admin";
  if (!isRole(role)) return { ok: false, why: "bad_role" };
  const want = env.LOCAL_SIGNIN_CODE ?? "";
  const enc = new TextEncoder();
  const a = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(presented)));
  const b = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(want)));
  if (want.length < 16 || !constantTimeEqual(a, b)) return { ok: false, why: "wrong_code" };
  const expires = env.LOCAL_SIGNIN_EXPIRES ? Date.parse(env.LOCAL_SIGNIN_EXPIRES) : Number.NaN;
  if (!Number.isFinite(expires) || now > expires) return { ok: false, why: "expired" };
  const store = signinStore(env.DB);
  if (!(await store.useCode(await sha256Hex(want), new Date(now).toISOString())))
    return { ok: false, why: "used" };
  const raw = crypto.getRandomValues(new Uint8Array(32));
  const token = [...raw].map((x) => x.toString(16).padStart(2, "0")).join("");
  const expiresAt = new Date(now + SESSION_TTL_MS);
  await store.createSession({
    tokenHash: await sha256Hex(token),
    principal: localPrincipalId(role),
    role,
    createdAt: new Date(now).toISOString(),
    expiresAt: expiresAt.toISOString(),
  });
  return { ok: true, token, role, expiresAt };
}

/** The session's principal, or null if the cookie is unknown or expired. */
export async function sessionPrincipal(
  env: Env,
  token: string,
  now = Date.now(),
): Promise<{ id: string; role: Role } | null> {
  if (!/^[0-9a-f]{64}$/.test(token)) return null;
  const row = await signinStore(env.DB).liveSession(await sha256Hex(token), new Date(now).toISOString());
  if (!row || !isRole(row.role)) return null;
  return { id: row.principal, role: row.role };
}

export async function endSession(env: Env, token: string): Promise<void> {
  await signinStore(env.DB).endSession(await sha256Hex(token));
}
