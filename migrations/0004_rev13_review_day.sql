-- The reviewer's day (issue 13). Additive: claim columns on cases, local sign-in tables.

-- A reviewer takes a case: others see who has it, "next" skips it, and a decision by anyone
-- else is refused with a clear message until the claim expires (src/cases/claims.ts).
ALTER TABLE cases ADD COLUMN claimed_by TEXT;
ALTER TABLE cases ADD COLUMN claimed_at TEXT;

-- Local development sign-in only (LOCAL_SIGNIN=true, loopback, no Access configured):
-- the one-time codes already exchanged (SHA-256 of the code, never the code itself) ...
CREATE TABLE IF NOT EXISTS local_signin_codes (
  code_hash TEXT PRIMARY KEY,
  used_at TEXT NOT NULL
);
-- ... and the sessions they opened (SHA-256 of the cookie value; expires_at enforced on read).
CREATE TABLE IF NOT EXISTS review_sessions (
  token_hash TEXT PRIMARY KEY,
  principal TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL
);

-- Wellness settings per reviewer: blur strength (CSS px) and reveals per session before the
-- UI suggests a break.
ALTER TABLE reviewer_settings ADD COLUMN blur_px INTEGER NOT NULL DEFAULT 18;
ALTER TABLE reviewer_settings ADD COLUMN break_after INTEGER NOT NULL DEFAULT 20;
