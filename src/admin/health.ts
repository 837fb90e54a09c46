/**
 * What GET /admin/health reports (README: Operating it): the lists in force with their version,
 * entries, time since their last publish and licence expiry; dead letters and pending markers
 * waiting in R2; unscanned uploads of the last 24 hours by reason; the cron's last run. Status
 * "degraded" (HTTP 503, so an uptime monitor alerts without parsing the body) when no list is
 * active, the cron has not run for 30 minutes, or dead letters wait.
 */
import { cronRunStore } from "../cases/cron-run-store.ts";
import { DLQ_PREFIX } from "../cases/dead-letter.ts";
import { d1Run, unscannedByReason } from "../cases/stats.ts";
import { historyKey, type ListVersionRecord } from "../lists/layout.ts";
import { type ListManifest, listStatus, MANIFEST_KEY } from "../lists/manifest.ts";

export interface HealthEnv {
  HASHES: KVNamespace;
  DB: D1Database;
  EVIDENCE: R2Bucket;
}

/** The cron runs every 10 minutes: three missed runs is a stopped cron. */
export const CRON_STALE_MS = 30 * 60_000;
/** Objects counted under an R2 prefix before saying "at least". */
const COUNT_CAP = 1000;
const DAY_MS = 86_400_000;
/** A licence ending this soon is a warning. */
const LICENCE_WARN_DAYS = 30;

/** Counts every list by status (shared with GET /admin/status). */
export function listCounts(manifest: ListManifest | null, now: Date): Record<string, number> {
  const lists: Record<string, number> = { active: 0, expired: 0, disabled: 0, unpublished: 0 };
  for (const l of manifest?.lists ?? []) lists[listStatus(l, now)] = (lists[listStatus(l, now)] ?? 0) + 1;
  return lists;
}

/** Objects under a prefix, up to COUNT_CAP (`capped` then). */
export async function countObjects(
  bucket: R2Bucket,
  prefix: string,
): Promise<{ count: number; capped: boolean }> {
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, limit: 500, ...(cursor ? { cursor } : {}) });
    count += page.objects.length;
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor && count < COUNT_CAP);
  return { count, capped: cursor !== undefined };
}

export async function healthReport(env: HealthEnv, now = new Date()) {
  const manifest = await env.HASHES.get<ListManifest>(MANIFEST_KEY, "json");
  const active = (manifest?.lists ?? []).filter((l) => listStatus(l, now) === "active");
  const since = new Date(now.getTime() - DAY_MS).toISOString();
  const [histories, dlq, pending, unscanned, cron] = await Promise.all([
    Promise.all(active.map((l) => env.HASHES.get<ListVersionRecord[]>(historyKey(l.id), "json"))),
    countObjects(env.EVIDENCE, DLQ_PREFIX),
    countObjects(env.EVIDENCE, "pending/"),
    unscannedByReason(d1Run(env.DB), since, now.toISOString()),
    cronRunStore(env.DB).last(),
  ]);
  const lists = active.map((l, i) => {
    const published = histories[i]?.findLast((h) => h.kind === "publish")?.at ?? null;
    const licenceDays = Math.floor(
      (Date.parse(`${l.licensedUntil}T00:00:00Z`) + DAY_MS - now.getTime()) / DAY_MS,
    );
    return {
      id: l.id,
      version: l.version,
      action: l.action,
      exactEntries: l.exactEntries ?? null,
      pdqEntries: l.pdqEntries ?? null,
      lastPublishedAt: published,
      secondsSincePublish: published ? Math.round((now.getTime() - Date.parse(published)) / 1000) : null,
      licensedUntil: l.licensedUntil,
      licenceDaysLeft: licenceDays,
    };
  });
  const cronAgeMs = cron ? now.getTime() - Date.parse(cron.startedAt) : null;
  const problems: string[] = [];
  if (active.length === 0) problems.push("no active hash list");
  if (cronAgeMs === null) problems.push("the cron has never run");
  else if (cronAgeMs > CRON_STALE_MS)
    problems.push(`the cron last ran ${Math.round(cronAgeMs / 60_000)} min ago`);
  if (dlq.count > 0) problems.push(`${dlq.count}${dlq.capped ? "+" : ""} dead letter(s) wait in R2 dlq/`);
  const warnings = [
    ...lists
      .filter((l) => l.licenceDaysLeft <= LICENCE_WARN_DAYS)
      .map((l) => `list ${l.id}: licence ends ${l.licensedUntil}`),
    ...(cron?.errors.length ? [`last cron run failed: ${cron.errors.join(", ")}`] : []),
    ...(pending.count > 0 ? [`${pending.count} pending marker(s) wait for the sweep`] : []),
  ];
  return {
    status: problems.length > 0 ? ("degraded" as const) : ("ok" as const),
    at: now.toISOString(),
    problems,
    warnings,
    lists: { counts: listCounts(manifest, now), active: lists },
    deadLetters: dlq,
    pendingMarkers: pending,
    unscannedLast24h: unscanned,
    cron: cron ? { ...cron, secondsAgo: Math.round((cronAgeMs ?? 0) / 1000) } : null,
  };
}
