/**
 * Where uploads forwarded (or held) without a full scan are recorded: D1's `unscanned`
 * (migrations/0001, 0003), written by the queue consumer, read by the review UI's unscanned page
 * and the admin API's `/unscanned`. Every statement on the table goes through `UnscannedStore`.
 */
import type { RequestInfo, UnscannedFile, UnscannedMessage } from "./messages.ts";

/** One record as reviewers see it. */
export interface UnscannedRecord {
  id: string;
  at: string;
  code: string;
  reason: string;
  fileCount: number;
  request: RequestInfo;
  files: UnscannedFile[];
}

/** A record in the admin API's short listing (no request or file detail). */
export interface UnscannedBrief {
  id: string;
  at: string;
  code: string;
  reason: string;
  fileCount: number;
}

/** Records since an instant, counted by code and by file reason, and the newest of them. */
export interface UnscannedSummary {
  byCode: Record<string, number>;
  byFileReason: Record<string, number>;
  recent: UnscannedBrief[];
}

export interface UnscannedStore {
  /** Records an unscanned upload unless its id is already recorded. */
  record(msg: UnscannedMessage): Promise<void>;
  /** The newest `limit` records, newest first. */
  recent(limit: number): Promise<UnscannedRecord[]>;
  /** Counts over every record created at or after `since` (ISO), and the newest `recentLimit`. */
  summarySince(since: string, recentLimit: number): Promise<UnscannedSummary>;
}

export class D1UnscannedStore implements UnscannedStore {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  async record(msg: UnscannedMessage): Promise<void> {
    const files = msg.files ?? [];
    await this.db
      .prepare(
        `INSERT OR IGNORE INTO unscanned (id, created_at, reason, request, code, file_count, files)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
      )
      .bind(
        msg.id,
        msg.at,
        msg.reason,
        JSON.stringify(msg.request),
        msg.code ?? "scan-failed",
        files.length + (msg.omitted?.files ?? 0),
        JSON.stringify(files),
      )
      .run();
  }

  async recent(limit: number): Promise<UnscannedRecord[]> {
    const { results } = await this.db
      .prepare(
        `SELECT id, created_at, code, reason, file_count, request, files FROM unscanned
         ORDER BY created_at DESC LIMIT ?1`,
      )
      .bind(limit)
      .all<{
        id: string;
        created_at: string;
        code: string;
        reason: string;
        file_count: number;
        request: string;
        files: string;
      }>();
    return results.map((r) => ({
      id: r.id,
      at: r.created_at,
      code: r.code,
      reason: r.reason,
      fileCount: r.file_count,
      request: JSON.parse(r.request) as RequestInfo,
      files: JSON.parse(r.files) as UnscannedFile[],
    }));
  }

  async summarySince(since: string, recentLimit: number): Promise<UnscannedSummary> {
    const [byCode, byFileReason, recent] = await this.db.batch([
      this.db
        .prepare("SELECT code, count(*) AS n FROM unscanned WHERE created_at >= ?1 GROUP BY code")
        .bind(since),
      this.db
        .prepare(
          `SELECT json_extract(f.value, '$.reason') AS file_reason, count(*) AS n
           FROM unscanned u, json_each(u.files) f WHERE u.created_at >= ?1 GROUP BY file_reason`,
        )
        .bind(since),
      this.db
        .prepare(
          `SELECT id, created_at AS at, code, reason, file_count AS fileCount FROM unscanned
           WHERE created_at >= ?1 ORDER BY created_at DESC LIMIT ${recentLimit}`,
        )
        .bind(since),
    ]);
    const counts = (rows: unknown[] | undefined, key: string) =>
      Object.fromEntries(
        ((rows ?? []) as Record<string, string | number>[]).map((r) => [r[key], r.n]),
      ) as Record<string, number>;
    return {
      byCode: counts(byCode?.results, "code"),
      byFileReason: counts(byFileReason?.results, "file_reason"),
      recent: (recent?.results ?? []) as UnscannedBrief[],
    };
  }
}

/** The unscanned-upload store of a D1 binding. */
export function unscannedStore(db: D1Database): UnscannedStore {
  return new D1UnscannedStore(db);
}
