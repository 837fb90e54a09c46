/**
 * Credentials meant for the gate never reach the origin. Removed from every forwarded request:
 * - `Authorization` when its credential is one of the gate's own tokens (ADMIN_TOKEN,
 *   REVIEW_API_TOKENS). Any other Authorization — the platform's own — passes unchanged:
 *   stripping every Authorization would break platforms whose uploads are authenticated;
 * - the Cloudflare Access token of the gate's Access application (`aud` = ACCESS_AUD), as the
 *   `Cf-Access-Jwt-Assertion` header (with `Cf-Access-Authenticated-User-Email`) and as the
 *   `CF_Authorization` cookie; a token of another Access application (the platform's) passes.
 * The Access token's `aud` is read without verifying the signature: the question is only
 * whose token it claims to be, and a forged claim costs its sender nothing but the token.
 */
import type { Env } from "../env.ts";

export interface GateCredentials {
  /** SHA-256 of every token the gate accepts, compared in constant time. */
  tokenDigests: Uint8Array[];
  /** The gate's Access application audience, or null without Access. */
  accessAud: string | null;
}

const enc = new TextEncoder();

async function sha256(s: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(s)));
}

/**
 * Every string that could be a gate token, parsed leniently: an entry the auth code would
 * refuse (too short, bad role) is still stripped, since stripping too much costs nothing.
 */
function tokenCandidates(env: Env): string[] {
  const out: string[] = [];
  for (const entry of (env.ADMIN_TOKEN ?? "").split(",")) {
    const s = entry.trim();
    const eq = s.indexOf("=");
    out.push(s, eq < 0 ? s : s.slice(eq + 1).trim());
  }
  for (const entry of (env.REVIEW_API_TOKENS ?? "").split(",")) {
    const s = entry.trim();
    const at = s.lastIndexOf(":");
    out.push(at < 0 ? s : s.slice(0, at));
  }
  return [...new Set(out.filter((t) => t.length > 0))];
}

const cache = new WeakMap<object, Promise<GateCredentials>>();

/** The gate's credentials for this env, digested once per isolate. */
export function gateCredentialsFor(env: Env): Promise<GateCredentials> {
  let creds = cache.get(env);
  if (!creds) {
    creds = Promise.all(tokenCandidates(env).map(sha256)).then((tokenDigests) => ({
      tokenDigests,
      accessAud: env.ACCESS_AUD?.trim() || null,
    }));
    cache.set(env, creds);
  }
  return creds;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Whether an Authorization value carries a gate token (as its credential, whatever the scheme). */
async function isGateAuthorization(value: string, creds: GateCredentials): Promise<boolean> {
  if (creds.tokenDigests.length === 0) return false;
  const words = value.trim().split(/\s+/).slice(0, 3);
  let found = false;
  for (const w of words) {
    const d = await sha256(w);
    // Every digest is compared, so timing says nothing about which token matched.
    for (const t of creds.tokenDigests) if (sameBytes(d, t)) found = true;
  }
  return found;
}

/** The `aud` claims of a JWT, read without verification; empty if it is not a JWT. */
export function jwtAudiences(token: string): string[] {
  const payload = token.trim().split(".")[1];
  if (!payload) return [];
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const aud = (JSON.parse(json) as { aud?: unknown }).aud;
    const list = Array.isArray(aud) ? aud : [aud];
    return list.filter((a): a is string => typeof a === "string");
  } catch {
    return [];
  }
}

function isGateAccessToken(token: string, creds: GateCredentials): boolean {
  return creds.accessAud !== null && jwtAudiences(token).includes(creds.accessAud);
}

/** Removes the gate's credentials from headers about to be forwarded. */
export async function stripGateCredentials(headers: Headers, creds: GateCredentials): Promise<void> {
  const authz = headers.get("authorization");
  if (authz !== null && (await isGateAuthorization(authz, creds))) headers.delete("authorization");
  const jwt = headers.get("cf-access-jwt-assertion");
  if (jwt !== null && isGateAccessToken(jwt, creds)) {
    headers.delete("cf-access-jwt-assertion");
    headers.delete("cf-access-authenticated-user-email");
  }
  const cookie = headers.get("cookie");
  if (cookie === null || creds.accessAud === null) return;
  const pairs = cookie.split(";");
  const kept = pairs.filter((pair) => {
    const eq = pair.indexOf("=");
    const name = pair.slice(0, eq < 0 ? pair.length : eq).trim();
    return !(name === "CF_Authorization" && isGateAccessToken(pair.slice(eq + 1), creds));
  });
  if (kept.length === pairs.length) return;
  const joined = kept.map((p) => p.trim()).join("; ");
  if (joined === "") headers.delete("cookie");
  else headers.set("cookie", joined);
}
