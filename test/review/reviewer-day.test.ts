// The reviewer's day (issue 13): queue views and counts, claims, match context, reveals in the
// history, report preview without side effects, export (CSV injection-safe), wellness settings.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { CaseDetail, CaseSummary } from "../../src/cases/store.ts";
import { createReviewApp } from "../../src/review/app.ts";
import { csvCell } from "../../src/review/export.ts";
import {
  ADMIN_TOKEN,
  bearer,
  jsonPost,
  REVIEWER_TOKEN,
  resetDb,
  reviewEnv,
  seedCase,
  testKeys,
  VIEWER_TOKEN,
} from "../helpers/cases.ts";

const app = createReviewApp({ keys: testKeys });
const E = reviewEnv();
const REVIEWER = `token:${REVIEWER_TOKEN.slice(0, 6)}`;
const ADMIN = `token:${ADMIN_TOKEN.slice(0, 6)}`;

beforeEach(resetDb);

async function list(query: string): Promise<{ cases: CaseSummary[]; total: number }> {
  const r = await app.request(`/api/cases?${query}`, bearer(VIEWER_TOKEN), E);
  expect(r.status).toBe(200);
  return r.json();
}

async function decide(token: string, id: string, body: Record<string, unknown>) {
  return app.request(`/api/cases/${id}/decision`, jsonPost(token, body), E);
}

const ago = (h: number) => new Date(Date.now() - h * 3600_000).toISOString();

describe("queue", () => {
  it("open and escalated views, oldest first; list filter ignores case; counts per status", async () => {
    const old = await seedCase({ at: ago(30), hits: [{ listId: "NCMEC-Test" }] });
    const mid = await seedCase({ at: ago(5) });
    const young = await seedCase({ at: ago(1) });
    const done = await seedCase({ at: ago(40) });
    expect((await decide(REVIEWER_TOKEN, done.caseId, { action: "dismiss", reason: "fp" })).status).toBe(200);
    expect((await decide(REVIEWER_TOKEN, mid.caseId, { action: "escalate", reason: "senior" })).status).toBe(
      200,
    );

    const open = await list("status=open");
    expect(open.cases.map((c) => c.id)).toEqual([old.caseId, mid.caseId, young.caseId]);
    expect((await list("status=escalated")).cases.map((c) => c.id)).toEqual([mid.caseId]);
    expect((await list("status=open&list=ncmec-test")).cases.map((c) => c.id)).toEqual([old.caseId]);
    expect((await list("list=NCMEC-TEST")).total).toBe(1);

    const page = await app.request("/?list=", bearer(VIEWER_TOKEN), E);
    const text = await page.text();
    // Default view: open work, oldest first, with its count and the other statuses' counts.
    expect(text).toMatch(/open <b>3<\/b>/);
    expect(text).toMatch(/dismissed <b>1<\/b>/);
    expect(text).toMatch(/escalated <b>1<\/b>/);
    expect(text.indexOf(old.caseId)).toBeLessThan(text.indexOf(young.caseId));
    expect(text).not.toContain(done.caseId);
    expect(text).toContain("30 h");
    expect(text).toContain("x-account-id: u-123");
  });

  it("paginates with links that keep the filters", async () => {
    for (let i = 0; i < 5; i++) await seedCase({ at: ago(10 - i) });
    const first = await (await app.request("/?status=open&limit=2", bearer(VIEWER_TOKEN), E)).text();
    expect(first).toContain("1–2 of 5");
    expect(first).toContain('href="/review?status=open&amp;dir=asc&amp;limit=2&amp;offset=2"');
    const last = await (await app.request("/?status=open&limit=2&offset=4", bearer(VIEWER_TOKEN), E)).text();
    expect(last).toContain("5–5 of 5");
    expect(last).not.toContain("next page");
  });

  it("shows the bulk panel with the count for a digest filter", async () => {
    const a = await seedCase({ seed: 7 });
    await seedCase({ seed: 7 });
    await seedCase({ seed: 8 });
    const digest = a.files[0]!.digests.sha256!;
    const page = await (
      await app.request(`/?status=open&digest=${digest}`, bearer(REVIEWER_TOKEN), E)
    ).text();
    expect(page).toContain('data-count="2"');
    expect(page).toContain("Confirm all 2");
    const viewer = await (
      await app.request(`/?status=open&digest=${digest}`, bearer(VIEWER_TOKEN), E)
    ).text();
    expect(viewer).not.toContain('class="bulk"');
  });
});

describe("claims", () => {
  it("a claimed case is skipped by next, shown in the queue, and another's decision is refused by name", async () => {
    const a = await seedCase({ at: ago(3) });
    const b = await seedCase({ at: ago(2) });
    const claim = await app.request(`/api/cases/${a.caseId}/claim`, jsonPost(REVIEWER_TOKEN, {}), E);
    expect(claim.status).toBe(200);
    expect(await claim.json()).toMatchObject({ caseId: a.caseId, claimedBy: REVIEWER });

    // The admin asks for the next case: the oldest is taken, so they get the second.
    const next = await app.request("/api/next", jsonPost(ADMIN_TOKEN, {}), E);
    expect(await next.json()).toMatchObject({ caseId: b.caseId, claimedBy: ADMIN });
    const none = await app.request("/api/next", jsonPost(ADMIN_TOKEN, { after: b.caseId }), E);
    expect(none.status).toBe(404);

    const refused = await decide(ADMIN_TOKEN, a.caseId, { action: "confirm", reason: "mine now" });
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as { message: string };
    expect(body.message).toContain(`${REVIEWER} has this case`);
    expect((await app.request(`/api/cases/${a.caseId}/claim`, jsonPost(ADMIN_TOKEN, {}), E)).status).toBe(
      409,
    );

    const queue = await (await app.request("/?status=open", bearer(VIEWER_TOKEN), E)).text();
    expect(queue).toContain(`<span class="claimed">${REVIEWER}</span>`);

    // The holder decides: the claim is released, and the case leaves the open queue.
    expect((await decide(REVIEWER_TOKEN, a.caseId, { action: "confirm", reason: "match" })).status).toBe(200);
    const row = await env.DB.prepare("SELECT claimed_by FROM cases WHERE id = ?1")
      .bind(a.caseId)
      .first<{ claimed_by: string | null }>();
    expect(row?.claimed_by).toBeNull();
  });

  it("a lapsed claim no longer blocks anyone", async () => {
    const a = await seedCase();
    await env.DB.prepare("UPDATE cases SET claimed_by = 'someone@x', claimed_at = ?2 WHERE id = ?1")
      .bind(a.caseId, ago(1))
      .run();
    expect((await decide(REVIEWER_TOKEN, a.caseId, { action: "confirm", reason: "match" })).status).toBe(200);
  });

  it("bulk leaves another reviewer's claimed case alone and says so", async () => {
    const a = await seedCase({ seed: 4 });
    const b = await seedCase({ seed: 4 });
    await app.request(`/api/cases/${a.caseId}/claim`, jsonPost(ADMIN_TOKEN, {}), E);
    const r = await app.request(
      "/api/bulk",
      jsonPost(REVIEWER_TOKEN, { digest: a.files[0]!.digests.sha256, action: "dismiss", reason: "fp" }),
      E,
    );
    const j = (await r.json()) as { results: { ok: boolean; caseId: string; error?: string }[] };
    const byId = Object.fromEntries(j.results.map((x) => [x.caseId, x]));
    expect(byId[b.caseId]?.ok).toBe(true);
    expect(byId[a.caseId]?.ok).toBe(false);
    expect(byId[a.caseId]?.error).toContain("has this case");
  });
});

describe("case page", () => {
  it("shows match context, same-file cases by account and IP, and reveals in the history", async () => {
    // The uploaded file's PDQ hash is shown beside the match (the list's own hash is not stored).
    const a = await seedCase({
      seed: 3,
      pdq: { hash: "ab".repeat(32), quality: 87 },
      hits: [
        {
          listId: "pdq-list",
          kind: "pdq",
          distance: 12,
          quality: 87,
          entryId: "E-42",
        },
      ],
    });
    const other = await seedCase({ seed: 3, identity: { "x-account-id": "u-999" }, ip: "198.51.100.9" });
    const sameAccount = await seedCase({ seed: 11, ip: "198.51.100.10" });
    const reveal = await app.request(
      `/api/cases/${a.caseId}/files/0?reason=${encodeURIComponent("check the match")}`,
      bearer(REVIEWER_TOKEN),
      E,
    );
    expect(reveal.status).toBe(200);
    await reveal.arrayBuffer();
    const detail = (await (
      await app.request(`/api/cases/${a.caseId}`, bearer(VIEWER_TOKEN), E)
    ).json()) as CaseDetail;
    expect(detail.events).toContainEqual(
      expect.objectContaining({
        action: "reveal",
        actor: REVIEWER,
        reason: "check the match",
        from: "file-0",
      }),
    );
    expect(detail.sameFile.map((s) => s.id)).toEqual([other.caseId]);
    expect(detail.sameFile[0]?.account).toEqual({ "x-account-id": "u-999" });

    const page = await (await app.request(`/cases/${a.caseId}`, bearer(REVIEWER_TOKEN), E)).text();
    expect(page).toContain("E-42");
    expect(page).toContain("ab".repeat(32));
    expect(page).toMatch(/<td>12<\/td><td>87<\/td>/);
    expect(page).toContain(`revealed file 0 — check the match`);
    const accountSection = page.slice(
      page.indexOf("This account&#39;s other cases"),
      page.indexOf("Other cases from this IP"),
    );
    expect(accountSection).toContain(sameAccount.caseId);
    expect(accountSection).not.toContain(other.caseId);
    const sameFileSection = page.slice(page.indexOf("Same file, other uploads"));
    expect(sameFileSection).toContain(other.caseId);
    expect(sameFileSection).toContain("u-999");
  });

  it("disables the buttons the state forbids", async () => {
    const a = await seedCase();
    await decide(REVIEWER_TOKEN, a.caseId, { action: "confirm", reason: "match" });
    const page = await (await app.request(`/cases/${a.caseId}`, bearer(REVIEWER_TOKEN), E)).text();
    expect(page).toContain('data-action="confirm" class="danger" disabled');
    expect(page).toContain('data-action="start" disabled');
    expect(page).toMatch(/class="report-preview">/);
  });
});

describe("report preview", () => {
  const R = reviewEnv({
    CYBERTIP_USERNAME: "u",
    CYBERTIP_PASSWORD: "p",
    REPORTER_EMAIL: "tns@example.org",
    CYBERTIP_BASE_URL: "http://127.0.0.1:9/never-called",
  });
  it("shows the fields and XML of a confirmed case and sends nothing", async () => {
    const a = await seedCase({ ip: "192.0.2.44" });
    expect(
      (await app.request(`/api/cases/${a.caseId}/report/preview`, bearer(REVIEWER_TOKEN), R)).status,
    ).toBe(409);
    await app.request(
      `/api/cases/${a.caseId}/decision`,
      jsonPost(REVIEWER_TOKEN, { action: "confirm", reason: "m" }),
      R,
    );
    const r = await app.request(`/api/cases/${a.caseId}/report/preview`, bearer(REVIEWER_TOKEN), R);
    expect(r.status).toBe(200);
    const p = (await r.json()) as {
      xml: string;
      fields: { label: string; value: string }[];
      files: { viewedByEsp: boolean }[];
    };
    expect(p.xml).toContain("<email>tns@example.org</email>");
    expect(p.xml).toContain("192.0.2.44");
    expect(p.fields).toContainEqual({ label: "Uploader IP", value: "192.0.2.44" });
    expect(p.files[0]?.viewedByEsp).toBe(false);
    const row = await env.DB.prepare("SELECT count(*) AS n FROM reports").first<{ n: number }>();
    expect(row?.n).toBe(0);
    expect((await app.request(`/api/cases/${a.caseId}/report/preview`, bearer(VIEWER_TOKEN), R)).status).toBe(
      403,
    );
  });
});

describe("export", () => {
  it("cases as CSV with formula cells defused, filtered like the queue, and audited", async () => {
    await seedCase({ identity: { "x-account-id": '=HYPERLINK("http://evil")' } });
    const dismissed = await seedCase({ seed: 2 });
    await decide(REVIEWER_TOKEN, dismissed.caseId, { action: "dismiss", reason: "fp" });
    const r = await app.request("/export/cases.csv?status=open", bearer(REVIEWER_TOKEN), E);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-disposition")).toMatch(/attachment; filename="cases-.*\.csv"/);
    const lines = (await r.text()).trim().split("\r\n");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(lines.join()).not.toContain(dismissed.caseId);
    const json = (await (
      await app.request("/export/cases.json?status=dismissed", bearer(REVIEWER_TOKEN), E)
    ).json()) as {
      cases: CaseSummary[];
    };
    expect(json.cases.map((c) => c.id)).toEqual([dismissed.caseId]);
    const audited = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE action = 'review.export'",
    ).first<{
      n: number;
    }>();
    expect(audited?.n).toBe(2);
    expect((await app.request("/export/cases.csv", bearer(VIEWER_TOKEN), E)).status).toBe(403);
  });

  it("the audit log of the filtered cases, admin only", async () => {
    const a = await seedCase({ seed: 5 });
    const b = await seedCase({ seed: 6 });
    await decide(REVIEWER_TOKEN, a.caseId, { action: "dismiss", reason: "-1+1" });
    await decide(REVIEWER_TOKEN, b.caseId, { action: "confirm", reason: "match" });
    expect((await app.request("/export/audit.csv", bearer(REVIEWER_TOKEN), E)).status).toBe(403);
    const r = await app.request("/export/audit.json?status=dismissed", bearer(ADMIN_TOKEN), E);
    const j = (await r.json()) as { audit: { subject: string; detail: { reason?: string } }[] };
    expect(j.audit.map((x) => x.subject)).toEqual([`case:${a.caseId}`]);
    expect(j.audit[0]?.detail.reason).toBe("-1+1");
  });

  it("defuses every formula prefix", () => {
    for (const bad of ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
      expect(csvCell(bad).startsWith(`"'`)).toBe(true);
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell(42)).toBe('"42"');
  });
});

describe("wellness settings", () => {
  it("stores blur strength and the break interval; refuses values out of range", async () => {
    const put = (body: unknown) =>
      app.request("/api/settings", { ...jsonPost(REVIEWER_TOKEN, body), method: "PUT" }, E);
    expect((await put({ blur: true, greyscale: false, blurPx: 30, breakAfter: 5 })).status).toBe(200);
    const s = await (await app.request("/api/settings", bearer(REVIEWER_TOKEN), E)).json();
    expect(s).toEqual({ blur: true, greyscale: false, blurPx: 30, breakAfter: 5 });
    expect((await put({ blur: true, greyscale: true, blurPx: 0 })).status).toBe(400);
    expect((await put({ blur: true, greyscale: true, breakAfter: 1.5 })).status).toBe(400);
    const a = await seedCase();
    const page = await (await app.request(`/cases/${a.caseId}`, bearer(REVIEWER_TOKEN), E)).text();
    expect(page).toContain('data-blur-px="30"');
    expect(page).toContain('data-break-after="5"');
  });
});
