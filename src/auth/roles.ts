/** Roles and their order: each role may do everything the ones before it may. */
export const ROLES = ["viewer", "reviewer", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}

/** True if `have` is at least `need`. */
export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Who made a request: an Access user (by email) or an automation token (by its label). */
export interface Principal {
  id: string;
  role: Role;
  via: "access" | "token" | "local";
}

export class AuthConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthConfigError";
  }
}

/**
 * Parses `REVIEW_ROLES` ("alice@x.org:admin,bob@x.org:reviewer"). Emails are matched
 * case-insensitively; a bad entry is a configuration error, not a silent skip.
 */
export function parseRoleMap(spec: string | undefined): Map<string, Role> {
  const map = new Map<string, Role>();
  for (const raw of (spec ?? "").split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const at = entry.lastIndexOf(":");
    const email = entry.slice(0, at).trim().toLowerCase();
    const role = entry.slice(at + 1).trim();
    if (at <= 0 || !email.includes("@") || !isRole(role)) {
      throw new AuthConfigError(`REVIEW_ROLES: bad entry "${entry}" (want email:viewer|reviewer|admin)`);
    }
    map.set(email, role);
  }
  return map;
}

export interface ApiToken {
  /** A label for the audit log: the token's first 6 characters, never the whole secret. */
  label: string;
  secret: string;
  role: Role;
}

/** Tokens shorter than this are refused: they could be guessed. */
export const MIN_TOKEN_LENGTH = 24;

/** Parses `REVIEW_API_TOKENS` ("token:role,token2:role"). */
export function parseApiTokens(spec: string | undefined): ApiToken[] {
  const out: ApiToken[] = [];
  for (const raw of (spec ?? "").split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const at = entry.lastIndexOf(":");
    const secret = entry.slice(0, at);
    const role = entry.slice(at + 1);
    if (at <= 0 || !isRole(role)) throw new AuthConfigError("REVIEW_API_TOKENS: an entry is not token:role");
    if (secret.length < MIN_TOKEN_LENGTH) {
      throw new AuthConfigError(`REVIEW_API_TOKENS: tokens must be at least ${MIN_TOKEN_LENGTH} characters`);
    }
    out.push({ label: `token:${secret.slice(0, 6)}`, secret, role });
  }
  return out;
}

/**
 * Finds the token equal to `presented`. Both sides are hashed first so the comparison is of
 * equal-length values, and every configured token is compared (no early exit), so timing
 * says nothing about how much of a token matched or which one.
 */
export async function findApiToken(tokens: ApiToken[], presented: string): Promise<ApiToken | null> {
  const enc = new TextEncoder();
  const want = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(presented)));
  let found: ApiToken | null = null;
  for (const t of tokens) {
    const have = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(t.secret)));
    if (constantTimeEqual(want, have) && found === null) found = t;
  }
  return found;
}

/** Compares two byte arrays in time independent of where they differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
