/**
 * Dead letters: MATCHES messages whose retries ran out land on the dead-letter queue, which
 * this Worker also consumes. Each is parked in R2 (`dlq/<message id>.json`) where it stays
 * until an operator replays it (`POST /admin/dlq/replay`) once the cause is fixed: a queue
 * keeps messages only for days, R2 keeps them until they are dealt with. Replaying is safe:
 * the consumer's insert is idempotent.
 */
import type { Env } from "../env.ts";

export const DLQ_PREFIX = "dlq/";

/** The R2 key of a parked message: `dlq/<message id>.json`. */
function parkedKey(messageId: string): string {
  return `${DLQ_PREFIX}${safeId(messageId)}.json`;
}

/** The message id a parked key was written for. */
function parkedId(key: string): string {
  return key.slice(DLQ_PREFIX.length).replace(/\.json$/, "");
}

/** Dead-letter queues are named `<queue>-dlq` (wrangler.toml). */
export function isDeadLetterQueue(queue: string): boolean {
  return queue.endsWith("-dlq");
}

export interface ParkedMessage {
  id: string;
  queue: string;
  attempts: number;
  parkedAt: string;
  body: unknown;
}

/** Parks each dead letter in R2; a failed write retries that message (nothing is dropped). */
export async function parkDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const m of batch.messages) {
    const parked: ParkedMessage = {
      id: m.id,
      queue: batch.queue,
      attempts: m.attempts,
      parkedAt: new Date().toISOString(),
      body: m.body,
    };
    try {
      await env.EVIDENCE.put(parkedKey(m.id), JSON.stringify(parked), {
        httpMetadata: { contentType: "application/json" },
      });
      console.error("hashgate: dead letter parked", m.id);
      m.ack();
    } catch (e) {
      console.error("hashgate: could not park dead letter; will retry", m.id, e);
      m.retry({ delaySeconds: 60 });
    }
  }
}

/** Ids of parked dead letters (never their content: it holds uploader data). */
export async function listDeadLetters(env: Env, limit = 1000): Promise<string[]> {
  const listed = await env.EVIDENCE.list({ prefix: DLQ_PREFIX, limit });
  return listed.objects.map((o) => parkedId(o.key));
}

/** Sends parked dead letters back to MATCHES and removes them. Returns how many were replayed. */
export async function replayDeadLetters(env: Env, limit = 100): Promise<number> {
  const listed = await env.EVIDENCE.list({ prefix: DLQ_PREFIX, limit });
  let replayed = 0;
  for (const obj of listed.objects) {
    const stored = await env.EVIDENCE.get(obj.key);
    if (!stored) continue;
    const parked = (await stored.json()) as ParkedMessage;
    // Send first, delete second: a crash in between replays the message twice, which the idempotent consumer absorbs.
    await env.MATCHES.send(parked.body, { contentType: "json" });
    await env.EVIDENCE.delete(obj.key);
    replayed++;
  }
  return replayed;
}

function safeId(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 200);
}
