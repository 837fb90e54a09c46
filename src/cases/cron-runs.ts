/**
 * The scheduled handler's runs (`cron_runs`, migrations/0005_obs_cron.sql): each run runs the
 * pending sweep, retention and notifications side by side, logs what they did as one JSON line
 * and records it, so that GET /admin/health can tell a cron that stopped from a quiet one.
 */
import type { Env } from "../env.ts";
import { notifyUnnotified } from "./notify.ts";
import { sweepPending } from "./record.ts";
import { enforceRetention } from "./retention.ts";

/** Rows kept: a day and more of runs every 10 minutes. */
const KEEP_RUNS = 200;

export interface CronRun {
  startedAt: string;
  finishedAt: string;
  swept: number;
  sweepFailed: number;
  sweepUnreadable: number;
  purged: number;
  notified: number;
  /** Tasks that failed: "sweep: TypeError". */
  errors: string[];
}

type Tasks = {
  sweep: typeof sweepPending;
  retention: typeof enforceRetention;
  notify: typeof notifyUnnotified;
};
const TASKS: Tasks = { sweep: sweepPending, retention: enforceRetention, notify: notifyUnnotified };

/** Runs the scheduled tasks; one failing does not stop the others or the record. */
export async function runScheduled(env: Env, now = new Date(), tasks: Tasks = TASKS): Promise<CronRun> {
  const [sweep, retention, notify] = await Promise.allSettled([
    tasks.sweep(env),
    tasks.retention(env, now),
    tasks.notify(env, now),
  ]);
  const errors = (
    [
      ["sweep", sweep],
      ["retention", retention],
      ["notify", notify],
    ] as const
  ).flatMap(([name, r]) => (r.status === "rejected" ? [`${name}: ${errorName(r.reason)}`] : []));
  const s = sweep.status === "fulfilled" ? sweep.value : null;
  const run: CronRun = {
    startedAt: now.toISOString(),
    finishedAt: new Date().toISOString(),
    swept: s?.recorded ?? 0,
    sweepFailed: s?.failed.length ?? 0,
    sweepUnreadable: s?.unreadable.length ?? 0,
    purged:
      retention.status === "fulfilled"
        ? retention.value.reported.length + retention.value.dismissed.length
        : 0,
    notified: notify.status === "fulfilled" ? notify.value : 0,
    errors,
  };
  const line = JSON.stringify({ hashgate: "cron", ...run });
  (errors.length > 0 || run.sweepFailed + run.sweepUnreadable > 0 ? console.error : console.log)(line);
  try {
    await recordCronRun(env.DB, run);
  } catch (e) {
    console.error(JSON.stringify({ hashgate: "error", reason: `cron run not recorded: ${errorName(e)}` }));
  }
  return run;
}

export async function recordCronRun(db: D1Database, r: CronRun): Promise<void> {
  await db.batch([
    db
      .prepare(
        `INSERT INTO cron_runs (started_at, finished_at, swept, sweep_failed, sweep_unreadable, purged, notified, errors)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
      )
      .bind(
        r.startedAt,
        r.finishedAt,
        r.swept,
        r.sweepFailed,
        r.sweepUnreadable,
        r.purged,
        r.notified,
        JSON.stringify(r.errors),
      ),
    db.prepare(`DELETE FROM cron_runs WHERE id <= (SELECT max(id) FROM cron_runs) - ${KEEP_RUNS}`),
  ]);
}

export async function lastCronRun(db: D1Database): Promise<CronRun | null> {
  const r = await db
    .prepare("SELECT * FROM cron_runs ORDER BY started_at DESC, id DESC LIMIT 1")
    .first<Record<string, string | number>>();
  if (!r) return null;
  return {
    startedAt: String(r.started_at),
    finishedAt: String(r.finished_at),
    swept: Number(r.swept),
    sweepFailed: Number(r.sweep_failed),
    sweepUnreadable: Number(r.sweep_unreadable),
    purged: Number(r.purged),
    notified: Number(r.notified),
    errors: JSON.parse(String(r.errors)) as string[],
  };
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : "unknown";
}
