/**
 * Cloudflare Access JWT verification. Access signs with RS256; the keys are published at
 * `https://<team>.cloudflareaccess.com/cdn-certs/jwks.json` and rotate, so the key set is
 * fetched lazily and cached per isolate (jose re-fetches on an unknown `kid`, with a cooldown).
 */
import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from "jose";

export interface AccessConfig {
  /** e.g. "myteam.cloudflareaccess.com"; the token's `iss` must be `https://` + this. */
  teamDomain: string;
  /** The Access application's audience tag (`aud`). */
  aud: string;
  /** Where the keys are; defaults to the team's `/cdn-certs/jwks.json`. */
  jwksUrl?: string;
}

/** Access tokens are short-lived; allow a little clock skew between Cloudflare and us. */
const CLOCK_TOLERANCE_SECONDS = 30;

const keySets = new Map<string, JWTVerifyGetKey>();

/** The cached remote key set for a URL (one per isolate). */
export function remoteKeySet(url: string): JWTVerifyGetKey {
  let ks = keySets.get(url);
  if (!ks) {
    ks = createRemoteJWKSet(new URL(url), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
    keySets.set(url, ks);
  }
  return ks;
}

export function jwksUrlFor(cfg: AccessConfig): string {
  return cfg.jwksUrl ?? `https://${cfg.teamDomain}/cdn-certs/jwks.json`;
}

export interface AccessIdentity {
  email: string;
  sub: string;
}

export type AccessFailure = "invalid" | "expired" | "unavailable";

export class AccessTokenError extends Error {
  readonly kind: AccessFailure;
  constructor(kind: AccessFailure, detail: string) {
    super(detail);
    this.name = "AccessTokenError";
    this.kind = kind;
  }
}

/**
 * Verifies an Access JWT and returns the user's email. Only RS256 is accepted, so a token
 * with `alg: none` or an HMAC token "signed" with the public key is refused before any key
 * is used.
 */
export async function verifyAccessJwt(
  token: string,
  cfg: AccessConfig,
  keys: JWTVerifyGetKey = remoteKeySet(jwksUrlFor(cfg)),
): Promise<AccessIdentity> {
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: ["RS256"],
      issuer: `https://${cfg.teamDomain}`,
      audience: cfg.aud,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ["exp", "email"],
    });
    const email = typeof payload.email === "string" ? payload.email.toLowerCase() : "";
    if (!email) throw new AccessTokenError("invalid", "token has no email");
    return { email, sub: String(payload.sub ?? "") };
  } catch (e) {
    if (e instanceof AccessTokenError) throw e;
    if (e instanceof errors.JWTExpired) throw new AccessTokenError("expired", e.message);
    if (e instanceof errors.JWKSTimeout || e instanceof errors.JOSENotSupported) {
      throw new AccessTokenError(e instanceof errors.JWKSTimeout ? "unavailable" : "invalid", e.message);
    }
    if (e instanceof errors.JOSEError) throw new AccessTokenError("invalid", `${e.code}: ${e.message}`);
    // Fetching the key set failed (network, bad JSON): not the user's fault.
    throw new AccessTokenError("unavailable", e instanceof Error ? e.message : String(e));
  }
}
