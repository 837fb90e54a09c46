/**
 * Read side of the case table (case lists with filters, case detail, uploader history): part
 * of the D1 implementation of CaseStore (case-store.ts), which is how the rest of the code
 * reads them.
 */
import type { MatchMessage } from "./messages.ts";
import type { CaseStatus } from "./status.ts";

export interface CaseFilter {
  status?: CaseStatus;
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
  if (f.listId) parts.push(`EXISTS (SELECT 1 FROM json_each(c.list_ids) l WHERE l.value = ${p(f.listId)})`);
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
  };
}

const SUMMARY_COLUMNS = `c.id, c.created_at, c.updated_at, c.status, c.verdict, c.list_ids, c.file_count,
  c.escalated, c.purged_at,
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

export interface CaseDetail extends CaseSummary {
  source: string;
  uploaderIp: string | null;
  identity: Record<string, string>;
  decidedAt: string | null;
  decidedBy: string | null;
  message: MatchMessage | null;
  events: { at: string; actor: string; action: string; from: string; to: string; reason: string }[];
  appeals: { id: number; at: string; complaint: string; outcome: string | null; decidedAt: string | null }[];
  report: { kind: string; state: string; reportId: string | null; finishedAt: string | null } | null;
  /** Other cases of the same uploader, by IP address or by identity. */
  related: { id: string; createdAt: string; status: string; by: "ip" | "identity" }[];
}

/** The stored message, or null once retention purged it. */
function readMessage(raw: string | null): MatchMessage | null {
  const m = raw ? (JSON.parse(raw) as Partial<MatchMessage>) : null;
  return m?.type === "match" ? (m as MatchMessage) : null;
}

export async function getCase(db: D1Database, id: string): Promise<CaseDetail | null> {
  const row = await db
    .prepare(
      `SELECT ${SUMMARY_COLUMNS}, c.source, c.uploader_ip, c.identity, c.decided_at, c.decided_by, c.message
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
  const [events, appeals, report, related] = await db.batch([
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
           CASE WHEN ?2 IS NOT NULL AND uploader_ip = ?2 THEN 'ip' ELSE 'identity' END AS "by"
         FROM cases WHERE id != ?1 AND ((?2 IS NOT NULL AND uploader_ip = ?2) OR (?3 IS NOT NULL AND identity = ?3))
         ORDER BY created_at DESC LIMIT 50`,
      )
      .bind(id, row.uploader_ip, identity),
  ]);
  return {
    ...summary(row),
    source: row.source,
    uploaderIp: row.uploader_ip,
    identity: row.identity ? (JSON.parse(row.identity) as Record<string, string>) : {},
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
    message: readMessage(row.message),
    events: (events?.results ?? []) as CaseDetail["events"],
    appeals: (appeals?.results ?? []) as CaseDetail["appeals"],
    report: ((report?.results ?? [])[0] as CaseDetail["report"] | undefined) ?? null,
    related: (related?.results ?? []) as CaseDetail["related"],
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
