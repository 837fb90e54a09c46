/**
 * The scheduled handler's runs (`cron_runs`, migrations/0005_obs_cron.sql): each run runs the
 * pending sweep, retention and notifications side by side, logs what they did as one JSON line
 * and records it (cron-run-store.ts), so that GET /admin/health can tell a cron that stopped
 * from a quiet one.
 */
import type { Env } from "../env.ts";
import { type CronRun, cronRunStore } from "./cron-run-store.ts";
import { notifyUnnotified } from "./notify.ts";
import { sweepPending } from "./record.ts";
import { enforceRetention } from "./retention.ts";

export type { CronRun } from "./cron-run-store.ts";

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
    await cronRunStore(env.DB).record(run);
  } catch (e) {
    console.error(JSON.stringify({ hashgate: "error", reason: `cron run not recorded: ${errorName(e)}` }));
  }
  return run;
}

function errorName(e: unknown): string {
  return e instanceof Error ? e.name : "unknown";
}
