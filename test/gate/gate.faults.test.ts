import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { consumeMatches } from "../../src/cases/consumer.ts";
import type { GateMessage, MatchMessage } from "../../src/cases/messages.ts";
import { pendingKey, sweepPending } from "../../src/cases/record.ts";
import { CASE_HEADER, gateRequest } from "../../src/gate/gate.ts";
import { CapturingQueue, failing, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { bodyOf, receivedAt, uniquePrefix } from "../helpers/origin.ts";

const GATE = "https://uploads.example.test";
const LISTED = testBytes(4000, 21);
const CLEAN = testBytes(4000, 22);

beforeEach(async () => {
  await seedLists(env.HASHES, [
    { meta: testList("l"), entries: [{ algo: "md5", hex: await digestHex("md5", LISTED) }] },
  ]);
});

/** KV whose reads of hash entries fail while the manifest still loads. */
function kvFailingEntries(): KVNamespace {
  return new Proxy(env.HASHES, {
    get(obj, prop) {
      if (prop === "get") {
        return (key: string, opts: unknown) => {
          if (key.startsWith("h/")) return Promise.reject(new Error("injected KV outage"));
          return obj.get(key, opts as "json");
        };
      }
      const v = Reflect.get(obj, prop);
      return typeof v === "function" ? v.bind(obj) : v;
    },
  });
}

/** R2 whose puts under a prefix fail. */
function r2FailingPuts(prefix: string): R2Bucket {
  return new Proxy(env.EVIDENCE, {
    get(obj, prop) {
      if (prop === "put") {
        return (key: string, ...rest: unknown[]) =>
          key.startsWith(prefix)
            ? Promise.reject(new Error("injected R2 outage"))
            : (obj.put as (...a: unknown[]) => unknown)(key, ...rest);
      }
      const v = Reflect.get(obj, prop);
      return typeof v === "function" ? v.bind(obj) : v;
    },
  });
}

async function upload(body: Uint8Array, over: Record<string, unknown>, queue = new CapturingQueue()) {
  const p = uniquePrefix();
  const { ctx, settle } = testCtx();
  const res = await gateRequest(
    new Request(`${GATE}${p}`, { method: "POST", body }),
    testEnv({ MATCHES: queue as never, ...over }),
    ctx,
  );
  await settle();
  return { res, p, sent: queue.sent as GateMessage[], origin: await receivedAt(p) };
}

describe("fail-closed (default)", () => {
  it("answers 503 with Retry-After and forwards nothing when the manifest cannot be read", async () => {
    const { res, origin } = await upload(CLEAN, { HASHES: failing(env.HASHES, ["get"]) });
    expect(res.status).toBe(503);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(origin).toHaveLength(0);
  });

  it("answers 503 when hash lookups fail after the body was read", async () => {
    const { res, origin } = await upload(CLEAN, { HASHES: kvFailingEntries() });
    expect(res.status).toBe(503);
    expect(origin).toHaveLength(0);
  });

  it("answers 503 when the R2 spool fails for a large body", async () => {
    const { res, origin } = await upload(testBytes(300_000, 5), {
      HOLD_MEMORY_BYTES: "1000",
      EVIDENCE: failing(env.EVIDENCE, ["createMultipartUpload"]),
    });
    expect(res.status).toBe(503);
    expect(origin).toHaveLength(0);
  });
});

describe("fail-open", () => {
  it("forwards and records the upload as unscanned when KV fails", async () => {
    const { res, sent, origin } = await upload(CLEAN, { FAIL_MODE: "open", HASHES: kvFailingEntries() });
    expect(res.status).toBe(201);
    expect(bodyOf(origin[0]!)).toEqual(CLEAN);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ type: "unscanned", reason: expect.stringContaining("KV") });
  });

  it("streams the upload through unscanned when the manifest cannot be read", async () => {
    const { res, sent, origin } = await upload(CLEAN, {
      FAIL_MODE: "open",
      HASHES: failing(env.HASHES, ["get"]),
    });
    expect(res.status).toBe(201);
    expect(bodyOf(origin[0]!)).toEqual(CLEAN);
    expect(sent[0]).toMatchObject({ type: "unscanned" });
  });

  it("still cannot forward a body it failed to hold", async () => {
    const { res, origin } = await upload(testBytes(300_000, 6), {
      FAIL_MODE: "open",
      HOLD_MEMORY_BYTES: "1000",
      EVIDENCE: failing(env.EVIDENCE, ["createMultipartUpload"]),
    });
    expect(res.status).toBe(503);
    expect(origin).toHaveLength(0);
  });
});

describe("a match is never lost nor forwarded", () => {
  it("does not forward a match whose evidence cannot be written, in either mode", async () => {
    for (const mode of ["closed", "open"]) {
      const { res, origin } = await upload(LISTED, { FAIL_MODE: mode, EVIDENCE: r2FailingPuts("evidence/") });
      expect(res.status).toBe(503);
      expect(origin).toHaveLength(0);
    }
  });

  it("records the case in D1 when the queue send fails", async () => {
    const queue = new CapturingQueue();
    queue.fail = true;
    const { res, origin } = await upload(LISTED, {}, queue);
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const caseId = res.headers.get(CASE_HEADER)!;
    const row = await env.DB.prepare("SELECT source, verdict FROM cases WHERE id = ?").bind(caseId).first();
    expect(row).toEqual({ source: "fallback", verdict: "block" });
  });

  it("leaves a pending marker when queue and D1 fail, and the sweep turns it into one case", async () => {
    const queue = new CapturingQueue();
    queue.fail = true;
    const { res } = await upload(LISTED, { DB: failing(env.DB, ["prepare"]) }, queue);
    expect(res.status).toBe(451);
    const caseId = res.headers.get(CASE_HEADER)!;
    expect(await env.EVIDENCE.head(pendingKey(caseId))).not.toBeNull();
    expect((await sweepPending(testEnv())).recorded).toBeGreaterThanOrEqual(1);
    expect(await env.EVIDENCE.head(pendingKey(caseId))).toBeNull();
    const rows = await env.DB.prepare("SELECT source FROM cases WHERE id = ?").bind(caseId).all();
    expect(rows.results).toEqual([{ source: "sweep" }]);
  });

  it("answers 503 (never forwards) when no recording path works", async () => {
    const queue = new CapturingQueue();
    queue.fail = true;
    const { res, origin } = await upload(
      LISTED,
      { DB: failing(env.DB, ["prepare"]), EVIDENCE: r2FailingPuts("pending/") },
      queue,
    );
    expect(res.status).toBe(503);
    expect(origin).toHaveLength(0);
  });
});

describe("queue consumer", () => {
  async function blockedMessage(): Promise<MatchMessage> {
    const { sent } = await upload(LISTED, {});
    return sent[0] as MatchMessage;
  }

  it("writes one case per message, even when a message is delivered twice", async () => {
    const msg = await blockedMessage();
    const batch = createMessageBatch("hashgate-matches", [
      { id: "m1", timestamp: new Date(), attempts: 1, body: msg },
      { id: "m2", timestamp: new Date(), attempts: 2, body: msg },
    ]);
    const ctx = createExecutionContext();
    await consumeMatches(batch, testEnv());
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2"]);
    // Redelivered again in a later batch: still one row.
    await consumeMatches(
      createMessageBatch("hashgate-matches", [{ id: "m3", timestamp: new Date(), attempts: 3, body: msg }]),
      testEnv(),
    );
    const rows = await env.DB.prepare("SELECT id, source, status, file_count FROM cases WHERE id = ?")
      .bind(msg.caseId)
      .all();
    expect(rows.results).toEqual([{ id: msg.caseId, source: "queue", status: "new", file_count: 1 }]);
  });

  it("retries messages whose D1 write fails and those it cannot read", async () => {
    const msg = await blockedMessage();
    const batch = createMessageBatch("hashgate-matches", [
      { id: "ok", timestamp: new Date(), attempts: 1, body: msg },
      { id: "junk", timestamp: new Date(), attempts: 1, body: { hello: 1 } as never },
    ]);
    const ctx = createExecutionContext();
    await consumeMatches(batch, testEnv({ DB: failing(env.DB, ["prepare"]) }));
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId).sort()).toEqual(["junk", "ok"]);
  });
});

describe("origin failures", () => {
  it("answer 502 with a JSON error when the origin cannot be reached", async () => {
    const res = await gateRequest(
      new Request(`${GATE}/x`, { method: "POST", body: CLEAN }),
      testEnv({ ORIGIN_URL: "http://127.0.0.1:9", MATCHES: new CapturingQueue() as never }),
      testCtx().ctx,
    ).catch((e: unknown) => e);
    // gateRequest throws GateErrors for the router's one error handler to answer.
    expect(res).toMatchObject({ code: "origin_unreachable", status: 502 });
  });
});
