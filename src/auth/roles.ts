/** Roles and their order: each role may do everything the ones before it may. */
import { AppError } from "../errors.ts";
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

export class AuthConfigError extends AppError {
  constructor(message: string) {
    super("not_configured", "reporting or auth is not configured; see docs/review.md", message);
    this.name = "AuthConfigError";
  }
}

/**
 * Finds the token equal to `presented`. Both sides are hashed first so the comparison is of
 * equal-length values, and every configured token is compared (no early exit), so timing
 * says nothing about how much of a token matched or which one.
 */
export async function findApiToken<T extends { secret: string }>(
  tokens: T[],
  presented: string,
): Promise<T | null> {
  const enc = new TextEncoder();
  const want = new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(presented)));
  let found: T | null = null;
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
