// Evidence reveal (audited, reasoned), CSRF, CSP, HTML escaping, reviewer settings, and the
// mount in the Worker's main app.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { revealedFiles } from "../../src/cases/audit.ts";
import { app as mainApp } from "../../src/index.ts";
import { createReviewApp } from "../../src/review/app.ts";
import {
  accessJwt,
  bearer,
  jsonPost,
  REVIEWER_TOKEN,
  resetDb,
  reviewEnv,
  seedCase,
  testBytes,
  testKeys,
  VIEWER_TOKEN,
} from "../helpers/cases.ts";

const app = createReviewApp({ keys: testKeys });
const E = reviewEnv();

beforeEach(resetDb);

/** An Access session as a browser has it: JWT cookie plus the CSRF cookie from a page load. */
async function browserSession(email: string) {
  const jwt = await accessJwt(email);
  const page = await app.request("/", { headers: { cookie: `CF_Authorization=${jwt}` } }, E);
  const setCookie = page.headers.get("set-cookie") ?? "";
  const csrf = /hg_csrf=([0-9a-f]{64})/.exec(setCookie)?.[1] ?? "";
  expect(setCookie).toMatch(/HttpOnly/i);
  expect(setCookie).toMatch(/SameSite=Strict/i);
  expect((await page.text()).includes(`<meta name="csrf-token" content="${csrf}">`)).toBe(true);
  return { cookie: `CF_Authorization=${jwt}; hg_csrf=${csrf}`, csrf };
}

describe("evidence reveal", () => {
  it("serves the exact bytes only with a reason, and records who revealed which file", async () => {
    const m = await seedCase({ seed: 9 });
    const path = `/api/cases/${m.caseId}/files/0`;
    expect((await app.request(path, bearer(REVIEWER_TOKEN), E)).status).toBe(400);
    expect((await app.request(`${path}?reason=ok`, bearer(VIEWER_TOKEN), E)).status).toBe(403);
    expect(await revealedFiles(env.DB, m.caseId)).toEqual(new Set());

    const r = await app.request(
      `${path}?reason=${encodeURIComponent("confirm the match")}`,
      bearer(REVIEWER_TOKEN),
      E,
    );
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("image/png");
    expect(r.headers.get("content-security-policy")).toContain("sandbox");
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(new Uint8Array(await r.arrayBuffer())).toEqual((await testBytes(9)).bytes);
    const row = await env.DB.prepare(
      "SELECT actor, action, subject, detail FROM audit_log WHERE action = 'evidence.reveal'",
    ).first<{ actor: string; subject: string; detail: string }>();
    expect(row).toMatchObject({
      actor: `token:${REVIEWER_TOKEN.slice(0, 6)}`,
      subject: `case:${m.caseId}/file-0`,
    });
    expect(JSON.parse(row!.detail)).toMatchObject({
      reason: "confirm the match",
      blur: true,
      greyscale: true,
    });
    expect(await revealedFiles(env.DB, m.caseId)).toEqual(new Set([0]));
  });

  it("answers 404 for a file index the case does not have, 410 when the bytes are gone", async () => {
    const m = await seedCase();
    expect(
      (await app.request(`/api/cases/${m.caseId}/files/3?reason=look`, bearer(REVIEWER_TOKEN), E)).status,
    ).toBe(404);
    await env.EVIDENCE.delete(m.files[0]!.evidenceKey!);
    expect(
      (await app.request(`/api/cases/${m.caseId}/files/0?reason=look`, bearer(REVIEWER_TOKEN), E)).status,
    ).toBe(410);
    expect(await revealedFiles(env.DB, m.caseId)).toEqual(new Set());
  });

  it("serves non-image evidence as an attachment", async () => {
    const m = await seedCase({ sniffedType: "application/zip" });
    const r = await app.request(`/api/cases/${m.caseId}/files/0?reason=look`, bearer(REVIEWER_TOKEN), E);
    expect(r.headers.get("content-type")).toBe("application/octet-stream");
    expect(r.headers.get("content-disposition")).toMatch(/^attachment/);
  });
});

describe("CSRF", () => {
  it("refuses browser (Access) requests without the token, with a wrong token or a foreign Origin", async () => {
    const m = await seedCase();
    const s = await browserSession("alice@example.org");
    const post = (headers: Record<string, string>) =>
      app.request(
        `http://review.test/api/cases/${m.caseId}/decision`,
        {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ action: "start" }),
        },
        E,
      );
    expect((await post({ cookie: s.cookie })).status).toBe(403);
    expect((await post({ cookie: s.cookie, "x-csrf-token": "0".repeat(64) })).status).toBe(403);
    expect(
      (await post({ cookie: s.cookie, "x-csrf-token": s.csrf, origin: "https://evil.example" })).status,
    ).toBe(403);
    expect(
      (await post({ cookie: s.cookie, "x-csrf-token": s.csrf, "sec-fetch-site": "cross-site" })).status,
    ).toBe(403);
    expect(
      (await post({ cookie: s.cookie, "x-csrf-token": s.csrf, origin: "http://review.test" })).status,
    ).toBe(200);
  });

  it("guards evidence reveals too, so a cross-site image cannot fake a 'viewed' record", async () => {
    const m = await seedCase();
    const s = await browserSession("alice@example.org");
    const url = `/api/cases/${m.caseId}/files/0?reason=look`;
    expect((await app.request(url, { headers: { cookie: s.cookie } }, E)).status).toBe(403);
    expect(await revealedFiles(env.DB, m.caseId)).toEqual(new Set());
    expect(
      (await app.request(url, { headers: { cookie: s.cookie, "x-csrf-token": s.csrf } }, E)).status,
    ).toBe(200);
  });
});

describe("pages", () => {
  it("escapes uploader-controlled strings and sends a strict CSP without inline script", async () => {
    const evil = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
    const m = await seedCase({ filename: evil, userAgent: evil, identity: { "x-account-id": evil } });
    const s = await browserSession("alice@example.org");
    const r = await app.request(`/cases/${m.caseId}`, { headers: { cookie: s.cookie } }, E);
    expect(r.status).toBe(200);
    const page = await r.text();
    expect(page).not.toContain("<script>alert");
    expect(page).not.toContain("<img src=x");
    expect(page).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
    expect(page.match(/<script/g)).toHaveLength(1);
    expect(page).toContain('<script src="/review/static/review.js" defer></script>');
    const csp = r.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain("unsafe-inline");
    // Media is not in the page: only a placeholder and a reveal button.
    expect(page).toContain("Media hidden.");
    expect(page).not.toContain(m.files[0]!.evidenceKey);
  });

  it("says why a held image is in review when no list matched it", async () => {
    const m = await seedCase({ imageError: "corrupt" });
    const s = await browserSession("alice@example.org");
    const page = await (await app.request(`/cases/${m.caseId}`, { headers: { cookie: s.cookie } }, E)).text();
    expect(page).toContain("the image could not be hashed (corrupt)");
  });

  it("lists cases in the queue page and hides decisions from viewers", async () => {
    const m = await seedCase();
    const viewer = await accessJwt("vic@example.org");
    const q = await (
      await app.request("/?status=new", { headers: { cookie: `CF_Authorization=${viewer}` } }, E)
    ).text();
    expect(q).toContain(m.caseId);
    const d = await (
      await app.request(`/cases/${m.caseId}`, { headers: { cookie: `CF_Authorization=${viewer}` } }, E)
    ).text();
    expect(d).not.toContain('data-action="confirm"');
  });
});

describe("reviewer settings", () => {
  it("default to blur and greyscale on, and persist per reviewer", async () => {
    const get = async (t: string) => (await app.request("/api/settings", bearer(t), E)).json();
    expect(await get(REVIEWER_TOKEN)).toEqual({ blur: true, greyscale: true });
    const put = await app.request(
      "/api/settings",
      { ...jsonPost(REVIEWER_TOKEN, { blur: false, greyscale: true }), method: "PUT" },
      E,
    );
    expect(put.status).toBe(200);
    expect(await get(REVIEWER_TOKEN)).toEqual({ blur: false, greyscale: true });
    expect(await get(VIEWER_TOKEN)).toEqual({ blur: true, greyscale: true });
    const bad = await app.request(
      "/api/settings",
      { ...jsonPost(REVIEWER_TOKEN, { blur: "no" }), method: "PUT" },
      E,
    );
    expect(bad.status).toBe(400);
  });
});

describe("mount in the Worker", () => {
  it("routes /review to the review app (auth required) instead of the gate", async () => {
    expect((await mainApp.request("/review/api/cases", {}, reviewEnv())).status).toBe(401);
    const m = await seedCase();
    const r = await mainApp.request(`/review/api/cases/${m.caseId}`, bearer(VIEWER_TOKEN), reviewEnv());
    expect(r.status).toBe(200);
    const js = await mainApp.request("/review/static/review.js", bearer(VIEWER_TOKEN), reviewEnv());
    expect(js.headers.get("content-type")).toMatch(/javascript/);
  });

  it("sends /review/ to the queue at /review, keeping the query, and never to the gate", async () => {
    const r = await mainApp.request("/review/?kind=exact&sort=updated", {}, reviewEnv());
    expect(r.status).toBe(308);
    expect(r.headers.get("location")).toBe("/review?kind=exact&sort=updated");
    const page = await mainApp.request(r.headers.get("location")!, bearer(VIEWER_TOKEN), reviewEnv());
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/html/);
  });
});
