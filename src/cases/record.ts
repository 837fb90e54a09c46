/**
 * Records a case so that no match is lost: the queue first; if the send fails, the case row
 * goes straight into D1 (the consumer's own idempotent insert); if D1 fails too, a marker in
 * R2 (`pending/<caseId>`) that the scheduled sweep turns into a case. Only when all three fail
 * does recording fail.
 */

import type { Env } from "../env.ts";
import { ScanInfrastructureError } from "../errors.ts";
import { insertCase } from "./consumer.ts";
import type { MatchMessage, UnscannedMessage } from "./messages.ts";

export type RecordPath = "queue" | "d1" | "r2-pending";

const PENDING_PREFIX = "pending/";

export function pendingKey(caseId: string): string {
  return `${PENDING_PREFIX}${caseId}`;
}

export async function recordCase(env: Env, msg: MatchMessage): Promise<RecordPath> {
  try {
    await env.MATCHES.send(msg, { contentType: "json" });
    return "queue";
  } catch (queueErr) {
    console.error("hashgate: queue send failed, recording case in D1", msg.caseId, queueErr);
  }
  try {
    await insertCase(env.DB, msg, "fallback");
    return "d1";
  } catch (d1Err) {
    console.error("hashgate: D1 fallback failed, leaving a pending marker in R2", msg.caseId, d1Err);
  }
  try {
    await env.EVIDENCE.put(pendingKey(msg.caseId), JSON.stringify(msg));
    return "r2-pending";
  } catch (r2Err) {
    throw new ScanInfrastructureError("recording", r2Err);
  }
}

/** Notes an upload forwarded without a verdict (fail-open). Best effort: logs if the queue fails. */
export async function recordUnscanned(env: Env, msg: UnscannedMessage): Promise<void> {
  try {
    await env.MATCHES.send(msg, { contentType: "json" });
  } catch (e) {
    console.error("hashgate: could not record unscanned upload", msg.id, msg.reason, e);
  }
}

/** Scheduled sweep: turns pending markers into cases. Returns how many it recorded. */
export async function sweepPending(env: Env, limit = 100): Promise<number> {
  const listed = await env.EVIDENCE.list({ prefix: PENDING_PREFIX, limit });
  let done = 0;
  for (const obj of listed.objects) {
    const body = await env.EVIDENCE.get(obj.key);
    if (!body) continue;
    const msg = (await body.json()) as MatchMessage;
    await insertCase(env.DB, msg, "sweep");
    await env.EVIDENCE.delete(obj.key);
    done++;
  }
  return done;
}
