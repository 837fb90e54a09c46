/**
 * Fault matrix of a scan: every binding call of the gate (KV reads, R2 spool and evidence
 * writes, the queue send, the D1 allow-list read and fallback insert) made to fail or to run
 * late, on clean and listed uploads of two files, held in memory and spooled to R2. Extends
 * test/gate/gate.faults.test.ts (every-call failures) with Nth-call failures, delays, spool
 * uploadPart/complete failures and the 2nd file's evidence put.
 * Must hold in every cell: fail-closed, no byte reaches the origin unless the whole upload was
 * scanned clean; a listed upload is never forwarded; every 451 ends (after the queue is
 * delivered and the sweep has run) as exactly one case with both files' exact bytes as
 * evidence; a 503 leaves no case. The table of outcomes is printed and kept in fuzz/FAULTS.md.
 * All bytes are benign generated TEST DATA.
 */
import { createMessageBatch, env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { consumeMatches } from "../../src/cases/consumer.ts";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { sweepPending } from "../../src/cases/record.ts";
import { CASE_HEADER } from "../../src/gate/gate.ts";
import { app } from "../../src/index.ts";
import { type Fault, type FaultKind, Injector, MemoryQueue } from "../helpers/fault-inject.ts";
import { formatMatrix, type MatrixRow } from "../helpers/fault-matrix.ts";
import { testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";

type Binding = "KV" | "R2" | "Queue" | "D1";
type Outcome = "forwarded" | "451" | "503" | "not reached" | `status ${number}`;

interface Scenario {
  name: string;
  files: Uint8Array[];
  listed: boolean;
  spooled: boolean;
  /** Sent with Content-Length, so a spool is one R2 put instead of a multipart upload. */
  declared?: boolean;
}

const SMALL = 4000;
// Two files over 5 MiB in all: the spool writes two parts.
const BIG = 2_700_000;
const scenarios: Scenario[] = [
  {
    name: "clean, in memory",
    files: [testBytes(SMALL, 61), testBytes(SMALL, 62)],
    listed: false,
    spooled: false,
  },
  {
    name: "listed, in memory",
    files: [testBytes(SMALL, 63), testBytes(SMALL, 64)],
    listed: true,
    spooled: false,
  },
  { name: "clean, spooled", files: [testBytes(BIG, 65), testBytes(BIG, 66)], listed: false, spooled: true },
  { name: "listed, spooled", files: [testBytes(BIG, 67), testBytes(BIG, 68)], listed: true, spooled: true },
  {
    name: "clean, spooled by put",
    files: [testBytes(BIG, 69), testBytes(BIG, 70)],
    listed: false,
    spooled: true,
    declared: true,
  },
  {
    name: "listed, spooled by put",
    files: [testBytes(BIG, 71), testBytes(BIG, 72)],
    listed: true,
    spooled: true,
    declared: true,
  },
];

type Step = [Binding, string, number, string];

/** Steps of a scan, by binding: [method, nth, what it is]. */
const STEPS: Step[] = [
  ["KV", "get", 1, "manifest read"],
  // One bulk read answers for every file's digests (issue 10: per-invocation budgets).
  ["KV", "get", 2, "hash lookup, every file (bulk)"],
  ["R2", "createMultipartUpload", 1, "spool start"],
  ["R2", "uploadPart", 1, "spool part 1"],
  ["R2", "uploadPart", 2, "spool part 2"],
  ["R2", "complete", 1, "spool complete"],
  ["R2", "put", 1, "evidence upload.json"],
  ["R2", "put", 2, "evidence, 1st file"],
  ["R2", "put", 3, "evidence, 2nd file"],
  ["R2", "get", 1, "spool read (evidence/forward)"],
  ["R2", "delete", 1, "spool discard (after answer)"],
  ["Queue", "send", 1, "case message"],
  ["D1", "all", 1, "allow-list check"],
];

/** The steps of a body of declared length: its spool is one R2 put (#1), so the evidence puts come after it. */
const MULTIPART_SPOOL = new Set(["createMultipartUpload", "uploadPart", "complete"]);
const DECLARED_STEPS: Step[] = STEPS.flatMap(([binding, method, nth, what]): Step[] => {
  if (binding === "R2" && MULTIPART_SPOOL.has(method)) {
    return method === "createMultipartUpload" ? [["R2", "put", 1, "spool put"]] : [];
  }
  return [[binding, method, binding === "R2" && method === "put" ? nth + 1 : nth, what]];
});

let listedMd5 = new Set<string>();
beforeAll(async () => {
  const listedFiles = scenarios.filter((s) => s.listed).flatMap((s) => s.files);
  const entries = await Promise.all(
    listedFiles.map(async (f) => ({ algo: "md5" as const, hex: await digestHex("md5", f) })),
  );
  listedMd5 = new Set(entries.map((e) => e.hex));
  await seedLists(env.HASHES, [{ meta: testList("l", { algorithms: ["md5"] }), entries }]);
});

interface CellResult {
  outcome: Outcome;
  prefix: string;
  res: Response;
}

async function runCell(
  s: Scenario,
  faults: Partial<Record<Binding, Fault[]>>,
  mode = "closed",
): Promise<CellResult> {
  const inj: Record<Binding, Injector> = {
    KV: new Injector(faults.KV),
    R2: new Injector(faults.R2),
    Queue: new Injector(faults.Queue),
    D1: new Injector(faults.D1),
  };
  const queue = new MemoryQueue();
  const prefix = uniquePrefix();
  const { body, contentType } = buildMultipart(
    s.files.map((data, i) => ({ field: `f${i}`, filename: `file${i}.bin`, data })),
  );
  const { ctx, settle } = testCtx();
  const e = testEnv({
    HASHES: inj.KV.wrap(env.HASHES),
    EVIDENCE: inj.R2.wrap(env.EVIDENCE),
    MATCHES: inj.Queue.wrap(queue) as never,
    DB: inj.D1.wrap(env.DB),
    FAIL_MODE: mode,
    ...(s.spooled ? { HOLD_MEMORY_BYTES: "1000" } : {}),
  });
  // Through the Worker's own router, so an error the gate throws is answered as in production.
  const res = await app.fetch(
    new Request(`https://uploads.example.test${prefix}`, {
      method: "POST",
      body,
      headers: {
        "content-type": contentType,
        ...(s.declared ? { "content-length": String(body.length) } : {}),
      },
    }),
    e,
    ctx as unknown as ExecutionContext,
  );
  await settle();
  const wanted = Object.values(faults).flat().length;
  const fired = Object.values(inj).filter((i) => i.fired).length;
  const origin = await receivedAt(prefix);
  let outcome: Outcome = res.status === 451 ? "451" : res.status === 503 ? "503" : `status ${res.status}`;
  if (origin.length > 0) outcome = "forwarded";
  if (fired < wanted) outcome = "not reached";

  // Properties of every cell.
  if (origin.length > 0) {
    // Only a fully scanned clean upload (or fail-open after a binding failure) reaches the origin, whole.
    // Fail-open forwards an upload it could not scan (by design, recorded as unscanned).
    if (mode === "closed") expect(s.listed).toBe(false);
    expect(origin).toHaveLength(1);
    expect(origin[0]!.sha256).toBe(await sha256Hex(body));
    if (mode === "closed") expect(res.status).toBeLessThan(300);
  }
  if (s.listed && mode === "closed") expect(res.status === 451 || res.status === 503).toBe(true);
  await deliver(queue);
  const cases = await casesAt(prefix);
  if (res.status === 451) {
    expect(cases).toHaveLength(1);
    expect(cases[0]!.id).toBe(res.headers.get(CASE_HEADER));
    await expectEvidence(JSON.parse(cases[0]!.message) as MatchMessage);
  } else expect(cases).toHaveLength(0);
  return { outcome, prefix, res };
}

/** Delivers what the gate queued to the consumer, then runs the pending sweep. */
async function deliver(queue: MemoryQueue): Promise<void> {
  const msgs = queue.sent.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body }));
  if (msgs.length > 0) await consumeMatches(createMessageBatch("hashgate-matches", msgs), testEnv());
  await sweepPending(testEnv());
}

async function casesAt(prefix: string) {
  const { results } = await env.DB.prepare("SELECT id, message FROM cases WHERE request_path = ?1")
    .bind(prefix)
    .all<{ id: string; message: string }>();
  return results;
}

/** Both listed files are preserved byte-exact under the case's evidence keys. */
async function expectEvidence(msg: MatchMessage): Promise<void> {
  expect(msg.files).toHaveLength(2);
  const md5s = new Set<string>();
  for (const f of msg.files) {
    const obj = await env.EVIDENCE.get(f.evidenceKey!);
    expect(obj, f.evidenceKey!).not.toBeNull();
    const bytes = new Uint8Array(await obj!.arrayBuffer());
    expect(bytes.length).toBe(f.size);
    const md5 = await digestHex("md5", bytes);
    expect(md5).toBe(f.digests.md5);
    md5s.add(md5);
  }
  for (const m of md5s) expect(listedMd5.has(m)).toBe(true);
}

async function sha256Hex(b: Uint8Array): Promise<string> {
  return digestHex("sha256", b);
}

/**
 * The outcome each cell must have, from the design: a delay changes nothing; a failed read or
 * write before the verdict is a 503 (fail-closed); the spool discard runs after the answer; a
 * failed queue send falls back to D1; a failed allow-list check lets the hits stand. Clean
 * uploads never write evidence or queue a case: those steps are not reached.
 */
function expected(s: Scenario, binding: Binding, method: string, nth: number, kind: FaultKind): Outcome {
  const ok: Outcome = s.listed ? "451" : "forwarded";
  const spoolStep =
    binding === "R2" && ["createMultipartUpload", "uploadPart", "complete", "get", "delete"].includes(method);
  if (spoolStep && !s.spooled) return "not reached";
  // The spool put of a body of declared length fails before any verdict, listed or not.
  if (s.declared && method === "put" && nth === 1) return kind === "delay" ? ok : "503";
  if (method === "uploadPart" && nth === 2 && !s.spooled) return "not reached";
  if (!s.listed && (method === "put" || method === "send" || binding === "D1")) return "not reached";
  if (kind === "delay") return ok;
  if (method === "delete" || method === "send" || binding === "D1") return ok;
  return "503";
}

const rows: MatrixRow[] = [];

describe("fault matrix: scan", () => {
  for (const s of scenarios) {
    it(`${s.name}: every step × fail/delay`, async () => {
      const base = await runCell(s, {});
      expect(base.outcome).toBe(s.listed ? "451" : "forwarded");
      for (const [binding, method, nth, what] of s.declared ? DECLARED_STEPS : STEPS) {
        for (const kind of ["fail", "delay"] as const) {
          const { outcome } = await runCell(s, { [binding]: [{ method, nth, kind }] });
          rows.push({ scenario: s.name, step: `${what} (${method} #${nth})`, binding, fault: kind, outcome });
          expect([s.name, what, kind, outcome]).toEqual([
            s.name,
            what,
            kind,
            expected(s, binding, method, nth, kind),
          ]);
        }
      }
    }, 120_000);
  }

  it("listed, in memory: queue and D1 both down leave a pending marker that becomes one case", async () => {
    const s = scenarios[1]!;
    const { outcome } = await runCell(s, {
      Queue: [{ method: "send", nth: 1, kind: "fail" }],
      D1: [{ method: "run", nth: 1, kind: "fail" }],
    });
    rows.push({
      scenario: s.name,
      step: "case message + D1 fallback (send #1, run #1)",
      binding: "Queue+D1",
      fault: "fail",
      outcome,
    });
    expect(outcome).toBe("451");
  });

  it("fail-open: a listed upload is still never forwarded when its evidence or lookups fail", async () => {
    const s = scenarios[1]!;
    for (const [binding, method, nth, what] of [
      ["KV", "get", 2, "hash lookup, every file (bulk)"],
      ["R2", "put", 3, "evidence, 2nd file"],
    ] as const) {
      const { outcome } = await runCell(s, { [binding]: [{ method, nth, kind: "fail" }] }, "open");
      rows.push({
        scenario: `${s.name}, FAIL_MODE=open`,
        step: `${what} (${method} #${nth})`,
        binding,
        fault: "fail",
        outcome,
      });
      // Fail-open forwards only what it could not scan: a lookup failure of a listed file forwards it
      // unscanned by design (recorded as unscanned); evidence failure of a known match never forwards.
      if (method === "put") expect(outcome).toBe("503");
    }
  });

  it("prints the matrix", () => {
    expect(rows.length).toBeGreaterThan(100);
    console.log(formatMatrix("scan", rows));
  });
});
