/** Unscanned uploads as reviewers see them (D1 `unscanned`, written by the queue consumer). */
import type { RequestInfo, UnscannedFile } from "../cases/messages.ts";

export interface UnscannedRecord {
  id: string;
  at: string;
  code: string;
  reason: string;
  fileCount: number;
  request: RequestInfo;
  files: UnscannedFile[];
}

/** Records shown on one page: each holds up to a queue message's worth of file detail. */
export const UNSCANNED_PAGE = 50;

/** The newest unscanned records. */
export async function recentUnscanned(db: D1Database, limit = UNSCANNED_PAGE): Promise<UnscannedRecord[]> {
  const { results } = await db
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
