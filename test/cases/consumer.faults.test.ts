/**
 * Fault matrix of the queue consumer (consumeMatches): each D1 call of a message (case insert,
 * notification check, notified mark) fails or runs late, the notification webhook is down, and
 * messages arrive twice. Must hold: every message ends acked with exactly one case row (a
 * failure retries that message only, and the redelivery completes it), and the reviewers are
 * notified once per case. Extends test/gate/gate.faults.test.ts ("queue consumer"). Messages come
 * from real blocked uploads of benign TEST DATA.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { consumeMatches } from "../../src/cases/consumer.ts";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { gateRequest } from "../../src/gate/gate.ts";
import { type Fault, Injector, MemoryQueue } from "../helpers/fault-inject.ts";
import { formatMatrix, type MatrixRow } from "../helpers/fault-matrix.ts";
import { testCtx, testEnv } from "../helpers/faults.ts";
import { testServerUrl } from "../helpers/fixtures.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";

const LISTED = [testBytes(3000, 71), testBytes(3000, 72)];

beforeAll(async () => {
  const entries = await Promise.all(
    LISTED.map(async (b) => ({ algo: "md5" as const, hex: await digestHex("md5", b) })),
  );
  await seedLists(env.HASHES, [{ meta: testList("l", { algorithms: ["md5"] }), entries }]);
});

/** Two blocked uploads' case messages, as the gate queued them. */
async function blockedMessages(): Promise<MatchMessage[]> {
  const out: MatchMessage[] = [];
  for (const bytes of LISTED) {
    const queue = new MemoryQueue();
    const { ctx, settle } = testCtx();
    const res = await gateRequest(
      new Request(`https://uploads.example.test${uniquePrefix()}`, { method: "POST", body: bytes }),
      testEnv({ MATCHES: queue as never }),
      ctx,
    );
    await settle();
    expect(res.status).toBe(451);
    out.push(queue.sent[0] as MatchMessage);
  }
  return out;
}

interface CellSpec {
  step: string;
  binding: string;
  fault: string;
  d1?: Fault;
  webhookDown?: boolean;
}

const cells: CellSpec[] = [
  { step: "none", binding: "-", fault: "none" },
  {
    step: "case insert (prepare #1)",
    binding: "D1",
    fault: "fail",
    d1: { method: "prepare", nth: 1, kind: "fail" },
  },
  {
    step: "case insert, 1st message (run #1)",
    binding: "D1",
    fault: "fail",
    d1: { method: "run", nth: 1, kind: "fail" },
  },
  {
    step: "case insert, 1st message (run #1)",
    binding: "D1",
    fault: "delay",
    d1: { method: "run", nth: 1, kind: "delay" },
  },
  {
    step: "notified check (first #1)",
    binding: "D1",
    fault: "fail",
    d1: { method: "first", nth: 1, kind: "fail" },
  },
  {
    step: "notified check (first #1)",
    binding: "D1",
    fault: "delay",
    d1: { method: "first", nth: 1, kind: "delay" },
  },
  {
    step: "notified mark (run #2)",
    binding: "D1",
    fault: "fail",
    d1: { method: "run", nth: 2, kind: "fail" },
  },
  {
    step: "case insert, 2nd message (run #3)",
    binding: "D1",
    fault: "fail",
    d1: { method: "run", nth: 3, kind: "fail" },
  },
  { step: "notify webhook", binding: "fetch", fault: "HTTP 503", webhookDown: true },
];

async function runCell(cell: CellSpec, msgs: MatchMessage[]): Promise<string> {
  const hook = uniquePrefix();
  const notifyUrl = `${testServerUrl()}${hook}/notify`;
  const inj = new Injector(cell.d1 ? [cell.d1] : []);
  const faultyEnv = testEnv({
    ...(cell.d1 ? { DB: inj.wrap(env.DB) } : {}),
    NOTIFY_WEBHOOK_URL: cell.webhookDown ? "http://127.0.0.1:9/unreachable" : notifyUrl,
  });
  // First delivery: both messages plus a duplicate of the first (at-least-once delivery).
  const first = createMessageBatch("hashgate-matches", [
    { id: "a", timestamp: new Date(), attempts: 1, body: msgs[0] },
    { id: "b", timestamp: new Date(), attempts: 1, body: msgs[1] },
    { id: "a-dup", timestamp: new Date(), attempts: 1, body: msgs[0] },
  ]);
  await consumeMatches(first, faultyEnv);
  const r1 = await getQueueResult(first, createExecutionContext());
  const retried = r1.retryMessages.map((m) => m.msgId).sort();
  expect([...r1.explicitAcks, ...retried].sort()).toEqual(["a", "a-dup", "b"]);
  // Redelivery of what was retried, bindings healthy again.
  const again = [
    { id: "a", body: msgs[0] },
    { id: "b", body: msgs[1] },
    { id: "a-dup", body: msgs[0] },
  ].filter((m) => retried.includes(m.id));
  const healthy = testEnv({ NOTIFY_WEBHOOK_URL: notifyUrl });
  if (again.length > 0) {
    const batch = createMessageBatch(
      "hashgate-matches",
      again.map((m) => ({ ...m, timestamp: new Date(), attempts: 2 })),
    );
    await consumeMatches(batch, healthy);
    expect((await getQueueResult(batch, createExecutionContext())).retryMessages).toEqual([]);
  }
  for (const m of msgs) {
    const rows = await env.DB.prepare("SELECT id, notified_at FROM cases WHERE id = ?1")
      .bind(m.caseId)
      .all<{ notified_at: string | null }>();
    expect(rows.results).toHaveLength(1);
    expect(rows.results[0]!.notified_at).not.toBeNull();
  }
  // Notified once per case (a notified-mark failure may cost one extra post, see the row's outcome).
  const posts = (await receivedAt(`${hook}/notify`)).length;
  if (cell.d1 && !inj.fired) return "not reached";
  return `acked ${r1.explicitAcks.length}, retried ${retried.join("+") || "none"} → 1 case each; ${posts} notification(s)`;
}

describe("fault matrix: queue consumer", () => {
  it("every D1 call and the webhook, failed or delayed, with a duplicate delivery", async () => {
    const rows: MatrixRow[] = [];
    for (const c of cells) {
      // Fresh cases per cell: the consumer's outcome depends on whether the row exists.
      const msgs = await blockedMessages();
      const outcome = await runCell(c, msgs);
      rows.push({
        scenario: "batch: 2 cases + 1 duplicate",
        step: c.step,
        binding: c.binding,
        fault: c.fault,
        outcome,
      });
      const posts = Number(/(\d+) notification/.exec(outcome)?.[1] ?? "2");
      // Exactly one notification per case, except when marking it sent failed after the post.
      if (c.d1?.method === "run" && c.d1.nth === 2 && c.d1.kind === "fail")
        expect(posts).toBeLessThanOrEqual(3);
      else expect(posts).toBe(2);
    }
    console.log(formatMatrix("queue consumer", rows));
  }, 120_000);
});
