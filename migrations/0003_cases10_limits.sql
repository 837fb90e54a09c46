-- Issue 10: allow-list entries per file and per list; unscanned uploads with their files.

-- Replaces allow_list, whose entries applied to every list and cancelled exact hits too. An
-- entry names one digest of a dismissed file and one list; it cancels that list's PDQ hits on
-- a file with this digest, and its exact hits only when an admin set cancels_exact.
-- list_id '*' (only entries carried over from allow_list): every list, PDQ hits only.
CREATE TABLE IF NOT EXISTS allow_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  algo TEXT NOT NULL,
  digest TEXT NOT NULL,
  list_id TEXT NOT NULL,
  cancels_exact INTEGER NOT NULL DEFAULT 0,
  added_at TEXT NOT NULL,
  added_by TEXT NOT NULL,
  case_id TEXT,
  file_index INTEGER,
  reason TEXT NOT NULL DEFAULT '',
  revoked_at TEXT,
  revoked_by TEXT
);
CREATE INDEX IF NOT EXISTS allow_entries_digest ON allow_entries (digest);
CREATE UNIQUE INDEX IF NOT EXISTS allow_entries_active ON allow_entries (algo, digest, list_id)
  WHERE revoked_at IS NULL;
INSERT INTO allow_entries (algo, digest, list_id, cancels_exact, added_at, added_by, case_id, reason)
  SELECT algo, digest, '*', 0, added_at, added_by, case_id, reason FROM allow_list;
DROP TABLE allow_list;

-- A stable reason code and the files that were not hashed (JSON array of UnscannedFile).
ALTER TABLE unscanned ADD COLUMN code TEXT NOT NULL DEFAULT 'scan-failed';
ALTER TABLE unscanned ADD COLUMN file_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE unscanned ADD COLUMN files TEXT NOT NULL DEFAULT '[]';
CREATE INDEX IF NOT EXISTS unscanned_created ON unscanned (created_at);
