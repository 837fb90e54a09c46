/** A case list's query parameters, read from a review URL and validated (the case store runs it). */

import { type CaseQuery, MAX_PAGE, SORTABLE, type SortKey } from "../cases/store.ts";
import { isCaseStatus } from "../cases/workflow.ts";
import { AppError } from "../errors.ts";

export class QueryError extends AppError {
  constructor(message: string) {
    super("bad_request", message);
    this.name = "QueryError";
  }
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/;

/** Reads and validates list parameters from a URL's query. */
export function parseCaseQuery(q: URLSearchParams): CaseQuery {
  const out: CaseQuery = { sort: "created", dir: "desc", limit: 50, offset: 0 };
  const status = q.get("status");
  // "open" (new and in review) and "escalated" (open and escalated) are the reviewer's views.
  if (status === "open" || status === "escalated") {
    out.open = true;
    if (status === "escalated") out.escalated = true;
  } else if (status && status !== "any") {
    if (!isCaseStatus(status)) throw new QueryError("unknown status");
    out.status = status;
  }
  if (q.get("escalated") === "1") out.escalated = true;
  const list = q.get("list");
  if (list) out.listId = list.slice(0, 100);
  const kind = q.get("kind");
  if (kind) {
    if (kind !== "exact" && kind !== "pdq") throw new QueryError("kind must be exact or pdq");
    out.kind = kind;
  }
  for (const k of ["from", "to"] as const) {
    const v = q.get(k);
    if (v) {
      if (!ISO_DATE.test(v)) throw new QueryError(`${k} must be an ISO date`);
      out[k] = v;
    }
  }
  const digest = q.get("digest");
  if (digest) {
    if (!/^[0-9a-fA-F]{32,64}$/.test(digest)) throw new QueryError("digest must be hex");
    out.digest = digest.toLowerCase();
  }
  const sort = q.get("sort");
  if (sort) {
    if (!Object.hasOwn(SORTABLE, sort)) throw new QueryError("sort must be created or updated");
    out.sort = sort as SortKey;
  }
  const dir = q.get("dir");
  // Open work is served oldest first unless asked otherwise: the longest wait goes first.
  if (!dir && out.open) out.dir = "asc";
  if (dir) {
    if (dir !== "asc" && dir !== "desc") throw new QueryError("dir must be asc or desc");
    out.dir = dir;
  }
  const limit = Number(q.get("limit") ?? out.limit);
  const offset = Number(q.get("offset") ?? 0);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
    throw new QueryError(`limit must be 1..${MAX_PAGE}`);
  if (!Number.isInteger(offset) || offset < 0) throw new QueryError("offset must be >= 0");
  out.limit = limit;
  out.offset = offset;
  return out;
}
