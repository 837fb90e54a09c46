// Case workflow through the JSON API: filters, detail, decisions, bulk, allow-list, appeals.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { allowRulesFor } from "../../src/cases/allow-list.ts";
import type { CaseDetail, CaseSummary } from "../../src/cases/store.ts";
import { createReviewApp } from "../../src/review/app.ts";
import {
  ADMIN_TOKEN,
  bearer,
  jsonPost,
  PLATFORM_TOKEN,
  REVIEWER_TOKEN,
  resetDb,
  reviewEnv,
  seedCase,
  testKeys,
  VIEWER_TOKEN,
} from "../helpers/cases.ts";

const app = createReviewApp({ keys: testKeys });
const E = reviewEnv();

async function list(query: string): Promise<{ cases: CaseSummary[]; total: number }> {
  const r = await app.request(`/api/cases?${query}`, bearer(VIEWER_TOKEN), E);
  expect(r.status).toBe(200);
  return r.json();
}

async function detail(id: string): Promise<CaseDetail> {
  return (await app.request(`/api/cases/${id}`, bearer(VIEWER_TOKEN), E)).json();
}

function decide(id: string, body: unknown, token = REVIEWER_TOKEN) {
  return app.request(`/api/cases/${id}/decision`, jsonPost(token, body), E);
}

beforeEach(resetDb);

/** True if some active allow-list entry names one of the digests (for the "demo" list the fixtures use). */
async function isAllowListed(digests: Record<string, string | undefined>): Promise<boolean> {
  const rules = await allowRulesFor(env.DB, [digests]);
  return rules.some((r) => r.listId === "demo" && digests[r.algo]?.toLowerCase() === r.digest);
}

describe("case list", () => {
  it("filters by status, list, match kind and date, and sorts both ways", async () => {
    const a = await seedCase({ at: "2026-01-01T00:00:00.000Z", hits: [{ listId: "ngo" }] });
    const b = await seedCase({
      at: "2026-02-01T00:00:00.000Z",
      seed: 2,
      hits: [{ kind: "pdq", distance: 12, quality: 90 }],
    });
    const c = await seedCase({ at: "2026-03-01T00:00:00.000Z", seed: 3 });
    expect((await decide(c.caseId, { action: "dismiss", reason: "benign" })).status).toBe(200);

    expect((await list("")).cases.map((x) => x.id)).toEqual([c.caseId, b.caseId, a.caseId]);
    expect((await list("dir=asc")).cases.map((x) => x.id)).toEqual([a.caseId, b.caseId, c.caseId]);
    expect((await list("status=new")).cases.map((x) => x.id).sort()).toEqual([a.caseId, b.caseId].sort());
    expect((await list("list=ngo")).cases.map((x) => x.id)).toEqual([a.caseId]);
    expect((await list("kind=pdq")).cases.map((x) => x.id)).toEqual([b.caseId]);
    expect((await list("kind=exact")).total).toBe(2);
    expect((await list("from=2026-01-15&to=2026-02-15")).cases.map((x) => x.id)).toEqual([b.caseId]);
    expect((await list("sort=updated&limit=1")).cases[0]!.id).toBe(c.caseId);
  });

  it("refuses bad filter values with 400", async () => {
    for (const q of ["status=bogus", "kind=fuzzy", "from=yesterday", "limit=0", "limit=9999", "sort=ip"]) {
      expect((await app.request(`/api/cases?${q}`, bearer(VIEWER_TOKEN), E)).status, q).toBe(400);
    }
  });
});

describe("case detail", () => {
  it("shows digests, matches with PDQ distance, and the uploader's other cases by IP and identity", async () => {
    const a = await seedCase({
      ip: "198.51.100.1",
      identity: { "x-account-id": "u-9" },
      hits: [{ kind: "pdq", distance: 7, quality: 88 }],
    });
    const sameIp = await seedCase({ ip: "198.51.100.1", identity: {}, seed: 2 });
    const sameId = await seedCase({ ip: "192.0.2.5", identity: { "x-account-id": "u-9" }, seed: 3 });
    await seedCase({ ip: "192.0.2.99", identity: { "x-account-id": "u-other" }, seed: 4 });
    const d = await detail(a.caseId);
    expect(d.message?.files[0]?.digests.sha256).toBe(a.files[0]!.digests.sha256);
    expect(d.message?.files[0]?.matches[0]).toMatchObject({ kind: "pdq", distance: 7, quality: 88 });
    expect(Object.fromEntries(d.related.map((r) => [r.id, r.by]))).toEqual({
      [sameIp.caseId]: "ip",
      [sameId.caseId]: "identity",
    });
  });

  it("answers 404 for unknown and malformed ids", async () => {
    expect(
      (await app.request("/api/cases/hg_00000000000000000000000000", bearer(VIEWER_TOKEN), E)).status,
    ).toBe(404);
    expect((await app.request("/api/cases/../../x", bearer(VIEWER_TOKEN), E)).status).toBe(404);
  });
});

describe("decisions", () => {
  it("records every transition with who, when and why in case_events and audit_log", async () => {
    const m = await seedCase();
    expect(await (await decide(m.caseId, { action: "start" })).json()).toMatchObject({
      from: "new",
      to: "in_review",
    });
    expect(
      await (await decide(m.caseId, { action: "confirm", reason: "matches list" })).json(),
    ).toMatchObject({ to: "confirmed" });
    const d = await detail(m.caseId);
    expect(d.status).toBe("confirmed");
    expect(d.decidedBy).toBe(`token:${REVIEWER_TOKEN.slice(0, 6)}`);
    expect(d.events.map((e) => [e.action, e.from, e.to, e.reason])).toEqual([
      ["start", "new", "in_review", ""],
      ["confirm", "in_review", "confirmed", "matches list"],
    ]);
    const audit = await env.DB.prepare("SELECT action, subject FROM audit_log WHERE subject = ?1")
      .bind(`case:${m.caseId}`)
      .all();
    expect(audit.results).toHaveLength(2);
  });

  it("refuses impossible transitions (409) and writes nothing for them", async () => {
    const m = await seedCase();
    await decide(m.caseId, { action: "dismiss", reason: "benign" });
    const r = await decide(m.caseId, { action: "confirm", reason: "changed mind" });
    expect(r.status).toBe(409);
    expect((await detail(m.caseId)).events).toHaveLength(1);
  });

  it("requires a reason, the reviewer role, and admin for the allow-list", async () => {
    // A PDQ hit: allowList true covers files without an exact hit.
    const m = await seedCase({ hits: [{ kind: "pdq", distance: 12, quality: 90 }] });
    expect((await decide(m.caseId, { action: "confirm" })).status).toBe(400);
    expect((await decide(m.caseId, { action: "confirm", reason: "x" }, VIEWER_TOKEN)).status).toBe(403);
    expect((await decide(m.caseId, { action: "dismiss", reason: "fp", allowList: true })).status).toBe(403);
    expect(await isAllowListed(m.files[0]!.digests)).toBe(false);
    expect(
      (await decide(m.caseId, { action: "dismiss", reason: "fp", allowList: true }, ADMIN_TOKEN)).status,
    ).toBe(200);
    expect(await isAllowListed({ sha256: m.files[0]!.digests.sha256 })).toBe(true);
    expect(await isAllowListed({ md5: m.files[0]!.digests.md5!.toUpperCase() })).toBe(true);
    expect(await isAllowListed({ md5: "0".repeat(32) })).toBe(false);
  });

  it("escalates without deciding", async () => {
    const m = await seedCase();
    await decide(m.caseId, { action: "escalate", reason: "needs legal" });
    const d = await detail(m.caseId);
    expect([d.status, d.escalated, d.decidedAt]).toEqual(["in_review", true, null]);
  });

  it("bulk-confirms every open case of one hash and leaves decided ones alone", async () => {
    const cases = [await seedCase({ seed: 5 }), await seedCase({ seed: 5 }), await seedCase({ seed: 5 })];
    const other = await seedCase({ seed: 6 });
    await decide(cases[2]!.caseId, { action: "dismiss", reason: "looked" });
    const r = await app.request(
      "/api/bulk",
      jsonPost(REVIEWER_TOKEN, {
        digest: cases[0]!.files[0]!.digests.sha256,
        action: "confirm",
        reason: "flood",
      }),
      E,
    );
    const body = (await r.json()) as { results: { caseId: string; ok: boolean }[] };
    expect(body.results.map((x) => x.caseId).sort()).toEqual([cases[0]!.caseId, cases[1]!.caseId].sort());
    expect((await detail(cases[1]!.caseId)).status).toBe("confirmed");
    expect((await detail(cases[2]!.caseId)).status).toBe("dismissed");
    expect((await detail(other.caseId)).status).toBe("new");
  });
});

describe("appeals", () => {
  it("reopens a decided case, once, and records the outcome of the decision", async () => {
    const m = await seedCase();
    await decide(m.caseId, { action: "confirm", reason: "match" });
    const appeal = () =>
      app.request(
        "/api/appeals",
        jsonPost(PLATFORM_TOKEN, { caseId: m.caseId, complaint: "my own holiday photo" }),
        E,
      );
    const r1 = await appeal();
    expect(r1.status).toBe(201);
    expect((await appeal()).status).toBe(200);
    expect((await detail(m.caseId)).status).toBe("appealed");
    await decide(m.caseId, { action: "dismiss", reason: "appeal upheld: benign" });
    const d = await detail(m.caseId);
    expect(d.status).toBe("dismissed");
    expect(d.appeals).toHaveLength(1);
    expect(d.appeals[0]).toMatchObject({ complaint: "my own holiday photo", outcome: "overturned" });
  });

  it("takes appeals only from API tokens and only for existing cases", async () => {
    const r = await app.request(
      "/api/appeals",
      jsonPost(PLATFORM_TOKEN, { caseId: "hg_00000000000000000000000000", complaint: "x" }),
      E,
    );
    expect(r.status).toBe(404);
  });
});
