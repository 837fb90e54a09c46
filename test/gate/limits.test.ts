/**
 * Limits that must not turn a match into a loss (issue 10): case size, per-invocation budgets,
 * slow bindings and the sweep of pending markers. Listed bytes are benign test patterns.
 */
import { createMessageBatch, env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { consumeMatches } from "../../src/cases/consumer.ts";
import {
  assignEvidence,
  evidenceFileKey,
  evidenceMetaKey,
  MAX_EVIDENCE_FILES,
} from "../../src/cases/evidence.ts";
import {
  type GateMessage,
  MAX_MESSAGE_BYTES,
  type MatchedFile,
  type MatchMessage,
} from "../../src/cases/messages.ts";
import { pendingKey, sweepPending } from "../../src/cases/record.ts";
import { CASE_HEADER, gateRequest } from "../../src/gate/gate.ts";
import { Injector } from "../helpers/fault-inject.ts";
import { CapturingQueue, failing, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";

const GATE = "https://uploads.example.test";
const LISTED = testBytes(300, 41);
const QUEUE_LIMIT_BYTES = 128 * 1024;
/** A long name of control characters: each costs 6 bytes of JSON (`\u0001`). */
const HOSTILE_NAME = "\u0001".repeat(1000);

beforeEach(async () => {
  await seedLists(env.HASHES, [
    { meta: testList("l"), entries: [{ algo: "md5", hex: await digestHex("md5", LISTED) }] },
  ]);
});

/** Bytes of a value as JSON, as the queue and D1 count them. */
function jsonBytes(v: unknown): number {
  return new TextEncoder().encode(JSON.stringify(v)).length;
}

/** A queue that refuses what the real one refuses: messages over 128 KB. */
class SizedQueue extends CapturingQueue {
  override async send(body: unknown): Promise<void> {
    if (jsonBytes(body) > QUEUE_LIMIT_BYTES) throw new Error("Queue send failed: message too large");
    return super.send(body);
  }
}

function manyCopies(n: number, name = "") {
  return buildMultipart(
    Array.from({ length: n }, (_, i) => ({ field: `${name}f${i}`, filename: `${name}${i}`, data: LISTED })),
  );
}

async function upload(form: { body: Uint8Array; contentType: string }, over: Record<string, unknown> = {}) {
  const p = uniquePrefix();
  const queue = (over.MATCHES as CapturingQueue | undefined) ?? new SizedQueue();
  const { ctx, settle } = testCtx();
  const started = Date.now();
  const res = await gateRequest(
    new Request(`${GATE}${p}`, {
      method: "POST",
      headers: { "content-type": form.contentType },
      body: form.body,
    }),
    testEnv({ MATCHES: queue as never, ...over }),
    ctx,
  );
  const elapsed = Date.now() - started;
  await settle();
  return { res, elapsed, sent: queue.sent as GateMessage[], origin: await receivedAt(p) };
}

/** The 1,000-part cases take seconds on a loaded machine; the default 5 s is too tight. */
const HEAVY = { timeout: 60_000 };

describe("case size: a 1,000-part upload with long control-character names", HEAVY, () => {
  const form = manyCopies(1000, HOSTILE_NAME);

  it("is recorded through the queue with a message under the cap; the complete record is in R2", async () => {
    const { res, sent, origin } = await upload(form);
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    expect(sent).toHaveLength(1);
    const msg = sent[0] as MatchMessage;
    expect(jsonBytes(msg)).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    expect(msg.omitted!.files + msg.files.length).toBe(1000);
    expect(msg.omitted!.truncatedStrings).toBeGreaterThan(0);
    expect(msg.omitted!.full).toBe(evidenceMetaKey(msg.caseId));
    const full = (await (await env.EVIDENCE.get(evidenceMetaKey(msg.caseId)))!.json()) as MatchMessage;
    expect(full.files).toHaveLength(1000);
    expect(full.files[999]!.filename).toBe(HOSTILE_NAME.slice(0, 500));
    // Copies of one file share one evidence object.
    expect(new Set(full.files.map((f) => f.evidenceKey)).size).toBe(1);
    await consumeMatches(
      createMessageBatch("hashgate-matches", [{ id: "m", timestamp: new Date(), attempts: 1, body: msg }]),
      testEnv(),
    );
    const row = await env.DB.prepare("SELECT file_count, source FROM cases WHERE id = ?1")
      .bind(msg.caseId)
      .first();
    expect(row).toEqual({ file_count: 1000, source: "queue" });
  });

  it("is recorded through the D1 fallback in a bounded row when the queue is down", async () => {
    const queue = new SizedQueue();
    queue.fail = true;
    const { res } = await upload(form, { MATCHES: queue });
    expect(res.status).toBe(451);
    const row = await env.DB.prepare("SELECT source, length(message) AS bytes FROM cases WHERE id = ?1")
      .bind(res.headers.get(CASE_HEADER))
      .first<{ source: string; bytes: number }>();
    expect(row!.source).toBe("fallback");
    expect(row!.bytes).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
  });
});

describe("the sweep of pending markers", HEAVY, () => {
  it("skips, counts and reports a marker it cannot process; later markers are still swept", async () => {
    const queue = new SizedQueue();
    queue.fail = true;
    const { res } = await upload(manyCopies(3), { MATCHES: queue, DB: failing(env.DB, ["prepare"]) });
    const caseId = res.headers.get(CASE_HEADER)!;
    expect(await env.EVIDENCE.head(pendingKey(caseId))).not.toBeNull();
    // Listed before the good marker: "pending/a…" sorts ahead of "pending/hg_…".
    await env.EVIDENCE.put("pending/aaa-not-json", "{truncated");
    const good = JSON.parse(await (await env.EVIDENCE.get(pendingKey(caseId)))!.text()) as MatchMessage;
    const refused = { ...good, caseId: "hg_0000000000ZZZZZZZZZZZZZZZZ", verdict: "bogus" };
    await env.EVIDENCE.put(pendingKey(refused.caseId), JSON.stringify(refused));

    const report = await sweepPending(testEnv());
    expect(report.recorded).toBe(1);
    expect(report.unreadable).toEqual(["pending/aaa-not-json"]);
    expect(report.failed).toEqual([pendingKey(refused.caseId)]);
    expect(await env.DB.prepare("SELECT source FROM cases WHERE id = ?1").bind(caseId).first()).toEqual({
      source: "sweep",
    });
    // The unreadable marker is kept aside for an operator; the failed one stays for the next run.
    expect(await env.EVIDENCE.head("pending-unreadable/aaa-not-json")).not.toBeNull();
    expect(await env.EVIDENCE.head(pendingKey(refused.caseId))).not.toBeNull();
    await env.EVIDENCE.delete([pendingKey(refused.caseId), "pending-unreadable/aaa-not-json"]);
  });
});

/** workerd's budget, emulated: every call after `limit` fails as the runtime fails it. */
class Budget {
  calls = 0;
  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  wrap<T extends object>(target: T, methods: string[]): T {
    return new Proxy(target, {
      get: (obj, prop) => {
        const v = Reflect.get(obj, prop, obj) as unknown;
        if (typeof v !== "function") return v;
        if (typeof prop !== "string" || !methods.includes(prop)) return (v as () => unknown).bind(obj);
        return (...args: unknown[]) => {
          if (++this.calls > this.limit) return Promise.reject(new Error("Too many subrequests."));
          return (v as (...a: unknown[]) => unknown).apply(obj, args);
        };
      },
    });
  }
}

describe("per-invocation budgets", HEAVY, () => {
  /** Subrequests and binding operations one upload of any number of copies may cost. */
  const BOUND = 20;

  it("blocks 400 copies of a listed file in one upload under FAIL_MODE=open, within a bounded number of binding calls", async () => {
    const budget = new Budget(1000);
    const kv = new Injector();
    const r2 = new Injector();
    const d1 = new Injector([], { deep: false });
    const q = new Injector();
    const queue = new SizedQueue();
    const { res, sent, origin } = await upload(manyCopies(400), {
      FAIL_MODE: "open",
      HASHES: budget.wrap(kv.wrap(env.HASHES), ["get", "put", "list"]),
      EVIDENCE: budget.wrap(r2.wrap(env.EVIDENCE), [
        "get",
        "put",
        "head",
        "list",
        "delete",
        "createMultipartUpload",
      ]),
      DB: d1.wrap(budget.wrap(env.DB, ["batch", "exec"])),
      MATCHES: budget.wrap(q.wrap(queue), ["send"]),
    });
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    expect(sent).toHaveLength(1);
    const msg = sent[0] as MatchMessage;
    expect(msg.omitted?.files ?? 0).toBe(400 - msg.files.length);
    const total = [kv, r2, q].reduce((n, i) => n + [...i.calls.values()].reduce((a, b) => a + b, 0), 0);
    const d1Queries = d1.count("prepare");
    expect(total + d1Queries).toBeLessThanOrEqual(BOUND);
    expect(kv.count("get")).toBeLessThanOrEqual(2); // the manifest, one bulk read
    expect(d1Queries).toBeLessThanOrEqual(1); // one allow-list query
  });

  it("never forwards when a binding reports a per-invocation limit, even under FAIL_MODE=open", async () => {
    const budget = new Budget(1); // the manifest read passes, the digest lookup hits the limit
    const { res, origin, sent } = await upload(
      { body: LISTED, contentType: "application/octet-stream" },
      { FAIL_MODE: "open", HASHES: budget.wrap(env.HASHES, ["get"]) },
    );
    expect(res.status).toBe(503);
    expect(origin).toHaveLength(0);
    expect(sent).toHaveLength(0);
  });
});

describe("slow bindings follow FAIL_MODE instead of holding the upload", HEAVY, () => {
  const SLOW_MS = 3000;
  const TIMEOUT = "300";
  const clean = { body: testBytes(500, 42), contentType: "application/octet-stream" };
  const listed = { body: LISTED, contentType: "application/octet-stream" };

  it("a slow KV lookup: 503 when closed, forwarded and recorded as unscanned when open", async () => {
    for (const mode of ["closed", "open"]) {
      const kv = new Injector([{ method: "get", nth: 2, kind: "delay", ms: SLOW_MS }]);
      const { res, elapsed, origin, sent } = await upload(clean, {
        FAIL_MODE: mode,
        BINDING_TIMEOUT_MS: TIMEOUT,
        HASHES: kv.wrap(env.HASHES),
      });
      expect(kv.fired).toBe(true);
      expect(elapsed).toBeLessThan(SLOW_MS);
      if (mode === "closed") {
        expect(res.status).toBe(503);
        expect(origin).toHaveLength(0);
      } else {
        expect(res.status).toBe(201);
        expect(origin).toHaveLength(1);
        expect(sent[0]).toMatchObject({ type: "unscanned", code: "scan-failed" });
      }
    }
  });

  it("a slow manifest read follows FAIL_MODE too", async () => {
    const kv = new Injector([{ method: "get", nth: 1, kind: "delay", ms: SLOW_MS }]);
    const { res, elapsed, origin } = await upload(clean, {
      BINDING_TIMEOUT_MS: TIMEOUT,
      HASHES: kv.wrap(env.HASHES),
    });
    expect(elapsed).toBeLessThan(SLOW_MS);
    expect(res.status).toBe(503);
    expect(origin).toHaveLength(0);
  });

  it("a slow queue: the case goes to D1 and the block is answered without waiting", async () => {
    const q = new Injector([{ method: "send", nth: 1, kind: "delay", ms: SLOW_MS }]);
    const queue = new SizedQueue();
    const { res, elapsed, origin } = await upload(listed, {
      BINDING_TIMEOUT_MS: TIMEOUT,
      MATCHES: q.wrap(queue),
    });
    expect(elapsed).toBeLessThan(SLOW_MS);
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const row = await env.DB.prepare("SELECT source FROM cases WHERE id = ?1")
      .bind(res.headers.get(CASE_HEADER))
      .first();
    expect(row).toEqual({ source: "fallback" });
    // The send is not cancelled (SECURITY.md known gap 7): it lands late, and still makes one case.
    await new Promise((r) => setTimeout(r, SLOW_MS));
    expect(queue.sent).toHaveLength(1);
    await consumeMatches(
      createMessageBatch("hashgate-matches", [
        { id: "late", timestamp: new Date(), attempts: 1, body: queue.sent[0] as MatchMessage },
      ]),
      testEnv(),
    );
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM cases WHERE id = ?1")
      .bind(res.headers.get(CASE_HEADER))
      .first();
    expect(rows).toEqual({ n: 1 });
  });

  it("a slow allow-list query: the hits stand", async () => {
    const d1 = new Injector([
      { method: "all", nth: 1, kind: "delay", ms: SLOW_MS },
      { method: "first", nth: 1, kind: "delay", ms: SLOW_MS },
    ]);
    const { res, elapsed, origin } = await upload(listed, {
      BINDING_TIMEOUT_MS: TIMEOUT,
      DB: d1.wrap(env.DB),
    });
    expect(d1.fired).toBe(true);
    expect(elapsed).toBeLessThan(SLOW_MS);
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
  });

  it("a slow evidence write: never forwarded, in either mode", async () => {
    for (const mode of ["closed", "open"]) {
      const r2 = new Injector([{ method: "put", nth: 1, kind: "delay", ms: SLOW_MS }]);
      const { res, elapsed, origin } = await upload(listed, {
        FAIL_MODE: mode,
        BINDING_TIMEOUT_MS: TIMEOUT,
        EVIDENCE: r2.wrap(env.EVIDENCE),
      });
      expect(elapsed).toBeLessThan(SLOW_MS);
      expect(res.status).toBe(503);
      expect(origin).toHaveLength(0);
    }
  });
});

describe("evidence cap (SECURITY.md known gap 8)", () => {
  it("keeps the bytes of MAX_EVIDENCE_FILES distinct files, blocking ones first, and counts the rest", () => {
    const caseId = "hg_01JD0000000000000000000000";
    const files = Array.from(
      { length: MAX_EVIDENCE_FILES + 10 },
      (_, i): MatchedFile => ({
        index: i,
        field: "f",
        filename: null,
        declaredType: null,
        sniffedType: "application/octet-stream",
        size: 1,
        digests: { md5: i.toString(16).padStart(32, "0") },
        evidenceKey: null,
        // The last file is the only one that blocks: it must keep its bytes.
        matches: [{ listId: "l", kind: "exact", action: i === MAX_EVIDENCE_FILES + 9 ? "block" : "flag" }],
      }),
    );
    const copy = { ...files[0]!, index: files.length, evidenceKey: null };
    files.push(copy);
    const notKept = assignEvidence(caseId, files)!;
    expect(notKept.count).toBe(10);
    expect(files[MAX_EVIDENCE_FILES + 9]!.evidenceKey).toBe(evidenceFileKey(caseId, MAX_EVIDENCE_FILES + 9));
    expect(copy.evidenceKey).toBe(evidenceFileKey(caseId, 0));
    expect(files.filter((f) => f.evidenceKey === null)).toHaveLength(10);
  });
});
