/**
 * Injection and steering (issue 6): the gate forwards only to ORIGIN_URL whatever the Host
 * header, X-Forwarded-Host or URL says; uploader-chosen names cannot steer R2 evidence keys;
 * uploader strings are escaped in the review UI and in the CyberTipline XML; secrets never
 * reach logs or error bodies. All bytes are benign TEST DATA; secrets are test strings.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { XMLParser } from "fast-xml-parser";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { adminRoutes } from "../../src/admin/routes.ts";
import type { MatchMessage } from "../../src/cases/messages.ts";
import type { Env } from "../../src/env.ts";
import type { GateConfig } from "../../src/gate/config.ts";
import { originTarget } from "../../src/gate/forward.ts";
import { CASE_HEADER } from "../../src/gate/gate.ts";
import { validateFileInfoXml, validateReportXml } from "../../src/report/validate.ts";
import { buildFileInfoXml, buildReportXml } from "../../src/report/xml.ts";
import { createReviewApp } from "../../src/review/app.ts";
import {
  bearer,
  jsonPost,
  REVIEWER_TOKEN,
  resetDb,
  reviewEnv,
  seedCase,
  testKeys,
  VIEWER_TOKEN,
} from "../helpers/cases.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";
import { FakeCyberTip } from "../report/fake-cybertip.ts";

const LISTED = testBytes(4096, 606);
const CLEAN = testBytes(2048, 607);

beforeEach(async () => {
  await seedLists(env.HASHES, [
    {
      meta: testList("attacklist", { algorithms: ["sha256"] }),
      entries: [{ algo: "sha256", hex: await digestHex("sha256", LISTED) }],
    },
  ]);
});

describe("origin pinning", () => {
  it("forwards to ORIGIN_URL whatever the URL host, Host and X-Forwarded-Host say", async () => {
    const p = uniquePrefix();
    const res = await exports.default.fetch(`https://attacker.example.test${p}/up`, {
      method: "POST",
      headers: {
        host: "attacker.example.test",
        "x-forwarded-host": "attacker.example.test",
        "x-original-url": "http://attacker.example.test/",
      },
      body: CLEAN,
    });
    expect(res.status).toBe(201); // answered by the test origin, the only server it can reach
    expect(res.headers.get("x-origin")).toBe("test");
    expect(await receivedAt(p)).toHaveLength(1);
  });

  it("keeps a path that looks like an authority (//host/…) on the origin", async () => {
    const p = uniquePrefix();
    const res = await exports.default.fetch(`https://gate.example.test//attacker.example.test${p}`, {
      method: "PUT",
      body: CLEAN,
    });
    expect(res.headers.get("x-origin")).toBe("test");
    expect(await receivedAt(`//attacker.example.test${p}`)).toHaveLength(1);
  });

  it("originTarget keeps the configured scheme, host and port for hostile request URLs", () => {
    const cfg = { originUrl: new URL("http://127.0.0.1:8080/base/") } as GateConfig;
    const hostile = [
      "https://evil.example/x",
      "https://gate.example//evil.example/x",
      "https://gate.example/%2F%2Fevil.example/x",
      "https://gate.example/..%2F..%2Fetc?u=http://evil.example",
      "https://gate.example/@evil.example/",
      "https://user:pw@evil.example:444/a#frag",
      "https://gate.example/\\\\evil.example/x",
    ];
    for (const u of hostile) {
      const t = originTarget(u, cfg);
      expect(t.origin, u).toBe("http://127.0.0.1:8080");
      expect(t.username + t.password, u).toBe("");
      expect(t.pathname.startsWith("/base/"), u).toBe(true);
    }
  });
});

describe("evidence keys", () => {
  const NAMES = [
    "../../x",
    "..%2f..%2fx",
    "%2e%2e/%2e%2e/x",
    "/etc/passwd",
    "..\\..\\win.ini",
    `${"a".repeat(3000)}.png`,
    "evidence/hg_fake/file-0",
    "a\u0000b.png",
  ];

  it("are built from the case id and file index only, whatever the filename or field name", async () => {
    const p = uniquePrefix();
    const { body, contentType } = buildMultipart(
      NAMES.map((filename, i) => ({ field: i % 2 ? "../field" : `f${i}`, filename, data: LISTED })),
    );
    const res = await exports.default.fetch(`https://gate.example.test${p}`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    });
    // Every hostile name (a NUL included) is taken as a name: the listed parts are blocked.
    expect(res.status).toBe(451);
    expect(await receivedAt(p)).toHaveLength(0);
    const caseId = res.headers.get(CASE_HEADER)!;
    const listed = await env.EVIDENCE.list({ prefix: `evidence/${caseId}/` });
    const keys = listed.objects.map((o) => o.key).sort();
    // Every part carries the same listed bytes: the copies share the first one's object.
    const want = [`evidence/${caseId}/upload.json`, `evidence/${caseId}/file-0`];
    expect(keys).toEqual(want.sort());
    // And nothing anywhere in the bucket was written under a name an uploader chose.
    const all = await env.EVIDENCE.list({ limit: 1000 });
    for (const o of all.objects)
      expect(o.key).toMatch(
        /^(evidence\/hg_[A-Za-z0-9_-]+\/(upload\.json|file-\d+)|spool\/[0-9a-f-]{36}.*)$/,
      );
  });
});

const HOSTILE = {
  filename: `<script>alert("f")</script>'"&<!--]]>.png`,
  userAgent: `<img src=x onerror=alert(1)>"'&`,
  account: `</td><script>alert("id")</script><![CDATA[x]]>`,
};

describe("escaping of uploader strings", () => {
  beforeEach(resetDb);

  it("the review UI escapes filename, user agent and identity values (case page and queue)", async () => {
    const msg = await seedCase({
      seed: 71,
      filename: HOSTILE.filename,
      userAgent: HOSTILE.userAgent,
      identity: { "x-account-id": HOSTILE.account },
    });
    const app = createReviewApp({ keys: testKeys });
    for (const path of [`/cases/${msg.caseId}`, "/"]) {
      const res = await app.request(path, bearer(VIEWER_TOKEN), reviewEnv());
      expect(res.status).toBe(200);
      const page = await res.text();
      for (const raw of ["<script>alert", "<img src=x", "</td><script>", "<![CDATA["])
        expect(page).not.toContain(raw);
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    }
    const page = await (await app.request(`/cases/${msg.caseId}`, bearer(VIEWER_TOKEN), reviewEnv())).text();
    expect(page).toContain("&lt;script&gt;alert(&quot;f&quot;)&lt;/script&gt;");
    expect(page).toContain("&lt;img src=x onerror=alert(1)&gt;");
  });

  it("the CyberTipline XML carries the hostile strings as text, adding no element", async () => {
    const msg: MatchMessage = await seedCase({
      seed: 72,
      filename: HOSTILE.filename,
      userAgent: HOSTILE.userAgent,
      identity: { "x-account-id": HOSTILE.account },
    });
    const reporter = { email: "tns@example.org", espService: `Uploads <b>&</b>` };
    const report = buildReportXml(msg, reporter);
    const info = buildFileInfoXml("1001", "f1", msg.files[0]!, msg, false);
    validateReportXml(report);
    validateFileInfoXml(info);
    const parser = new XMLParser({ processEntities: true, parseTagValue: false, trimValues: false });
    const r = parser.parse(report) as {
      report: { personOrUserReported: { espIdentifier: string; espService: string } };
    };
    expect(r.report.personOrUserReported.espIdentifier).toBe(HOSTILE.account);
    expect(r.report.personOrUserReported.espService).toBe(reporter.espService);
    const f = parser.parse(info) as { fileDetails: Record<string, unknown> };
    expect(f.fileDetails.originalFileName).toBe(HOSTILE.filename);
    expect(report).not.toContain("<script>");
    expect(info).not.toContain("<script>");
    expect(Object.keys(r.report)).not.toContain("script");
  });
});

describe("secrets stay out of logs and error bodies", () => {
  const ADMIN_SECRET = "ADMINSECRET-0123456789-abcdefghij";
  const API_SECRET = "APISECRET-0123456789-abcdefghijk";
  let logged: string[] = [];
  const stringify = (a: unknown): string =>
    a instanceof Error
      ? `${a.name} ${a.message} ${a.stack} ${stringify(a.cause)}`
      : typeof a === "string"
        ? a
        : (JSON.stringify(a) ?? String(a));

  beforeEach(() => {
    logged = [];
    for (const m of ["log", "info", "warn", "error", "debug"] as const)
      vi.spyOn(console, m).mockImplementation(
        (...args: unknown[]) => void logged.push(args.map(stringify).join(" ")),
      );
  });
  afterEach(() => vi.restoreAllMocks());

  // Every method of a binding throws (synchronously: a rejected promise nobody awaits would
  // be the fake's bug, not the code's).
  const broken = new Proxy(
    {},
    {
      get: () => () => {
        throw new Error("binding down (injected)");
      },
    },
  );

  function assertClean(texts: string[], secrets: string[]) {
    for (const s of secrets)
      for (const t of texts) {
        expect(t.includes(s), `secret ${s.slice(0, 8)}… in: ${t.slice(0, 200)}`).toBe(false);
      }
  }

  it("admin, review and gate errors (failing KV/D1, bad config) reveal no secret", async () => {
    const admin = new Hono<{ Bindings: Env }>().route("/admin", adminRoutes);
    const review = createReviewApp({ keys: testKeys });
    const E = reviewEnv({
      ADMIN_TOKEN: `ops=${ADMIN_SECRET}`,
      REVIEW_API_TOKENS: `${API_SECRET}:reviewer`,
      CYBERTIP_PASSWORD: "CYBERTIPSECRET-xyz",
    });
    const bodies: string[] = [];
    const auth = { authorization: `Bearer ${ADMIN_SECRET}` };
    const hit = async (r: Response | Promise<Response>) =>
      bodies.push(`${(await r).status} ${await (await r).text()}`);
    await hit(admin.request("/admin/lists", { headers: auth }, { ...E, HASHES: broken as KVNamespace }));
    await hit(admin.request("/admin/lists", { headers: { authorization: `Bearer ${ADMIN_SECRET}x` } }, E));
    await hit(
      admin.request("/admin/lists/x/delta", { method: "POST", headers: auth, body: "garbage line\n" }, E),
    );
    await hit(review.request("/api/cases", bearer(API_SECRET), { ...E, DB: broken as D1Database }));
    await hit(
      review.request("/api/cases", bearer(API_SECRET), { ...E, REVIEW_API_TOKENS: `${API_SECRET}:root` }),
    );
    await hit(review.request("/api/cases", bearer(`${API_SECRET.slice(0, 10)}`), E));
    await hit(
      exports.default.fetch("https://gate.example.test/up", {
        method: "POST",
        body: CLEAN,
        headers: { "x-admin-token": ADMIN_SECRET },
      }),
    );
    expect(bodies.some((b) => b.startsWith("500"))).toBe(true);
    assertClean([...bodies, ...logged], [ADMIN_SECRET, API_SECRET, "CYBERTIPSECRET-xyz"]);
  });

  it("a failing CyberTipline submission logs and stores no credential", async () => {
    const fake = new FakeCyberTip();
    fake.fail(
      "/submit",
      { code: 1000 },
      { code: "network" },
      { code: 1100 },
      { code: 1000 },
      { code: 1000 },
      { code: 1000 },
    );
    const app = createReviewApp({ keys: testKeys, fetch: fake.fetch, sleep: async () => {} });
    const E = reviewEnv({
      CYBERTIP_BASE_URL: fake.base,
      CYBERTIP_USERNAME: fake.username,
      CYBERTIP_PASSWORD: fake.password,
      REPORTER_EMAIL: "tns@example.org",
    });
    const msg = await seedCase({ seed: 73 });
    await app.request(
      `/api/cases/${msg.caseId}/decision`,
      jsonPost(REVIEWER_TOKEN, { action: "confirm", reason: "test" }),
      E,
    );
    const res = await app.request(`/api/cases/${msg.caseId}/report`, jsonPost(REVIEWER_TOKEN, {}), E);
    const body = await res.text();
    const rows = await env.DB.prepare("SELECT * FROM reports").all();
    const audit = await env.DB.prepare("SELECT * FROM audit_log").all();
    const basic = btoa(`${fake.username}:${fake.password}`);
    assertClean(
      [body, JSON.stringify(rows.results), JSON.stringify(audit.results), ...logged],
      [fake.password, basic],
    );
  });
});
