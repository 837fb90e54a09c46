/**
 * The counts operators and the public read: the review UI's stats page (src/review/stats.ts)
 * and the transparency report (`hashgate transparency`, src/cli/transparency.ts) both come from
 * here, so the page and the published figures cannot disagree. Plain SQL over D1's `cases`,
 * `case_events`, `appeals` and `unscanned` tables, run through a `run(sql, params)` the caller
 * provides: D1 in the Worker (`d1Run`), `wrangler d1 execute` from the CLI. This file is the
 * store of these read-only statistics: the one place their SQL is written and run on D1
 * (scripts/check-stores.ts lists it with the other stores).
 *
 * Ranges are whole UTC days: `from` and `to` (YYYY-MM-DD) both included. Parameters are ?1 (the
 * first instant) and ?2 (the instant after the last day).
 */

export type Row = Record<string, unknown>;
export type Run = (sql: string, params: string[]) => Promise<Row[]>;

export interface DayRange {
  from: string;
  to: string;
}

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Checks a range (a clear error, not an empty report, for a typo). */
export function parseRange(from: string, to: string): DayRange {
  for (const d of [from, to])
    if (
      !DATE.test(d) ||
      Number.isNaN(Date.parse(`${d}T00:00:00Z`)) ||
      new Date(`${d}T00:00:00Z`).toISOString().slice(0, 10) !== d
    )
      throw new RangeError(`not a date (YYYY-MM-DD): ${d}`);
  if (from > to) throw new RangeError(`--from ${from} is after --to ${to}`);
  return { from, to };
}

/** The last `days` days up to today (UTC), today included. */
export function lastDays(days: number, now = new Date()): DayRange {
  const to = now.toISOString().slice(0, 10);
  return { from: new Date(now.getTime() - (days - 1) * DAY_MS).toISOString().slice(0, 10), to };
}

/** The query parameters of a range: its first instant and the instant after its last day. */
export function rangeParams(r: DayRange): string[] {
  const end = new Date(Date.parse(`${r.to}T00:00:00Z`) + DAY_MS).toISOString();
  return [`${r.from}T00:00:00.000Z`, end];
}

/** Every day of a range, in order (the charts' x axis: days without data are zero). */
export function daysOf(r: DayRange): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${r.from}T00:00:00Z`); t <= Date.parse(`${r.to}T00:00:00Z`); t += DAY_MS)
    out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

export const STATS_SQL = {
  /** Blocked and flagged uploads (one case per upload). */
  verdicts: `SELECT verdict, count(*) AS n FROM cases WHERE created_at >= ?1 AND created_at < ?2 GROUP BY verdict`,
  /**
   * Blocked uploads per list and category. The list ids survive retention; the category comes
   * from the case message, which retention purges ("unknown" then).
   */
  blockedByListCategory: `SELECT l.value AS list_id,
      coalesce((SELECT json_extract(m.value, '$.category')
                FROM json_each(c.message, '$.files') f, json_each(f.value, '$.matches') m
                WHERE json_extract(m.value, '$.listId') = l.value LIMIT 1), 'unknown') AS category,
      count(*) AS n
    FROM cases c, json_each(c.list_ids) l
    WHERE c.verdict = 'block' AND c.created_at >= ?1 AND c.created_at < ?2
    GROUP BY list_id, category ORDER BY n DESC, list_id, category`,
  blocksPerDayPerList: `SELECT substr(c.created_at, 1, 10) AS day, l.value AS list_id, count(*) AS n
    FROM cases c, json_each(c.list_ids) l
    WHERE c.verdict = 'block' AND c.created_at >= ?1 AND c.created_at < ?2
    GROUP BY day, list_id ORDER BY day, list_id`,
  unscannedByReason: `SELECT code, count(*) AS n FROM unscanned
    WHERE created_at >= ?1 AND created_at < ?2 GROUP BY code ORDER BY n DESC, code`,
  /** Reports made: cases that went to `reported` (CyberTipline or the report webhook). */
  reportsMade: `SELECT count(*) AS n FROM case_events WHERE action = 'report' AND at >= ?1 AND at < ?2`,
  appealsReceived: `SELECT count(*) AS n FROM appeals WHERE at >= ?1 AND at < ?2`,
  /** Appeals decided: `upheld` kept the decision, `overturned` reversed it. */
  appealOutcomes: `SELECT outcome, count(*) AS n FROM appeals
    WHERE outcome IS NOT NULL AND decided_at >= ?1 AND decided_at < ?2 GROUP BY outcome`,
  /** Blocks a reviewer dismissed (the automated decision judged wrong) in the range. */
  blocksDismissed: `SELECT count(DISTINCT e.case_id) AS n FROM case_events e JOIN cases c ON c.id = e.case_id
    WHERE e.action = 'dismiss' AND c.verdict = 'block' AND e.at >= ?1 AND e.at < ?2`,
  /** Seconds from a case's creation to its first decision (confirm or dismiss), first decisions in range. */
  decisionSeconds: `SELECT substr(d.first_at, 1, 10) AS day,
      (julianday(d.first_at) - julianday(c.created_at)) * 86400.0 AS seconds
    FROM (SELECT case_id, min(at) AS first_at FROM case_events
          WHERE action IN ('confirm', 'dismiss') GROUP BY case_id) d
    JOIN cases c ON c.id = d.case_id
    WHERE d.first_at >= ?1 AND d.first_at < ?2 ORDER BY day, seconds`,
} as const;

export interface Transparency {
  from: string;
  to: string;
  uploadsBlocked: number;
  uploadsFlagged: number;
  blockedByListCategory: { list: string; category: string; uploads: number }[];
  reportsMade: number;
  appealsReceived: number;
  appealsUpheld: number;
  /** Decisions reversed on appeal (appeal outcome `overturned`). */
  decisionsReversed: number;
  /** Automated blocks a reviewer dismissed (false positives found on review). */
  blocksDismissedOnReview: number;
  decisions: number;
  /** Median seconds from an upload's block or flag to its first decision; null without decisions. */
  medianSecondsToDecision: number | null;
}

export interface Charts {
  days: string[];
  blocksPerDayPerList: { day: string; list: string; n: number }[];
  unscannedByReason: { reason: string; n: number }[];
  /** Per day with decisions: median seconds to the first decision. */
  medianDecisionPerDay: { day: string; seconds: number; decisions: number }[];
}

const num = (v: unknown) => Number(v ?? 0) || 0;

/** The median of sorted or unsorted numbers (mean of the middle two for an even count). */
export function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The figures of the transparency report (EU 2021/1232 Art. 3(1)(g)(vii); DSA Art. 15, 24). */
export async function transparencyFigures(run: Run, range: DayRange): Promise<Transparency> {
  const p = rangeParams(range);
  const [verdicts, byList, reports, appeals, outcomes, dismissed, seconds] = await Promise.all([
    run(STATS_SQL.verdicts, p),
    run(STATS_SQL.blockedByListCategory, p),
    run(STATS_SQL.reportsMade, p),
    run(STATS_SQL.appealsReceived, p),
    run(STATS_SQL.appealOutcomes, p),
    run(STATS_SQL.blocksDismissed, p),
    run(STATS_SQL.decisionSeconds, p),
  ]);
  const by = (rows: Row[], key: string, value: string) => num(rows.find((r) => r[key] === value)?.n);
  return {
    from: range.from,
    to: range.to,
    uploadsBlocked: by(verdicts, "verdict", "block"),
    uploadsFlagged: by(verdicts, "verdict", "flag"),
    blockedByListCategory: byList.map((r) => ({
      list: String(r.list_id),
      category: String(r.category),
      uploads: num(r.n),
    })),
    reportsMade: num(reports[0]?.n),
    appealsReceived: num(appeals[0]?.n),
    appealsUpheld: by(outcomes, "outcome", "upheld"),
    decisionsReversed: by(outcomes, "outcome", "overturned"),
    blocksDismissedOnReview: num(dismissed[0]?.n),
    decisions: seconds.length,
    medianSecondsToDecision: roundOrNull(median(seconds.map((r) => num(r.seconds)))),
  };
}

/** Unscanned uploads per reason code created in [since, until) (ISO instants): the health report's. */
export async function unscannedByReason(
  run: Run,
  since: string,
  until: string,
): Promise<Record<string, number>> {
  const rows = await run(STATS_SQL.unscannedByReason, [since, until]);
  return Object.fromEntries(rows.map((r) => [String(r.code), num(r.n)]));
}

/** The stats page's series. */
export async function chartSeries(run: Run, range: DayRange): Promise<Charts> {
  const p = rangeParams(range);
  const [perDay, unscanned, seconds] = await Promise.all([
    run(STATS_SQL.blocksPerDayPerList, p),
    run(STATS_SQL.unscannedByReason, p),
    run(STATS_SQL.decisionSeconds, p),
  ]);
  const byDay = new Map<string, number[]>();
  for (const r of seconds) {
    const day = String(r.day);
    byDay.set(day, [...(byDay.get(day) ?? []), num(r.seconds)]);
  }
  return {
    days: daysOf(range),
    blocksPerDayPerList: perDay.map((r) => ({ day: String(r.day), list: String(r.list_id), n: num(r.n) })),
    unscannedByReason: unscanned.map((r) => ({ reason: String(r.code), n: num(r.n) })),
    medianDecisionPerDay: [...byDay].map(([day, xs]) => ({
      day,
      seconds: roundOrNull(median(xs)) ?? 0,
      decisions: xs.length,
    })),
  };
}

function roundOrNull(x: number | null): number | null {
  return x === null ? null : Math.round(x);
}

/** The part of a D1 binding `d1Run` uses (structural: the CLI compiles without workers types). */
interface D1Like {
  prepare(sql: string): { bind(...values: string[]): { all(): Promise<{ results?: unknown[] }> } };
}

/** `run` over D1. */
export function d1Run(db: D1Like): Run {
  return async (sql, params) =>
    ((
      await db
        .prepare(sql)
        .bind(...params)
        .all()
    ).results ?? []) as Row[];
}
