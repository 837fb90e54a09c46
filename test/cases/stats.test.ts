/**
 * The aggregates behind the stats page and the transparency report (src/cases/stats.ts) over
 * seeded cases, events, appeals and unscanned records, and the page that draws them
 * (src/review/stats.ts). Lists and bytes are made up: TEST DATA.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { chartSeries, d1Run, median, parseRange, transparencyFigures } from "../../src/cases/stats.ts";
import { createReviewApp } from "../../src/review/app.ts";
import { bearer, resetDb, reviewEnv, seedCase, testKeys, VIEWER_TOKEN } from "../helpers/cases.ts";

const RANGE = { from: "2026-03-01", to: "2026-03-07" };

async function event(caseId: string, at: string, action: string, from: string, to: string) {
  await env.DB.prepare(
    "INSERT INTO case_events (case_id, at, actor, action, from_status, to_status) VALUES (?1, ?2, 'alice', ?3, ?4, ?5)",
  )
    .bind(caseId, at, action, from, to)
    .run();
}

async function appeal(caseId: string, at: string, outcome: string | null, decidedAt: string | null) {
  await env.DB.prepare(
    "INSERT INTO appeals (case_id, at, actor, complaint, previous_status, outcome, decided_at) VALUES (?1, ?2, 'platform', 'c', 'confirmed', ?3, ?4)",
  )
    .bind(caseId, at, outcome, decidedAt)
    .run();
}

async function unscanned(at: string, code: string) {
  await env.DB.prepare(
    "INSERT INTO unscanned (id, created_at, reason, request, code) VALUES (?1, ?2, 'r', '{}', ?3)",
  )
    .bind(crypto.randomUUID(), at, code)
    .run();
}

let ids: string[];
beforeEach(async () => {
  await resetDb();
  const seeds = [
    { at: "2026-03-01T10:00:00.000Z", hits: [{ listId: "alpha", category: "A1" }] },
    {
      at: "2026-03-01T11:00:00.000Z",
      hits: [
        { listId: "alpha", category: "A1" },
        { listId: "beta", category: "B2" },
      ],
    },
    { at: "2026-03-03T09:00:00.000Z", hits: [{ listId: "beta", category: "B2" }] },
    { at: "2026-03-07T23:59:59.000Z", hits: [{ listId: "alpha", category: "A1" }] },
    // Outside the range on either side.
    { at: "2026-02-28T23:59:59.000Z", hits: [{ listId: "alpha", category: "A1" }] },
    { at: "2026-03-08T00:00:00.000Z", hits: [{ listId: "beta", category: "B2" }] },
  ];
  ids = [];
  for (const [i, s] of seeds.entries()) ids.push((await seedCase({ ...s, seed: i + 1 })).caseId);
  // A flagged case, in range.
  const flagged = await seedCase({
    at: "2026-03-02T00:00:00.000Z",
    seed: 9,
    hits: [{ listId: "gamma", action: "flag" }],
  });
  await env.DB.prepare("UPDATE cases SET verdict = 'flag' WHERE id = ?1").bind(flagged.caseId).run();
  // Decisions: case 0 after 1 h (confirm, then reported), case 1 after 3 h (dismissed),
  // case 2 after 2 h; case 0's later re-decision after an appeal does not count twice.
  await event(ids[0]!, "2026-03-01T11:00:00.000Z", "confirm", "new", "confirmed");
  await event(ids[0]!, "2026-03-01T12:00:00.000Z", "report", "confirmed", "reported");
  await event(ids[0]!, "2026-03-05T12:00:00.000Z", "confirm", "appealed", "confirmed");
  await event(ids[1]!, "2026-03-01T14:00:00.000Z", "dismiss", "new", "dismissed");
  await event(ids[2]!, "2026-03-03T11:00:00.000Z", "confirm", "new", "confirmed");
  await appeal(ids[0]!, "2026-03-04T00:00:00.000Z", "upheld", "2026-03-05T12:00:00.000Z");
  await appeal(ids[2]!, "2026-03-04T00:00:00.000Z", "overturned", "2026-03-06T00:00:00.000Z");
  await appeal(ids[3]!, "2026-03-08T00:00:00.000Z", null, null);
  await unscanned("2026-03-02T00:00:00.000Z", "scan-failed");
  await unscanned("2026-03-02T01:00:00.000Z", "files-not-hashed");
  await unscanned("2026-03-03T01:00:00.000Z", "files-not-hashed");
  await unscanned("2026-03-09T01:00:00.000Z", "scan-failed");
});

describe("transparency figures", () => {
  it("count blocks per list and category, reports, appeals, reversals and the median time to decision in the range", async () => {
    const t = await transparencyFigures(d1Run(env.DB), RANGE);
    expect(t).toEqual({
      from: "2026-03-01",
      to: "2026-03-07",
      uploadsBlocked: 4,
      uploadsFlagged: 1,
      blockedByListCategory: [
        { list: "alpha", category: "A1", uploads: 3 },
        { list: "beta", category: "B2", uploads: 2 },
      ],
      reportsMade: 1,
      appealsReceived: 2,
      appealsUpheld: 1,
      decisionsReversed: 1,
      blocksDismissedOnReview: 1,
      decisions: 3,
      medianSecondsToDecision: 7200,
    });
  });

  it("a purged case keeps its list but loses its category", async () => {
    await env.DB.prepare(`UPDATE cases SET message = '{"purged":true}' WHERE id = ?1`).bind(ids[2]!).run();
    const t = await transparencyFigures(d1Run(env.DB), RANGE);
    expect(t.blockedByListCategory).toContainEqual({ list: "beta", category: "unknown", uploads: 1 });
    expect(t.blockedByListCategory).toContainEqual({ list: "beta", category: "B2", uploads: 1 });
  });

  it("an empty range is zeros, not an error", async () => {
    const t = await transparencyFigures(d1Run(env.DB), { from: "2020-01-01", to: "2020-01-02" });
    expect(t.uploadsBlocked).toBe(0);
    expect(t.medianSecondsToDecision).toBeNull();
  });

  it("ranges are checked", () => {
    expect(() => parseRange("2026-02-30", "2026-03-01")).toThrow(/not a date/);
    expect(() => parseRange("2026-03-02", "2026-03-01")).toThrow(/after/);
    expect(median([3, 1, 2, 10])).toBe(2.5);
  });
});

describe("chart series", () => {
  it("blocks per day per list, unscanned by reason, median decision per day", async () => {
    const c = await chartSeries(d1Run(env.DB), RANGE);
    expect(c.days).toHaveLength(7);
    expect(c.blocksPerDayPerList).toEqual([
      { day: "2026-03-01", list: "alpha", n: 2 },
      { day: "2026-03-01", list: "beta", n: 1 },
      { day: "2026-03-03", list: "beta", n: 1 },
      { day: "2026-03-07", list: "alpha", n: 1 },
    ]);
    expect(c.unscannedByReason).toEqual([
      { reason: "files-not-hashed", n: 2 },
      { reason: "scan-failed", n: 1 },
    ]);
    expect(c.medianDecisionPerDay).toEqual([
      { day: "2026-03-01", seconds: 7200, decisions: 2 },
      { day: "2026-03-03", seconds: 7200, decisions: 1 },
    ]);
  });
});

describe("stats page", () => {
  const page = (query: string) =>
    createReviewApp({ keys: testKeys }).request(`/stats${query}`, bearer(VIEWER_TOKEN), reviewEnv());

  it("draws one bar per (day, list), one per unscanned reason and one point per day with decisions", async () => {
    const res = await page("?from=2026-03-01&to=2026-03-07");
    expect(res.status).toBe(200);
    const body = await res.text();
    const charts = body.split('<svg class="chart"').slice(1);
    expect(charts).toHaveLength(3);
    expect(charts[0]!.match(/<rect class="bar"/g)).toHaveLength(4);
    expect(charts[1]!.match(/<rect class="bar"/g)).toHaveLength(2);
    expect(charts[2]!.match(/<circle class="point"/g)).toHaveLength(2);
    expect(body).not.toMatch(/<script>|style=/);
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
  });

  it("escapes list ids and reasons", async () => {
    await seedCase({
      at: "2026-03-02T10:00:00.000Z",
      seed: 20,
      hits: [{ listId: '<img src=x onerror="alert(1)">' }],
    });
    await unscanned("2026-03-02T02:00:00.000Z", "<b>x</b>&");
    const body = await (await page("?from=2026-03-01&to=2026-03-07")).text();
    expect(body).not.toContain("<img src=x");
    expect(body).not.toContain("<b>x</b>");
    expect(body).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;");
    expect(body).toContain("&lt;b&gt;x&lt;/b&gt;&amp;");
  });

  it("defaults to the last 30 days and refuses bad ranges", async () => {
    const body = await (await page("")).text();
    expect(body).toContain(`value="${new Date().toISOString().slice(0, 10)}"`);
    expect((await page("?from=2026-13-01&to=2026-03-07")).status).toBe(400);
    expect((await page("?from=2020-01-01&to=2026-03-07")).status).toBe(400);
  });
});
