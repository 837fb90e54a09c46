/**
 * Where local sign-in keeps its state: D1's `local_signin_codes` (codes already used) and
 * `review_sessions` (sessions, by the hash of their cookie), both migrations/0004. Every
 * statement on them goes through `SigninStore`; the rules (loopback only, expiry, hashing) are
 * local-signin.ts. The store sees hashes only, never a code or a cookie.
 */
import type { Role } from "./roles.ts";

export interface SessionRecord {
  tokenHash: string;
  principal: string;
  role: Role;
  createdAt: string;
  expiresAt: string;
}

export interface SigninStore {
  /** Marks a code used; false if it was used before (the check and the mark are one statement). */
  useCode(codeHash: string, at: string): Promise<boolean>;
  createSession(s: SessionRecord): Promise<void>;
  /** The principal and role of a session that has not expired at `now` (ISO), or null. */
  liveSession(tokenHash: string, now: string): Promise<{ principal: string; role: string } | null>;
  endSession(tokenHash: string): Promise<void>;
}

export class D1SigninStore implements SigninStore {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  async useCode(codeHash: string, at: string): Promise<boolean> {
    const used = await this.db
      .prepare("INSERT OR IGNORE INTO local_signin_codes (code_hash, used_at) VALUES (?1, ?2)")
      .bind(codeHash, at)
      .run();
    return used.meta.changes === 1;
  }

  async createSession(s: SessionRecord): Promise<void> {
    await this.db
      .prepare(
        `INSERT INTO review_sessions (token_hash, principal, role, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)`,
      )
      .bind(s.tokenHash, s.principal, s.role, s.createdAt, s.expiresAt)
      .run();
  }

  liveSession(tokenHash: string, now: string): Promise<{ principal: string; role: string } | null> {
    return this.db
      .prepare("SELECT principal, role FROM review_sessions WHERE token_hash = ?1 AND expires_at > ?2")
      .bind(tokenHash, now)
      .first<{ principal: string; role: string }>();
  }

  async endSession(tokenHash: string): Promise<void> {
    await this.db.prepare("DELETE FROM review_sessions WHERE token_hash = ?1").bind(tokenHash).run();
  }
}

/** The sign-in store of a D1 binding. */
export function signinStore(db: D1Database): SigninStore {
  return new D1SigninStore(db);
}
