-- Issue 13 (visibility): one row per run of the scheduled handler, so GET /admin/health can say
-- when the cron last ran and what it did. The handler keeps the last 200 rows.
CREATE TABLE IF NOT EXISTS cron_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL,
  -- Pending markers turned into cases, left for the next run, moved to pending-unreadable/.
  swept INTEGER NOT NULL DEFAULT 0,
  sweep_failed INTEGER NOT NULL DEFAULT 0,
  sweep_unreadable INTEGER NOT NULL DEFAULT 0,
  -- Cases whose evidence and personal data retention removed.
  purged INTEGER NOT NULL DEFAULT 0,
  -- Cases the new-case webhook accepted.
  notified INTEGER NOT NULL DEFAULT 0,
  -- JSON array of the tasks that failed, with the error's name (never a secret).
  errors TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS cron_runs_started ON cron_runs (started_at);
