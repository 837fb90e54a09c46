/**
 * The one syntax of every token and role list in the configuration (`ADMIN_TOKEN`,
 * `REVIEW_API_TOKENS`, `REVIEW_ROLES`): comma-separated entries, each
 *
 *     [name=]secret[:role]
 *
 * - `name=` labels the entry for the audit log. It is recognised only when the `=` is followed
 *   by something other than `=`, so base64 padding (`…==`) stays part of the secret.
 * - `:role` (after the LAST colon) is required where the list grants roles (REVIEW_API_TOKENS,
 *   REVIEW_ROLES) and not read where it does not (ADMIN_TOKEN, whose secrets may hold colons).
 *
 * So `alice=<token>` and a bare `<token>` (ADMIN_TOKEN) and `<token>:reviewer` (REVIEW_API_TOKENS)
 * all keep meaning what they meant. A bad entry is a configuration error (AuthConfigError)
 * naming the variable, never silently skipped.
 */
import { AuthConfigError, isRole, type Role } from "./roles.ts";

/** Secrets shorter than this are refused as configuration: they could be guessed. */
export const MIN_TOKEN_LENGTH = 24;

export interface TokenEntry {
  name: string | null;
  secret: string;
  role: Role | null;
}

function splitName(entry: string): { name: string | null; rest: string } {
  const eq = /=[^=]/.exec(entry);
  if (!eq || eq.index === 0) return { name: null, rest: entry };
  return { name: entry.slice(0, eq.index).trim(), rest: entry.slice(eq.index + 1).trim() };
}

/** Parses a token or role list; `withRole` says whether each entry must end in `:role`. */
export function parseTokenList(variable: string, spec: string | undefined, withRole: boolean): TokenEntry[] {
  const out: TokenEntry[] = [];
  for (const raw of (spec ?? "").split(",")) {
    const entry = raw.trim();
    if (!entry) continue;
    const { name, rest } = splitName(entry);
    let secret = rest;
    let role: Role | null = null;
    if (withRole) {
      const at = rest.lastIndexOf(":");
      const r = rest.slice(at + 1).trim();
      if (at <= 0 || !isRole(r)) {
        throw new AuthConfigError(`${variable}: an entry is not [name=]value:viewer|reviewer|admin`);
      }
      secret = rest.slice(0, at).trim();
      role = r;
    }
    if (!secret) throw new AuthConfigError(`${variable}: an entry has no value`);
    out.push({ name, secret, role });
  }
  return out;
}

/** Checks that every entry's secret is long enough to be a token. */
function requireLongSecrets(variable: string, entries: TokenEntry[]): TokenEntry[] {
  if (entries.some((e) => e.secret.length < MIN_TOKEN_LENGTH)) {
    throw new AuthConfigError(`${variable}: tokens must be at least ${MIN_TOKEN_LENGTH} characters`);
  }
  return entries;
}

export interface ApiToken {
  /** For the audit log: the entry's name, else `token:` and the first 6 characters (never the secret). */
  label: string;
  secret: string;
  role: Role;
}

/** `REVIEW_API_TOKENS` ("token:role,name=token2:role"). */
export function parseApiTokens(spec: string | undefined): ApiToken[] {
  return requireLongSecrets("REVIEW_API_TOKENS", parseTokenList("REVIEW_API_TOKENS", spec, true)).map(
    (e) => ({
      label: e.name ? `token:${e.name}` : `token:${e.secret.slice(0, 6)}`,
      secret: e.secret,
      role: e.role!,
    }),
  );
}

/** `REVIEW_ROLES` ("alice@x.org:admin,bob@x.org:reviewer"); emails match case-insensitively. */
export function parseRoleMap(spec: string | undefined): Map<string, Role> {
  const map = new Map<string, Role>();
  for (const e of parseTokenList("REVIEW_ROLES", spec, true)) {
    const email = e.secret.toLowerCase();
    if (e.name || !email.includes("@")) {
      throw new AuthConfigError(`REVIEW_ROLES: bad entry "${e.secret}" (want email:viewer|reviewer|admin)`);
    }
    map.set(email, e.role!);
  }
  return map;
}

export interface AdminToken {
  actor: string;
  token: string;
}

/** `ADMIN_TOKEN`: one token, or `name=token,name2=token2` so the audit log can say who acted. */
export function parseAdminTokens(spec: string | undefined): AdminToken[] {
  return requireLongSecrets("ADMIN_TOKEN", parseTokenList("ADMIN_TOKEN", spec, false)).map((e) => ({
    actor: e.name ?? "admin",
    token: e.secret,
  }));
}

/** The review app's token and role lists, parsed once per isolate (per env object). */
export interface ReviewAuthConfig {
  apiTokens: ApiToken[];
  roles: Map<string, Role>;
}

const reviewCache = new WeakMap<object, ReviewAuthConfig>();

export function reviewAuthConfig(env: {
  REVIEW_API_TOKENS?: string;
  REVIEW_ROLES?: string;
}): ReviewAuthConfig {
  let cfg = reviewCache.get(env);
  if (!cfg) {
    cfg = { apiTokens: parseApiTokens(env.REVIEW_API_TOKENS), roles: parseRoleMap(env.REVIEW_ROLES) };
    reviewCache.set(env, cfg);
  }
  return cfg;
}

const adminCache = new WeakMap<object, AdminToken[]>();

/** `ADMIN_TOKEN`, parsed once per isolate. */
export function adminTokens(env: { ADMIN_TOKEN?: string }): AdminToken[] {
  let tokens = adminCache.get(env);
  if (!tokens) {
    tokens = parseAdminTokens(env.ADMIN_TOKEN);
    adminCache.set(env, tokens);
  }
  return tokens;
}
