/**
 * New-case notification: a Slack-compatible JSON message (`text` + `blocks`) to a configured
 * webhook. It names the case, its lists and a link, never the uploader, digests or filenames:
 * chat channels are not the place for personal data or hash values.
 */

import type { Env } from "../env.ts";
import { caseStore } from "./case-store.ts";
import type { MatchMessage } from "./messages.ts";

export function newCaseNotification(msg: MatchMessage, reviewUrl: string | null) {
  const lists = [...new Set(msg.files.flatMap((f) => f.matches.map((m) => m.listId)))].sort();
  const kinds = [...new Set(msg.files.flatMap((f) => f.matches.map((m) => m.kind)))].sort();
  const link = reviewUrl ? `${reviewUrl.replace(/\/+$/, "")}/review/cases/${msg.caseId}` : null;
  const text = `New hashgate case ${msg.caseId}: ${msg.verdict}, ${msg.files.length} file(s), lists ${lists.join(", ")} (${kinds.join("/")})`;
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: link ? `${text}\n<${link}|Open in review>` : text } },
    ],
  };
}

export class NotifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NotifyError";
  }
}

/**
 * Posts the notification once per case: `cases.notified_at` is set after the webhook accepted
 * it, so a redelivered message does not notify twice, and a failed post throws (the consumer
 * retries the message; the case row is already stored).
 */
export async function notifyNewCase(
  env: Env,
  msg: MatchMessage,
  doFetch: typeof fetch = fetch,
): Promise<boolean> {
  if (!env.NOTIFY_WEBHOOK_URL) return false;
  const store = caseStore(env.DB);
  const row = await store.getRow(msg.caseId);
  if (!row || row.notified_at) return false;
  let res: Response;
  try {
    res = await doFetch(env.NOTIFY_WEBHOOK_URL, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(newCaseNotification(msg, env.REVIEW_PUBLIC_URL ?? null)),
    });
  } catch (e) {
    throw new NotifyError(`notify webhook unreachable: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!res.ok) throw new NotifyError(`notify webhook answered HTTP ${res.status}`);
  await store.markNotified(msg.caseId, new Date().toISOString());
  return true;
}

/** A case the queue consumer did not see (recorded by the gate's fallback or the pending sweep) is notified after this long. */
export const NOTIFY_SWEEP_AFTER_MS = 2 * 60_000;

/**
 * Scheduled: notifies cases still without a notification after NOTIFY_SWEEP_AFTER_MS — those
 * the gate recorded straight into D1 or the sweep recovered, and those whose post failed.
 * Returns how many were notified; a failing webhook leaves the rest for the next run.
 */
export async function notifyUnnotified(
  env: Env,
  now = new Date(),
  limit = 20,
  doFetch: typeof fetch = fetch,
): Promise<number> {
  if (!env.NOTIFY_WEBHOOK_URL) return 0;
  const before = new Date(now.getTime() - NOTIFY_SWEEP_AFTER_MS).toISOString();
  const messages = await caseStore(env.DB).unnotifiedMessages(before, limit);
  let sent = 0;
  for (const message of messages) {
    try {
      if (await notifyNewCase(env, JSON.parse(message) as MatchMessage, doFetch)) sent++;
    } catch (e) {
      console.error("hashgate: notification sweep stopped", e);
      break;
    }
  }
  return sent;
}
