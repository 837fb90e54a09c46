/** Bindings and variables of the Worker, as declared in wrangler.toml. */
export interface Env {
  HASHES: KVNamespace;
  MATCHES: Queue<unknown>;
  DB: D1Database;
  EVIDENCE: R2Bucket;
  /** Workers Analytics Engine: one data point per scanned request (optional; docs/observability.md). */
  METRICS?: AnalyticsEngineDataset;
  ORIGIN_URL?: string;
  SCAN_METHODS?: string;
  SCAN_PATHS?: string;
  SCAN_PATHS_CASE_SENSITIVE?: string;
  OTHER_METHOD_BODIES?: string;
  /** HMAC key signing every forwarded request for the origin (secret; README: Origin signing). */
  ORIGIN_SIGNING_KEY?: string;
  /** Hosts of the review UI and the admin API; unset: both are mounted by path on every host. */
  REVIEW_HOST?: string;
  ADMIN_HOST?: string;
  BLOCK_STATUS?: string;
  MAX_BODY_BYTES?: string;
  HOLD_MEMORY_BYTES?: string;
  HOLD_ISOLATE_BYTES?: string;
  MAX_PART_HEADER_BYTES?: string;
  FAIL_MODE?: string;
  IDENTITY_HEADERS?: string;
  IMAGE_MAX_BYTES?: string;
  IMAGE_MAX_PIXELS?: string;
  IMAGE_FAILURE_POLICY?: string;
  IMAGE_MAX_PER_REQUEST?: string;
  BINDING_TIMEOUT_MS?: string;
  NO_LIST_MODE?: string;
  MAX_DECODE_RATIO?: string;
  MIN_TEXT_FILE_BYTES?: string;
  MAX_TEXT_FILES?: string;
  /** Admin API bearer token(s): one token, or `name=token,name2=token2` (secret). */
  ADMIN_TOKEN?: string;
  // Review and reporting (src/review, src/auth, src/report, src/retention; docs/review.md).
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  ACCESS_JWKS_URL?: string;
  REVIEW_ROLES?: string;
  REVIEW_API_TOKENS?: string;
  NOTIFY_WEBHOOK_URL?: string;
  REVIEW_PUBLIC_URL?: string;
  CYBERTIP_ENV?: string;
  CYBERTIP_BASE_URL?: string;
  CYBERTIP_USERNAME?: string;
  CYBERTIP_PASSWORD?: string;
  REPORTER_EMAIL?: string;
  REPORTER_FIRST_NAME?: string;
  REPORTER_LAST_NAME?: string;
  REPORTER_ESP_SERVICE?: string;
  REPORT_KIND?: string;
  REPORT_WEBHOOK_URL?: string;
  REPORT_WEBHOOK_SECRET?: string;
  REPORTED_RETENTION_DAYS?: string;
  DISMISSED_RETENTION_DAYS?: string;
}
