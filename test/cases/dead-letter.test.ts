import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DLQ_PREFIX, parkDeadLetters, replayDeadLetters } from "../../src/cases/dead-letter.ts";
import { notifyUnnotified } from "../../src/cases/notify.ts";
import worker from "../../src/index.ts";
import { CapturingQueue, failing, testEnv } from "../helpers/faults.ts";

const MSG = { type: "match", v: 1, caseId: "hg_01M8G7JJ38YYBX0E9Q4XPEEE3P", files: [] };

describe("dead letters", () => {
  it("are parked in R2 and replayed into MATCHES on an operator's request", async () => {
    const batch = createMessageBatch("hashgate-matches-dlq", [
      { id: "dead-1", timestamp: new Date(), attempts: 6, body: MSG },
    ]);
    const ctx = createExecutionContext();
    await parkDeadLetters(batch, testEnv());
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["dead-1"]);
    const parked = await env.EVIDENCE.get(`${DLQ_PREFIX}dead-1.json`);
    expect(((await parked!.json()) as { body: unknown }).body).toEqual(MSG);

    const queue = new CapturingQueue();
    expect(await replayDeadLetters(testEnv({ MATCHES: queue as never }))).toBe(1);
    expect(queue.sent).toEqual([MSG]);
    expect(await env.EVIDENCE.head(`${DLQ_PREFIX}dead-1.json`)).toBeNull();
  });

  it("are retried, not dropped, when R2 cannot take them", async () => {
    const batch = createMessageBatch("hashgate-matches-dlq", [
      { id: "dead-2", timestamp: new Date(), attempts: 6, body: MSG },
    ]);
    const ctx = createExecutionContext();
    await parkDeadLetters(batch, testEnv({ EVIDENCE: failing(env.EVIDENCE, ["put"]) }));
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["dead-2"]);
  });

  it("go through the Worker's queue handler by queue name", async () => {
    const batch = createMessageBatch("hashgate-matches-dlq", [
      { id: "dead-3", timestamp: new Date(), attempts: 6, body: MSG },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, testEnv());
    await getQueueResult(batch, ctx);
    expect(await env.EVIDENCE.head(`${DLQ_PREFIX}dead-3.json`)).not.toBeNull();
  });

  it("the admin API needs the token to list or replay them", async () => {
    const res = await exports.default.fetch("https://gate.test/admin/dlq/replay", { method: "POST" });
    expect(res.status).toBe(403);
  });
});

describe("notification sweep", () => {
  it("notifies cases the consumer never saw (fallback path), once", async () => {
    const caseId = "hg_01M8G7JJBW4BZHVM7AMGTT4J03";
    const message = {
      type: "match",
      v: 1,
      caseId,
      at: "2026-01-01T00:00:00Z",
      verdict: "block",
      request: {},
      files: [],
    };
    await env.DB.prepare(
      `INSERT OR IGNORE INTO cases (id, created_at, verdict, status, source, file_count, list_ids, message, updated_at)
       VALUES (?1, '2026-01-01T00:00:00Z', 'block', 'new', 'fallback', 0, '[]', ?2, '2026-01-01T00:00:00Z')`,
    )
      .bind(caseId, JSON.stringify(message))
      .run();
    const posts: string[] = [];
    const fakeFetch = (async (_url: unknown, init?: RequestInit) => {
      posts.push(String(init?.body));
      return new Response("ok");
    }) as typeof fetch;
    const e = testEnv({ NOTIFY_WEBHOOK_URL: "https://hooks.example.test/x" });
    expect(await notifyUnnotified(e, new Date(), 20, fakeFetch)).toBeGreaterThanOrEqual(1);
    expect(posts.some((p) => p.includes(caseId))).toBe(true);
    const again = posts.length;
    await notifyUnnotified(e, new Date(), 20, fakeFetch);
    expect(posts.length).toBe(again);
  });
});
