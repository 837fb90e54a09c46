-- Review and reporting (issue 5). Additive: new columns on cases, new tables.

-- Decision bookkeeping on the case row (status itself lives in cases.status).
ALTER TABLE cases ADD COLUMN decided_at TEXT;
ALTER TABLE cases ADD COLUMN decided_by TEXT;
ALTER TABLE cases ADD COLUMN escalated INTEGER NOT NULL DEFAULT 0;
-- Set once the new-case notification webhook accepted the case (the consumer retries until then).
ALTER TABLE cases ADD COLUMN notified_at TEXT;
-- Set when retention removed the evidence and personal data.
ALTER TABLE cases ADD COLUMN purged_at TEXT;

-- Every state transition: who, when, why.
CREATE TABLE IF NOT EXISTS case_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id TEXT NOT NULL,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  from_status TEXT NOT NULL,
  to_status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS case_events_case ON case_events (case_id, id);

-- Per-reviewer wellness settings (media blurred / greyscale when revealed).
CREATE TABLE IF NOT EXISTS reviewer_settings (
  reviewer TEXT PRIMARY KEY,
  blur INTEGER NOT NULL DEFAULT 1,
  greyscale INTEGER NOT NULL DEFAULT 1,
  updated_at TEXT NOT NULL
);

-- Digests a reviewer judged false positives: the gate does not block them again.
CREATE TABLE IF NOT EXISTS allow_list (
  algo TEXT NOT NULL,
  digest TEXT NOT NULL,
  added_at TEXT NOT NULL,
  added_by TEXT NOT NULL,
  case_id TEXT,
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (algo, digest)
);

-- One report per case (primary key): the submit flow's state machine lives here so that a
-- crash mid-flow resumes instead of submitting twice.
CREATE TABLE IF NOT EXISTS reports (
  case_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('cybertip', 'webhook')),
  state TEXT NOT NULL,
  report_id TEXT,
  xml TEXT,
  files TEXT NOT NULL DEFAULT '{}',
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX IF NOT EXISTS reports_finished ON reports (finished_at);

-- Complaints forwarded by the platform; outcome recorded when a reviewer decides.
CREATE TABLE IF NOT EXISTS appeals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  case_id TEXT NOT NULL,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  complaint TEXT NOT NULL,
  previous_status TEXT NOT NULL,
  outcome TEXT,
  decided_at TEXT,
  decided_by TEXT
);
CREATE INDEX IF NOT EXISTS appeals_case ON appeals (case_id, id);
