-- Cases: one row per blocked or flagged upload. The id is the case id the gate generated,
-- so a queue message delivered twice (or a case recorded by the fallback path and then by
-- the queue) stays one row.
CREATE TABLE IF NOT EXISTS cases (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  verdict TEXT NOT NULL CHECK (verdict IN ('block', 'flag')),
  status TEXT NOT NULL DEFAULT 'new',
  source TEXT NOT NULL CHECK (source IN ('queue', 'fallback', 'sweep')),
  uploader_ip TEXT,
  identity TEXT,
  request_path TEXT,
  file_count INTEGER NOT NULL,
  list_ids TEXT NOT NULL,
  message TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_status_created ON cases (status, created_at);
CREATE INDEX IF NOT EXISTS cases_uploader_ip ON cases (uploader_ip);

-- Uploads forwarded without a verdict under FAIL_MODE=open.
CREATE TABLE IF NOT EXISTS unscanned (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  reason TEXT NOT NULL,
  request TEXT NOT NULL
);

-- Who did what, when: list changes, case decisions, evidence access.
CREATE TABLE IF NOT EXISTS audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject, at);
