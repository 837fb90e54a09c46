/**
 * Where the scheduled handler's runs are recorded: D1's `cron_runs` (migrations/0005). Every
 * statement on the table goes through `CronRunStore`; what a run does is cron-runs.ts.
 */

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

export interface CronRunStore {
  /** Records a run and drops the oldest beyond the last KEEP_RUNS, in one batch. */
  record(run: CronRun): Promise<void>;
  /** The run that started last, or null before the first. */
  last(): Promise<CronRun | null>;
}

export class D1CronRunStore implements CronRunStore {
  private readonly db: D1Database;

  constructor(db: D1Database) {
    this.db = db;
  }

  async record(r: CronRun): Promise<void> {
    await this.db.batch([
      this.db
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
      this.db.prepare(`DELETE FROM cron_runs WHERE id <= (SELECT max(id) FROM cron_runs) - ${KEEP_RUNS}`),
    ]);
  }

  async last(): Promise<CronRun | null> {
    const r = await this.db
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
}

/** The cron-run store of a D1 binding. */
export function cronRunStore(db: D1Database): CronRunStore {
  return new D1CronRunStore(db);
}
