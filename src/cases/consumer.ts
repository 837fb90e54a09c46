/**
 * Turns MATCHES messages into D1 rows. Idempotent: the case id is the primary key and rows
 * are inserted with INSERT OR IGNORE, so at-least-once delivery (and a case first recorded
 * by the gate's fallback path) never makes two cases.
 */

import type { Env } from "../env.ts";
import type { MatchMessage, UnscannedMessage } from "./messages.ts";
import { isGateMessage } from "./messages.ts";
import { notifyNewCase } from "./notify.ts";

export type CaseSource = "queue" | "fallback" | "sweep";

/** Inserts the case of a match message unless it exists. Returns true if a row was written. */
export async function insertCase(db: D1Database, msg: MatchMessage, source: CaseSource): Promise<boolean> {
  const listIds = [...new Set(msg.files.flatMap((f) => f.matches.map((m) => m.listId)))].sort();
  const now = new Date().toISOString();
  const res = await db
    .prepare(
      `INSERT OR IGNORE INTO cases
         (id, created_at, verdict, status, source, uploader_ip, identity, request_path, file_count, list_ids, message, updated_at)
       VALUES (?1, ?2, ?3, 'new', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
    )
    .bind(
      msg.caseId,
      msg.at,
      msg.verdict,
      source,
      msg.request.ip,
      JSON.stringify(msg.request.identity),
      msg.request.path,
      msg.files.length + (msg.omitted?.files ?? 0),
      JSON.stringify(listIds),
      JSON.stringify(msg),
      now,
    )
    .run();
  return (res.meta.changes ?? 0) > 0;
}

/** Records an upload forwarded unscanned, with the files it could not hash (idempotent). */
export async function insertUnscanned(db: D1Database, msg: UnscannedMessage): Promise<void> {
  const files = msg.files ?? [];
  await db
    .prepare(
      `INSERT OR IGNORE INTO unscanned (id, created_at, reason, request, code, file_count, files)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
    )
    .bind(
      msg.id,
      msg.at,
      msg.reason,
      JSON.stringify(msg.request),
      msg.code ?? "scan-failed",
      files.length + (msg.omitted?.files ?? 0),
      JSON.stringify(files),
    )
    .run();
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
