// New-case notifications from the queue consumer: sent once, failures retried, case never lost.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { consumeMatches } from "../../src/cases/consumer.ts";
import { newCaseNotification, notifyNewCase } from "../../src/cases/notify.ts";
import { resetDb, reviewEnv, seedCase } from "../helpers/cases.ts";

beforeEach(resetDb);

describe("notifyNewCase", () => {
  it("posts Slack-compatible JSON once per case, without uploader data or digests", async () => {
    const m = await seedCase({ identity: { "x-account-id": "secret-user" } });
    const posts: string[] = [];
    const fetchFn = async (_u: RequestInfo | URL, init?: RequestInit) => {
      posts.push(String(init?.body));
      return new Response("ok");
    };
    const E = reviewEnv({
      NOTIFY_WEBHOOK_URL: "https://hooks.example/x",
      REVIEW_PUBLIC_URL: "https://gate.example",
    });
    expect(await notifyNewCase(E, m, fetchFn)).toBe(true);
    expect(await notifyNewCase(E, m, fetchFn)).toBe(false);
    expect(posts).toHaveLength(1);
    const body = JSON.parse(posts[0]!) as { text: string; blocks: unknown[] };
    expect(body.text).toContain(m.caseId);
    expect(posts[0]).toContain(`https://gate.example/review/cases/${m.caseId}`);
    for (const secret of ["secret-user", "203.0.113.7", m.files[0]!.digests.sha256!])
      expect(posts[0]).not.toContain(secret);
    expect(newCaseNotification(m, null).blocks).toHaveLength(1);
  });

  it("throws on a failing webhook and leaves the case un-notified for the retry", async () => {
    const m = await seedCase();
    const E = reviewEnv({ NOTIFY_WEBHOOK_URL: "https://hooks.example/x" });
    await expect(notifyNewCase(E, m, async () => new Response("no", { status: 500 }))).rejects.toThrow(
      /HTTP 500/,
    );
    const row = await env.DB.prepare("SELECT notified_at FROM cases WHERE id = ?1").bind(m.caseId).first();
    expect(row).toEqual({ notified_at: null });
  });
});

describe("consumer with notifications", () => {
  it("stores the case and retries the message when the webhook is unreachable", async () => {
    const m = await seedCase();
    await env.DB.prepare("DELETE FROM cases").run();
    const batch = createMessageBatch("hashgate-matches", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: m },
    ]);
    const ctx = createExecutionContext();
    await consumeMatches(batch, reviewEnv({ NOTIFY_WEBHOOK_URL: "http://127.0.0.1:1/unreachable" }));
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages.map((x) => x.msgId)).toEqual(["m1"]);
    expect(result.explicitAcks).toEqual([]);
    const row = await env.DB.prepare("SELECT id, notified_at FROM cases WHERE id = ?1")
      .bind(m.caseId)
      .first();
    expect(row).toEqual({ id: m.caseId, notified_at: null });
  });

  it("acks and marks the case notified when the webhook accepts", async () => {
    const m = await seedCase();
    await env.DB.prepare("DELETE FROM cases").run();
    const batch = createMessageBatch("hashgate-matches", [
      { id: "m2", timestamp: new Date(), attempts: 1, body: m },
    ]);
    const ctx = createExecutionContext();
    await consumeMatches(batch, reviewEnv({ NOTIFY_WEBHOOK_URL: `${env.ORIGIN_URL}/__notify-test` }));
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual(["m2"]);
    const row = await env.DB.prepare("SELECT notified_at FROM cases WHERE id = ?1")
      .bind(m.caseId)
      .first<{ notified_at: string }>();
    expect(row?.notified_at).toBeTruthy();
  });
});
