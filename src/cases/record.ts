/**
 * Records a case so that no match is lost: the queue first; if the send fails, the case row
 * goes straight into D1 (the consumer's own idempotent insert); if D1 fails too, a marker in
 * R2 (`pending/<caseId>`) that the scheduled sweep turns into a case. Only when all three fail
 * does recording fail.
 */

import type { Env } from "../env.ts";
import { ScanInfrastructureError, withTimeout } from "../errors.ts";
import { insertCase } from "./consumer.ts";
import { evidenceMetaKey, r2PutTimeoutMs } from "./evidence.ts";
import { fitMatchMessage, fitUnscannedMessage } from "./message-size.ts";
import { isGateMessage, type MatchMessage, type UnscannedMessage } from "./messages.ts";

export type RecordPath = "queue" | "d1" | "r2-pending";

export function pendingKey(caseId: string): string {
  return `pending/${caseId}`;
}

/**
 * Records a case. `msg` is the complete message; what is sent (and stored in D1 or the pending
 * marker) is cut to MAX_MESSAGE_BYTES, pointing at `fullKey` (R2) for the rest. Each path has
 * `timeoutMs`: a slow queue falls back to D1 like a failing one.
 */
export async function recordCase(
  env: Env,
  msg: MatchMessage,
  fullKey: string,
  timeoutMs: number,
): Promise<RecordPath> {
  const sent = fitMatchMessage(msg, fullKey);
  try {
    await withTimeout(env.MATCHES.send(sent, { contentType: "json" }), timeoutMs);
    return "queue";
  } catch (queueErr) {
    console.error("hashgate: queue send failed, recording case in D1", msg.caseId, queueErr);
  }
  try {
    await withTimeout(insertCase(env.DB, sent, "fallback"), timeoutMs);
    return "d1";
  } catch (d1Err) {
    console.error("hashgate: D1 fallback failed, leaving a pending marker in R2", msg.caseId, d1Err);
  }
  try {
    const body = JSON.stringify(sent);
    await withTimeout(env.EVIDENCE.put(pendingKey(msg.caseId), body), r2PutTimeoutMs(body.length, timeoutMs));
    return "r2-pending";
  } catch (r2Err) {
    throw new ScanInfrastructureError("recording", r2Err);
  }
}

/** Notes an upload forwarded without a verdict. Best effort: logs if the queue fails or is slow. */
export async function recordUnscanned(env: Env, msg: UnscannedMessage, timeoutMs: number): Promise<void> {
  try {
    await withTimeout(env.MATCHES.send(fitUnscannedMessage(msg), { contentType: "json" }), timeoutMs);
  } catch (e) {
    console.error("hashgate: could not record unscanned upload", msg.id, msg.reason, e);
  }
}

/** Where a marker that cannot be read as a case is moved, out of the sweep's way, for an operator. */
export const UNREADABLE_PENDING_PREFIX = "pending-unreadable/";

export interface SweepReport {
  /** Markers turned into cases. */
  recorded: number;
  /** Markers left in place after a failure (D1 down): the next sweep retries them. */
  failed: string[];
  /** Markers that are not a case message, moved to `pending-unreadable/`. */
  unreadable: string[];
}

/**
 * Scheduled sweep: turns pending markers into cases. A marker it cannot process is skipped,
 * counted and reported, never allowed to stop the sweep: later markers are still swept.
 */
export async function sweepPending(env: Env, limit = 100): Promise<SweepReport> {
  const report: SweepReport = { recorded: 0, failed: [], unreadable: [] };
  let cursor: string | undefined;
  let seen = 0;
  do {
    const listed = await env.EVIDENCE.list({ prefix: "pending/", limit, ...(cursor ? { cursor } : {}) });
    for (const obj of listed.objects) {
      seen++;
      try {
        await sweepOne(env, obj.key, report);
      } catch (e) {
        console.error("hashgate: pending marker could not be swept; left for the next run", obj.key, e);
        report.failed.push(obj.key);
      }
    }
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor && seen < limit * 5);
  return report;
}

async function sweepOne(env: Env, key: string, report: SweepReport): Promise<void> {
  const body = await env.EVIDENCE.get(key);
  if (!body) return;
  const text = await body.text();
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    msg = null;
  }
  if (!isGateMessage(msg) || msg.type !== "match" || `pending/${msg.caseId}` !== key) {
    // Unreadable: keep the bytes for an operator, out of the way of later markers.
    await env.EVIDENCE.put(`${UNREADABLE_PENDING_PREFIX}${key.slice("pending/".length)}`, text);
    await env.EVIDENCE.delete(key);
    console.error("hashgate: unreadable pending marker moved aside", key);
    report.unreadable.push(key);
    return;
  }
  // A marker written before messages were cut may be too large for a D1 row: cut it now.
  const inserted = await insertCase(env.DB, fitMatchMessage(msg, evidenceMetaKey(msg.caseId)), "sweep");
  // INSERT OR IGNORE also ignores a row D1 refuses (a CHECK): delete the marker only once the case exists.
  if (!inserted && !(await env.DB.prepare("SELECT 1 FROM cases WHERE id = ?1").bind(msg.caseId).first()))
    throw new Error(`case ${msg.caseId} refused by D1`);
  await env.EVIDENCE.delete(key);
  report.recorded++;
}
