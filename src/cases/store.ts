/**
 * Read side of the case table (case lists with filters, case detail, uploader history): part
 * of the D1 implementation of CaseStore (case-store.ts), which is how the rest of the code
 * reads them.
 */
import type { MatchMessage } from "./messages.ts";
import type { CaseStatus } from "./status.ts";

export interface CaseFilter {
  status?: CaseStatus;
  /** Open work: new or in review. */
  open?: boolean;
  escalated?: boolean;
  listId?: string;
  kind?: "exact" | "pdq";
  from?: string;
  to?: string;
  /** Cases with a file whose digest (any algorithm) equals this. */
  digest?: string;
}

export const SORTABLE = { created: "created_at", updated: "updated_at" } as const;
export type SortKey = keyof typeof SORTABLE;

export interface CaseQuery extends CaseFilter {
  sort: SortKey;
  dir: "asc" | "desc";
  limit: number;
  offset: number;
}

/** Page size cap: one D1 response stays small. */
export const MAX_PAGE = 200;

/** SQL WHERE clause and parameters for a filter (json_each over the stored message). */
export function filterSql(f: CaseFilter): { where: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `?${params.length}`;
  };
  if (f.status) parts.push(`c.status = ${p(f.status)}`);
  if (f.open) parts.push("c.status IN ('new', 'in_review')");
  if (f.escalated) parts.push("c.escalated = 1");
  // List ids are compared case-insensitively: a reviewer types "ncmec" for "NCMEC".
  if (f.listId) {
    parts.push(`EXISTS (SELECT 1 FROM json_each(c.list_ids) l WHERE lower(l.value) = lower(${p(f.listId)}))`);
  }
  if (f.kind) {
    parts.push(`EXISTS (SELECT 1 FROM json_each(c.message, '$.files') fi, json_each(fi.value, '$.matches') m
      WHERE json_extract(m.value, '$.kind') = ${p(f.kind)})`);
  }
  if (f.from) parts.push(`c.created_at >= ${p(f.from)}`);
  if (f.to) parts.push(`c.created_at <= ${p(f.to)}`);
  if (f.digest) {
    parts.push(`EXISTS (SELECT 1 FROM json_each(c.message, '$.files') fi, json_each(fi.value, '$.digests') d
      WHERE d.value = ${p(f.digest)})`);
  }
  return { where: parts.length ? `WHERE ${parts.join(" AND ")}` : "", params };
}

export interface CaseSummary {
  id: string;
  createdAt: string;
  updatedAt: string;
  status: CaseStatus;
  verdict: string;
  listIds: string[];
  fileCount: number;
  kinds: string[];
  escalated: boolean;
  purged: boolean;
  uploaderIp: string | null;
  /** The uploader's account: the identity headers the gate recorded (IDENTITY_HEADERS). */
  account: Record<string, string>;
  claimedBy: string | null;
  claimedAt: string | null;
}

interface CaseRow {
  id: string;
  created_at: string;
  updated_at: string;
  status: CaseStatus;
  verdict: string;
  list_ids: string;
  file_count: number;
  escalated: number;
  purged_at: string | null;
  kinds: string | null;
  uploader_ip: string | null;
  identity: string | null;
  claimed_by: string | null;
  claimed_at: string | null;
}

function summary(r: CaseRow): CaseSummary {
  return {
    id: r.id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    status: r.status,
    verdict: r.verdict,
    listIds: JSON.parse(r.list_ids) as string[],
    fileCount: r.file_count,
    kinds: r.kinds ? [...new Set(r.kinds.split(","))].sort() : [],
    escalated: r.escalated === 1,
    purged: r.purged_at !== null,
    uploaderIp: r.uploader_ip,
    account: r.identity ? (JSON.parse(r.identity) as Record<string, string>) : {},
    claimedBy: r.claimed_by,
    claimedAt: r.claimed_at,
  };
}

const SUMMARY_COLUMNS = `c.id, c.created_at, c.updated_at, c.status, c.verdict, c.list_ids, c.file_count,
  c.escalated, c.purged_at, c.uploader_ip, c.identity, c.claimed_by, c.claimed_at,
  (SELECT group_concat(json_extract(m.value, '$.kind')) FROM json_each(c.message, '$.files') fi,
     json_each(fi.value, '$.matches') m) AS kinds`;

export async function listCases(
  db: D1Database,
  q: CaseQuery,
): Promise<{ cases: CaseSummary[]; total: number }> {
  const { where, params } = filterSql(q);
  const order = `${SORTABLE[q.sort]} ${q.dir === "asc" ? "ASC" : "DESC"}, c.id ${q.dir === "asc" ? "ASC" : "DESC"}`;
  const [rows, count] = await db.batch([
    db
      .prepare(
        `SELECT ${SUMMARY_COLUMNS} FROM cases c ${where} ORDER BY ${order} LIMIT ${q.limit} OFFSET ${q.offset}`,
      )
      .bind(...params),
    db.prepare(`SELECT count(*) AS n FROM cases c ${where}`).bind(...params),
  ]);
  return {
    cases: ((rows?.results ?? []) as unknown as CaseRow[]).map(summary),
    total: (count?.results[0] as { n: number } | undefined)?.n ?? 0,
  };
}

/** Cases per status under the filter's other conditions (the queue's tabs), plus escalated open ones. */
export async function statusCounts(db: D1Database, f: CaseFilter): Promise<Record<string, number>> {
  const { where, params } = filterSql({ ...f, status: undefined, open: undefined, escalated: undefined });
  const rows = await db
    .prepare(
      `SELECT c.status AS status, count(*) AS n, sum(c.escalated) AS esc FROM cases c ${where} GROUP BY c.status`,
    )
    .bind(...params)
    .all<{ status: string; n: number; esc: number }>();
  const out: Record<string, number> = { open: 0, escalated: 0, all: 0 };
  for (const r of rows.results) {
    out[r.status] = r.n;
    out.all = (out.all ?? 0) + r.n;
    if (r.status === "new" || r.status === "in_review") {
      out.open = (out.open ?? 0) + r.n;
      out.escalated = (out.escalated ?? 0) + (r.esc ?? 0);
    }
  }
  return out;
}

export interface CaseEvent {
  at: string;
  actor: string;
  action: string;
  from: string;
  to: string;
  reason: string;
}

export interface CaseDetail extends CaseSummary {
  source: string;
  uploaderIp: string | null;
  identity: Record<string, string>;
  decidedAt: string | null;
  decidedBy: string | null;
  message: MatchMessage | null;
  /** State transitions and evidence reveals, oldest first. */
  events: CaseEvent[];
  appeals: { id: number; at: string; complaint: string; outcome: string | null; decidedAt: string | null }[];
  report: { kind: string; state: string; reportId: string | null; finishedAt: string | null } | null;
  /** Other cases of the same uploader, by IP address or by identity. */
  related: {
    id: string;
    createdAt: string;
    status: string;
    by: "ip" | "identity";
    sameAccount: number;
    sameIp: number;
  }[];
  /** Other cases with one of this case's files (same SHA-256), whoever uploaded them. */
  sameFile: {
    id: string;
    createdAt: string;
    status: string;
    uploaderIp: string | null;
    account: Record<string, string>;
  }[];
}

/** The stored message, or null once retention purged it. */
function readMessage(raw: string | null): MatchMessage | null {
  const m = raw ? (JSON.parse(raw) as Partial<MatchMessage>) : null;
  return m?.type === "match" ? (m as MatchMessage) : null;
}

export async function getCase(db: D1Database, id: string): Promise<CaseDetail | null> {
  const row = await db
    .prepare(
      `SELECT ${SUMMARY_COLUMNS}, c.source, c.decided_at, c.decided_by, c.message
       FROM cases c WHERE c.id = ?1`,
    )
    .bind(id)
    .first<
      CaseRow & {
        source: string;
        uploader_ip: string | null;
        identity: string | null;
        decided_at: string | null;
        decided_by: string | null;
        message: string;
      }
    >();
  if (!row) return null;
  const identity = row.identity && row.identity !== "{}" ? row.identity : null;
  const message = readMessage(row.message);
  const sha256s = JSON.stringify((message?.files ?? []).map((f) => f.digests.sha256).filter(Boolean));
  const [events, appeals, report, related, reveals, sameFile] = await db.batch([
    db
      .prepare(
        `SELECT at, actor, action, from_status AS "from", to_status AS "to", reason
         FROM case_events WHERE case_id = ?1 ORDER BY id`,
      )
      .bind(id),
    db
      .prepare(
        `SELECT id, at, complaint, outcome, decided_at AS decidedAt FROM appeals WHERE case_id = ?1 ORDER BY id`,
      )
      .bind(id),
    db
      .prepare(
        "SELECT kind, state, report_id AS reportId, finished_at AS finishedAt FROM reports WHERE case_id = ?1",
      )
      .bind(id),
    db
      .prepare(
        `SELECT id, created_at AS createdAt, status,
           CASE WHEN ?2 IS NOT NULL AND uploader_ip = ?2 THEN 'ip' ELSE 'identity' END AS "by",
           (?3 IS NOT NULL AND identity = ?3) AS sameAccount, (?2 IS NOT NULL AND uploader_ip = ?2) AS sameIp
         FROM cases WHERE id != ?1 AND ((?2 IS NOT NULL AND uploader_ip = ?2) OR (?3 IS NOT NULL AND identity = ?3))
         ORDER BY created_at DESC LIMIT 50`,
      )
      .bind(id, row.uploader_ip, identity),
    // Reveals live in the audit log (evidence-view.ts); the history shows them beside transitions.
    db
      .prepare(
        `SELECT at, actor, subject, detail FROM audit_log
         WHERE action = 'evidence.reveal' AND subject LIKE ?1 ESCAPE '\\' ORDER BY id`,
      )
      .bind(`case:${id.replace(/[\\%_]/g, (ch) => `\\${ch}`)}/file-%`),
    db
      .prepare(
        `SELECT id, created_at AS createdAt, status, uploader_ip AS uploaderIp, identity FROM cases c
         WHERE id != ?1 AND EXISTS (SELECT 1 FROM json_each(c.message, '$.files') fi, json_each(?2) d
           WHERE json_extract(fi.value, '$.digests.sha256') = d.value)
         ORDER BY created_at DESC LIMIT 50`,
      )
      .bind(id, sha256s),
  ]);
  const revealEvents: CaseEvent[] = (
    (reveals?.results ?? []) as { at: string; actor: string; subject: string; detail: string }[]
  ).map((r) => {
    const d = JSON.parse(r.detail) as { reason?: string };
    const file = r.subject.slice(r.subject.lastIndexOf("/") + 1);
    return { at: r.at, actor: r.actor, action: "reveal", from: file, to: file, reason: d.reason ?? "" };
  });
  const allEvents = [...((events?.results ?? []) as CaseEvent[]), ...revealEvents].sort((a, b) =>
    a.at < b.at ? -1 : a.at > b.at ? 1 : 0,
  );
  return {
    ...summary(row),
    source: row.source,
    identity: row.identity ? (JSON.parse(row.identity) as Record<string, string>) : {},
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
    message,
    events: allEvents,
    appeals: (appeals?.results ?? []) as CaseDetail["appeals"],
    report: ((report?.results ?? [])[0] as CaseDetail["report"] | undefined) ?? null,
    related: (related?.results ?? []) as CaseDetail["related"],
    sameFile: (
      (sameFile?.results ?? []) as (CaseDetail["sameFile"][number] & { identity: string | null })[]
    ).map(({ identity: raw, ...r }) => ({
      ...r,
      account: raw ? (JSON.parse(raw) as Record<string, string>) : {},
    })),
  };
}

/** Open cases (new or in review) with a file whose digest equals `digest`: the bulk target. */
export async function openCasesWithDigest(db: D1Database, digest: string, limit = 100): Promise<string[]> {
  const { where, params } = filterSql({ digest });
  const rows = await db
    .prepare(
      `SELECT c.id FROM cases c ${where} AND c.status IN ('new', 'in_review') ORDER BY c.created_at LIMIT ${limit}`,
    )
    .bind(...params)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

/** Most rows one export returns: a D1 response and a Worker's memory stay bounded. */
export const EXPORT_CAP = 5000;

export interface AuditExportRow {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string;
  detail: string;
}

/** Audit entries of the cases the filter selects (the case and its files), oldest first. */
export async function auditOfCases(
  db: D1Database,
  f: CaseFilter,
  cap = EXPORT_CAP,
): Promise<AuditExportRow[]> {
  const { where, params } = filterSql(f);
  const rows = await db
    .prepare(
      `SELECT a.id, a.at, a.actor, a.action, a.subject, a.detail FROM audit_log a
       JOIN cases c ON a.subject = 'case:' || c.id OR substr(a.subject, 1, length(c.id) + 6) = 'case:' || c.id || '/'
       ${where} ORDER BY a.id LIMIT ${cap}`,
    )
    .bind(...params)
    .all<AuditExportRow>();
  return rows.results;
}
