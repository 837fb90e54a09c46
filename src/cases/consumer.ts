/**
 * Turns MATCHES messages into D1 rows. Idempotent: the case id is the primary key and rows
 * are inserted with INSERT OR IGNORE, so at-least-once delivery (and a case first recorded
 * by the gate's fallback path) never makes two cases.
 */

import type { Env } from "../env.ts";
import { type CaseSource, caseStore } from "./case-store.ts";
import type { MatchMessage, UnscannedMessage } from "./messages.ts";
import { isGateMessage } from "./messages.ts";
import { notifyNewCase } from "./notify.ts";
import { unscannedStore } from "./unscanned-store.ts";

/** Inserts the case of a match message unless it exists. Returns true if a row was written. */
export async function insertCase(db: D1Database, msg: MatchMessage, source: CaseSource): Promise<boolean> {
  const listIds = [...new Set(msg.files.flatMap((f) => f.matches.map((m) => m.listId)))].sort();
  const now = new Date().toISOString();
  return caseStore(db).insertCase(msg, source, listIds, now);
}

/** Records an upload forwarded unscanned, with the files it could not hash (idempotent). */
export async function insertUnscanned(db: D1Database, msg: UnscannedMessage): Promise<void> {
  await unscannedStore(db).record(msg);
}

/** Queue consumer: one D1 write per message; a failed write retries that message only. */
export async function consumeMatches(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  for (const message of batch.messages) {
    const body = message.body;
    if (!isGateMessage(body)) {
      // Unreadable: retrying cannot help, but dropping would lose it; the DLQ keeps it.
      console.error("hashgate consumer: unknown message shape", message.id);
      message.retry();
      continue;
    }
    try {
      if (body.type === "match") {
        await insertCase(env.DB, body, "queue");
        // After the insert: a failed notification retries the message, the case is kept.
        await notifyNewCase(env, body);
      } else await insertUnscanned(env.DB, body);
      message.ack();
    } catch (e) {
      console.error("hashgate consumer: recording or notifying failed; will retry", message.id, e);
      message.retry({ delaySeconds: Math.min(300, 2 ** message.attempts * 5) });
    }
  }
}
