/**
 * Issue 10, "The gate's own surfaces": paths of the admin and review namespace without a
 * route fell through to the origin carrying the gate's bearer token, `/review/foo` answered
 * 503, and the apps shared the upload host. Tokens and listed bytes here are TEST DATA.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { app } from "../../src/index.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { type Received, receivedWith } from "../helpers/origin.ts";

const ADMIN_TOKEN = "admin-token-surfaces-0123456789";
const REVIEW_TOKEN = "review-token-surfaces-0123456789";
const PLATFORM_TOKEN = "platform-session-abc";
const AUD = "aud-of-the-gates-access-app";
const LISTED = testBytes(2000, 121);
const CLEAN = testBytes(2000, 122);

const BASE_VARS: Partial<Env> = {
  ADMIN_TOKEN: `ops=${ADMIN_TOKEN}`,
  REVIEW_API_TOKENS: `${REVIEW_TOKEN}:reviewer`,
  ACCESS_AUD: AUD,
  ACCESS_TEAM_DOMAIN: "team.example.test",
};
const HOSTS: Partial<Env> = { REVIEW_HOST: "review.example.test", ADMIN_HOST: "Admin.Example.Test" };

beforeAll(async () => {
  await seedLists(env.HASHES, [
    {
      meta: testList("surfaces-blocklist", { algorithms: ["sha256"] }),
      entries: [{ algo: "sha256", hex: await digestHex("sha256", LISTED) }],
    },
  ]);
});

/** An unsigned JWT whose `aud` is `aud`: only its claims matter to the stripping. */
function accessJwt(aud: string): string {
  const b64 = (o: unknown) =>
    btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "RS256" })}.${b64({ aud: [aud], email: "rita@example.org" })}.c2ln`;
}

/** Sends `url` (a marker is added to its query) through the whole Worker. */
async function send(url: string, init: RequestInit = {}, vars: Partial<Env> = {}) {
  const marker = crypto.randomUUID();
  const u = new URL(url);
  u.searchParams.set("m", marker);
  const { ctx, settle } = testCtx();
  const e = testEnv({ MATCHES: new CapturingQueue() as unknown as Queue, ...BASE_VARS, ...vars });
  const res = await app.fetch(new Request(u, init), e, ctx as unknown as ExecutionContext);
  await settle();
  return { res, origin: await receivedWith(marker) };
}

const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe("the apps' namespace without hosts (path mount)", () => {
  it("an admin path without a route, with a valid admin token: 404 from the gate, the origin gets nothing", async () => {
    // Issue 10's road was GET /admin/status, which has since become an admin route of its own.
    const { res, origin } = await send("https://up.example.test/admin/no-such-route", {
      headers: bearer(ADMIN_TOKEN),
    });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not_found", message: "not found" });
    expect(origin).toHaveLength(0);
    const status = await send("https://up.example.test/admin/status", { headers: bearer(ADMIN_TOKEN) });
    expect(status.res.status).toBe(200);
    expect(status.origin).toHaveLength(0);
  });

  it("/review/foo with a reviewer token: 404, not 503, and not forwarded", async () => {
    const { res, origin } = await send("https://up.example.test/review/foo", {
      headers: bearer(REVIEW_TOKEN),
    });
    expect(res.status).toBe(404);
    expect(origin).toHaveLength(0);
  });

  it("no reading of an app path reaches the origin, with or without a token", async () => {
    const paths = [
      "/admin",
      "/admin/",
      "/Admin/lists",
      "//admin/lists",
      "/%61dmin/lists",
      "/admin;x/lists",
      "/review/api/nope",
      "/REVIEW/cases/x/y",
      "/review%2fstatic/x",
    ];
    for (const path of paths) {
      for (const headers of [{}, bearer(ADMIN_TOKEN), bearer(REVIEW_TOKEN)]) {
        const { res, origin } = await send(`https://up.example.test${path}`, {
          method: "POST",
          headers,
          body: "x",
        });
        expect(origin, `${path} ${JSON.stringify(headers)}`).toHaveLength(0);
        // The gate's 404, the app's refusal, or the app itself (Hono decodes `%61dmin`): never 5xx.
        expect(res.status, path).toBeGreaterThanOrEqual(400);
        expect(res.status, path).toBeLessThan(500);
      }
    }
  });

  it("the apps still answer their routes", async () => {
    const lists = await send("https://up.example.test/admin/lists", { headers: bearer(ADMIN_TOKEN) });
    expect(lists.res.status).toBe(200);
    const queue = await send("https://up.example.test/review", { headers: bearer(REVIEW_TOKEN) });
    expect(queue.res.status).toBe(200);
  });
});

describe("credentials meant for the gate never leave it", () => {
  function headersSeen(origin: Received[]): string {
    expect(origin).toHaveLength(1);
    return JSON.stringify(origin[0]!.headers);
  }

  it("no forwarded request carries a gate token, whatever road it took", async () => {
    const requests: [string, RequestInit, Partial<Env>][] = [
      ["/page", { method: "GET" }, {}],
      ["/upload", { method: "POST", body: CLEAN }, {}],
      ["/dav/x", { method: "PROPFIND", body: CLEAN }, {}],
      ["/elsewhere", { method: "POST", body: LISTED }, { SCAN_PATHS: "/upload" }],
      ["/admin/status", { method: "GET" }, HOSTS],
      ["/review/foo", { method: "POST", body: CLEAN }, HOSTS],
    ];
    for (const [path, init, vars] of requests) {
      for (const token of [ADMIN_TOKEN, REVIEW_TOKEN]) {
        for (const authorization of [`Bearer ${token}`, `bearer  ${token} `, `Token ${token}`]) {
          const { res, origin } = await send(
            `https://up.example.test${path}`,
            { ...init, headers: { authorization, "x-keep": "1" } },
            vars,
          );
          expect(res.status, path).toBe(201);
          const seen = headersSeen(origin);
          expect(seen, `${path} ${authorization}`).not.toContain(token);
          expect(seen).toContain("x-keep");
        }
      }
    }
  });

  it("the platform's own Authorization passes unchanged", async () => {
    const { origin } = await send("https://up.example.test/upload", {
      method: "POST",
      headers: bearer(PLATFORM_TOKEN),
      body: CLEAN,
    });
    expect(origin[0]!.headers.authorization).toBe(`Bearer ${PLATFORM_TOKEN}`);
  });

  it("the gate's Access token is removed as header and cookie; another application's passes", async () => {
    const ours = accessJwt(AUD);
    const theirs = accessJwt("aud-of-the-platforms-app");
    const { origin } = await send("https://up.example.test/upload", {
      method: "POST",
      headers: {
        "cf-access-jwt-assertion": ours,
        "cf-access-authenticated-user-email": "rita@example.org",
        cookie: `a=1; CF_Authorization=${ours}; b=2`,
      },
      body: CLEAN,
    });
    const h = origin[0]!.headers;
    expect(h["cf-access-jwt-assertion"]).toBeUndefined();
    expect(h["cf-access-authenticated-user-email"]).toBeUndefined();
    expect(h.cookie).toBe("a=1; b=2");
    const other = await send("https://up.example.test/upload", {
      method: "POST",
      headers: { "cf-access-jwt-assertion": theirs, cookie: `CF_Authorization=${theirs}` },
      body: CLEAN,
    });
    expect(other.origin[0]!.headers["cf-access-jwt-assertion"]).toBe(theirs);
    expect(other.origin[0]!.headers.cookie).toBe(`CF_Authorization=${theirs}`);
  });
});

describe("REVIEW_HOST and ADMIN_HOST", () => {
  it("on the upload host, /review and /admin belong to the platform: proxied, and scanned", async () => {
    const page = await send("https://up.example.test/review", {}, HOSTS);
    expect(page.res.status).toBe(201);
    expect(page.origin).toHaveLength(1);
    const admin = await send("https://up.example.test/admin/lists", { headers: bearer(ADMIN_TOKEN) }, HOSTS);
    expect(admin.res.status).toBe(201);
    expect(admin.origin[0]!.headers.authorization).toBeUndefined();
    const listed = await send(
      "https://up.example.test/review/upload",
      { method: "POST", body: LISTED },
      HOSTS,
    );
    expect(listed.res.status).toBe(451);
    expect(listed.origin).toHaveLength(0);
  });

  it("the review host serves the review app only; the gate never runs there", async () => {
    const queue = await send("https://review.example.test/review", { headers: bearer(REVIEW_TOKEN) }, HOSTS);
    expect(queue.res.status).toBe(200);
    const root = await send("https://review.example.test/", {}, HOSTS);
    expect(root.res.status).toBe(302);
    expect(root.res.headers.get("location")).toBe("/review");
    for (const [path, headers] of [
      ["/upload", {}],
      ["/admin/lists", bearer(ADMIN_TOKEN)],
      ["/review/nope", bearer(REVIEW_TOKEN)],
    ] as const) {
      const r = await send(
        `https://review.example.test${path}`,
        { method: "POST", headers, body: LISTED },
        HOSTS,
      );
      expect(r.res.status, path).toBe(404);
      expect(r.origin, path).toHaveLength(0);
    }
  });

  it("the admin host serves the admin API only (host matched case-insensitively)", async () => {
    const lists = await send(
      "https://admin.example.test/admin/lists",
      { headers: bearer(ADMIN_TOKEN) },
      HOSTS,
    );
    expect(lists.res.status).toBe(200);
    for (const path of ["/", "/review", "/upload"]) {
      const r = await send(`https://admin.example.test${path}`, { headers: bearer(REVIEW_TOKEN) }, HOSTS);
      expect(r.res.status, path).toBe(404);
      expect(r.origin).toHaveLength(0);
    }
  });

  it("one app on its host, the other still path-mounted", async () => {
    const vars = { REVIEW_HOST: "review.example.test" };
    const admin = await send("https://up.example.test/admin/lists", { headers: bearer(ADMIN_TOKEN) }, vars);
    expect(admin.res.status).toBe(200);
    const review = await send("https://up.example.test/review", {}, vars);
    expect(review.res.status).toBe(201);
  });
});
