/**
 * Retention, run from the scheduled handler. Reported cases keep their evidence and data at
 * least one year after the report (18 U.S.C. 2258A(h)); a configured period below that is
 * raised to it. Dismissed cases are purged after DISMISSED_RETENTION_DAYS (EU 2021/1232: delete
 * what a report does not need) unless a finished report still binds them. Purging deletes the
 * R2 evidence first, then scrubs personal data from D1 and marks the case; a crash in between
 * is repaired by the next run. Cases still open (new, in review, confirmed, appealed) are kept.
 */
import type { Env } from "../env.ts";
import { AUDIT, auditLog } from "./audit.ts";
import { caseStore } from "./case-store.ts";
import { evidencePrefix } from "./evidence.ts";
import { applyTogether } from "./transaction.ts";

/** The legal minimum: one year after a report. */
export const MIN_REPORTED_RETENTION_DAYS = 365;
export const DEFAULT_DISMISSED_RETENTION_DAYS = 30;
/** Cases purged per run: keeps one cron invocation well inside its CPU and subrequest limits. */
export const PURGE_BATCH = 50;

const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  reportedDays: number;
  dismissedDays: number;
}

export class RetentionConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RetentionConfigError";
  }
}

/** A whole number of days, or the default when unset; anything else is a configuration error. */
function days(name: string, v: string | undefined, fallback: number): number {
  if (v === undefined || v.trim() === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new RetentionConfigError(`${name} must be a whole number of days, not "${v}"`);
  return n;
}

const cache = new WeakMap<object, RetentionPolicy>();

/** The retention policy, read and validated once per isolate (per env object). */
export function retentionPolicy(env: Env): RetentionPolicy {
  let policy = cache.get(env);
  if (!policy) {
    policy = parsePolicy(env);
    cache.set(env, policy);
  }
  return policy;
}

function parsePolicy(env: Env): RetentionPolicy {
  const reported = days("REPORTED_RETENTION_DAYS", env.REPORTED_RETENTION_DAYS, MIN_REPORTED_RETENTION_DAYS);
  if (reported < MIN_REPORTED_RETENTION_DAYS) {
    console.warn(
      `hashgate retention: REPORTED_RETENTION_DAYS=${reported} is below the legal minimum; using 365`,
    );
  }
  return {
    reportedDays: Math.max(MIN_REPORTED_RETENTION_DAYS, reported),
    dismissedDays: Math.max(
      1,
      days("DISMISSED_RETENTION_DAYS", env.DISMISSED_RETENTION_DAYS, DEFAULT_DISMISSED_RETENTION_DAYS),
    ),
  };
}

export interface RetentionResult {
  reported: string[];
  dismissed: string[];
}

async function deleteEvidence(bucket: R2Bucket, caseId: string): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix: evidencePrefix(caseId), ...(cursor ? { cursor } : {}) });
    if (page.objects.length) await bucket.delete(page.objects.map((o) => o.key));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}

async function purgeCase(env: Env, caseId: string, why: string, at: string): Promise<void> {
  await deleteEvidence(env.EVIDENCE, caseId);
  const db = env.DB;
  await applyTogether(db, [
    ...caseStore(db).purge(caseId, at),
    auditLog(db).insert(
      { actor: "system:retention", action: AUDIT.purge, subject: `case:${caseId}`, detail: { why } },
      { at },
    ),
  ]);
}

/** Purges what the policy no longer keeps. Returns the purged case ids. */
export async function enforceRetention(env: Env, now: Date = new Date()): Promise<RetentionResult> {
  const policy = retentionPolicy(env);
  const reportedCutoff = new Date(now.getTime() - policy.reportedDays * DAY_MS).toISOString();
  const dismissedCutoff = new Date(now.getTime() - policy.dismissedDays * DAY_MS).toISOString();
  const at = now.toISOString();
  const { reported, dismissed } = await caseStore(env.DB).purgeCandidates(
    reportedCutoff,
    dismissedCutoff,
    PURGE_BATCH,
  );
  const out: RetentionResult = { reported: [], dismissed: [] };
  for (const id of reported) {
    await purgeCase(env, id, `reported more than ${policy.reportedDays} days ago`, at);
    out.reported.push(id);
  }
  for (const id of dismissed) {
    await purgeCase(env, id, `dismissed more than ${policy.dismissedDays} days ago`, at);
    out.dismissed.push(id);
  }
  return out;
}
