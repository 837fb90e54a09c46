/**
 * Keeps queue messages (and so D1 rows and R2 pending markers) under MAX_MESSAGE_BYTES. An
 * upload of 1,000 parts with long names made a 6 MB case message that the queue refused and D1
 * in production would too: the message is cut here, the complete one staying in R2
 * (`evidence/<case>/upload.json`). Cutting is deterministic: strings first, then files, blocking
 * ones kept first (caseFileRank), and the message says what it left out.
 */
import {
  MAX_MESSAGE_BYTES,
  type MatchMessage,
  type Omitted,
  type RequestInfo,
  type UnscannedMessage,
} from "./messages.ts";

/** Longest string kept in a cut message: enough to recognise a name, bounded even when every character is escaped (6 bytes). */
const CUT_STRING_CHARS = 120;
/** Indices listed in a FileCount (`notJudged`, `evidenceNotKept`): the count says the rest. */
export const MAX_LISTED_INDICES = 100;

const encoder = new TextEncoder();

/** Bytes of a value as JSON (what the queue and D1 store). */
export function jsonBytes(v: unknown): number {
  return encoder.encode(JSON.stringify(v)).length;
}

class Cutter {
  count = 0;
  cut(s: string, max = CUT_STRING_CHARS): string {
    if (s.length <= max) return s;
    this.count++;
    return `${s.slice(0, max)}…`;
  }
  maybe(s: string | null, max?: number): string | null {
    return s === null ? null : this.cut(s, max);
  }
}

function cutRequest(r: RequestInfo, c: Cutter): RequestInfo {
  return {
    ...r,
    host: c.cut(r.host),
    path: c.cut(r.path, 1000),
    query: c.cut(r.query, 1000),
    userAgent: c.maybe(r.userAgent, 500),
    identity: Object.fromEntries(Object.entries(r.identity).map(([k, v]) => [c.cut(k), c.cut(v)])),
    contentType: c.maybe(r.contentType, 500),
  };
}

interface Named {
  field: string;
  filename: string | null;
  declaredType: string | null;
}

function cutNames<F extends Named>(f: F, c: Cutter): F {
  return {
    ...f,
    field: c.cut(f.field),
    filename: c.maybe(f.filename),
    declaredType: c.maybe(f.declaredType),
  };
}

/** Rank of a case file: blocking files first, so that a cut message and the evidence cap keep them. */
export function caseFileRank(f: { matches?: { action: string }[] }): number {
  if (f.matches?.some((m) => m.action === "block")) return 0;
  return (f.matches?.length ?? 0) > 0 ? 1 : 2;
}

/** `files` ordered by rank, upload order within a rank. */
export function byRank<F extends { index: number; matches?: { action: string }[] }>(files: F[]): F[] {
  return [...files].sort((a, b) => caseFileRank(a) - caseFileRank(b) || a.index - b.index);
}

/** The longest prefix of `files` whose JSON fits in `budget` bytes (at least one file). */
function fittingPrefix<F>(files: F[], budget: number): F[] {
  let used = 0;
  let n = 0;
  for (const f of files) {
    used += jsonBytes(f) + 1;
    if (used > budget && n > 0) break;
    n++;
  }
  return files.slice(0, n);
}

/** The message as sent: unchanged when it fits, else cut, with `omitted` saying what went. */
function fitToQueue<M extends MatchMessage | UnscannedMessage, F extends Named & { index: number }>(
  msg: M,
  files: F[],
  set: (m: M, files: F[]) => M,
  full: string | undefined,
): M {
  if (jsonBytes(msg) <= MAX_MESSAGE_BYTES) return msg;
  const c = new Cutter();
  const cutFiles = byRank(files).map((f) => cutNames(f, c));
  const base = set({ ...msg, request: cutRequest(msg.request, c) }, []);
  // Room for the `omitted` note and the array's brackets.
  const budget = MAX_MESSAGE_BYTES - jsonBytes(base) - 256;
  const kept = fittingPrefix(cutFiles, budget).sort((a, b) => a.index - b.index);
  const omitted: Omitted = {
    files: files.length - kept.length,
    truncatedStrings: c.count,
    ...(full ? { full } : {}),
  };
  return { ...set(base, kept), omitted };
}

/** A case message that fits the queue; `full` is the R2 key of the complete one. */
export function fitMatchMessage(msg: MatchMessage, full: string): MatchMessage {
  return fitToQueue(msg, msg.files, (m, files) => ({ ...m, files }), full);
}

/** An unscanned record that fits the queue (the files beyond it are counted, not listed). */
export function fitUnscannedMessage(msg: UnscannedMessage): UnscannedMessage {
  return fitToQueue(
    msg,
    msg.files ?? [],
    (m, files) => ({ ...m, ...(msg.files ? { files } : {}) }),
    undefined,
  );
}
