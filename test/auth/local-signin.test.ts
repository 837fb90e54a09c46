// Local development sign-in: a one-time code for a session cookie, only when enabled, on
// loopback, without Access; the cookie grants exactly its role and CSRF still applies.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { createReviewApp } from "../../src/review/app.ts";
import { resetDb, seedCase, testKeys } from "../helpers/cases.ts";

const app = createReviewApp({ keys: testKeys });
const CODE = "local-code-0123456789abcdef";
const HOUR = 60 * 60 * 1000;

function localEnv(extra: Partial<Env> = {}): Env {
  return {
    ...env,
    ACCESS_TEAM_DOMAIN: undefined,
    ACCESS_AUD: undefined,
    LOCAL_SIGNIN: "true",
    LOCAL_SIGNIN_CODE: CODE,
    LOCAL_SIGNIN_EXPIRES: new Date(Date.now() + HOUR).toISOString(),
    ...extra,
  } as Env;
}

beforeEach(resetDb);

async function signIn(E: Env, query = `code=${CODE}`, base = "http://127.0.0.1/signin") {
  const res = await app.request(`${base}?${query}`, { redirect: "manual" }, E);
  const cookie = /hg_session=([0-9a-f]{64})/.exec(res.headers.get("set-cookie") ?? "")?.[1];
  return { res, cookie };
}

const html = { accept: "text/html,application/xhtml+xml" };

describe("local sign-in", () => {
  it("exchanges the code once for an HttpOnly SameSite=Strict session cookie", async () => {
    const E = localEnv();
    const first = await signIn(E);
    expect(first.res.status).toBe(303);
    expect(first.res.headers.get("location")).toBe("/review");
    const set = first.res.headers.get("set-cookie") ?? "";
    expect(set).toMatch(/HttpOnly/i);
    expect(set).toMatch(/SameSite=Strict/i);
    expect(set).toMatch(/Max-Age=28800/);
    expect(first.cookie).toBeDefined();
    const page = await app.request(
      "http://127.0.0.1/",
      { headers: { cookie: `hg_session=${first.cookie}` } },
      E,
    );
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("local-admin@localhost (admin)");
    // The same code again: refused, no second session.
    const again = await signIn(E);
    expect(again.res.status).toBe(403);
    expect(again.cookie).toBeUndefined();
    expect(await again.res.text()).toContain("already used");
  });

  it("marks the cookie Secure over https", async () => {
    const E = localEnv();
    const res = await app.request(`https://localhost/signin?code=${CODE}`, { redirect: "manual" }, E);
    expect(res.headers.get("set-cookie")).toMatch(/Secure/);
  });

  it("refuses a wrong code and an expired code", async () => {
    const wrong = await signIn(localEnv(), "code=local-code-0123456789abcdeX");
    expect(wrong.res.status).toBe(403);
    expect(wrong.cookie).toBeUndefined();
    const expired = await signIn(
      localEnv({ LOCAL_SIGNIN_EXPIRES: new Date(Date.now() - 1000).toISOString() }),
    );
    expect(expired.res.status).toBe(403);
    expect(expired.cookie).toBeUndefined();
    expect(await expired.res.text()).toContain("expired");
    // The wrong and expired attempts did not use the code up.
    expect((await signIn(localEnv())).res.status).toBe(303);
  });

  it("is refused when not enabled, when Access is configured, and off loopback", async () => {
    for (const E of [
      localEnv({ LOCAL_SIGNIN: undefined }),
      localEnv({ LOCAL_SIGNIN: "1" }),
      localEnv({ ACCESS_TEAM_DOMAIN: "team.cloudflareaccess.com", ACCESS_AUD: "aud" }),
      localEnv({ ACCESS_AUD: "aud" }),
    ]) {
      const r = await signIn(E);
      expect(r.res.status).toBe(403);
      expect(r.cookie).toBeUndefined();
    }
    expect((await signIn(localEnv(), `code=${CODE}`, "https://review.example.org/signin")).res.status).toBe(
      403,
    );
    const spoofed = await app.request(
      `http://127.0.0.1/signin?code=${CODE}`,
      { redirect: "manual", headers: { "cf-connecting-ip": "203.0.113.9" } },
      localEnv(),
    );
    expect(spoofed.status).toBe(403);
  });

  it("a session made while enabled stops working once local sign-in is off", async () => {
    const { cookie } = await signIn(localEnv());
    const off = localEnv({ LOCAL_SIGNIN: undefined });
    const r = await app.request(
      "http://127.0.0.1/api/cases",
      { headers: { cookie: `hg_session=${cookie}` } },
      off,
    );
    expect(r.status).toBe(401);
  });

  it("the cookie grants exactly the role asked for", async () => {
    const { cookie } = await signIn(localEnv(), `code=${CODE}&role=viewer`);
    const m = await seedCase();
    const E = localEnv();
    const headers = { cookie: `hg_session=${cookie}` };
    expect((await app.request("http://127.0.0.1/api/cases", { headers }, E)).status).toBe(200);
    // A viewer may not reveal or decide (the role check, before CSRF).
    const reveal = await app.request(
      `http://127.0.0.1/api/cases/${m.caseId}/files/0?reason=look`,
      { headers },
      E,
    );
    expect(reveal.status).toBe(403);
    expect((await reveal.json()) as object).toMatchObject({ error: "forbidden" });
    expect((await signIn(localEnv(), `code=${CODE}&role=root`)).res.status).toBe(400);
  });

  it("still enforces CSRF for a session", async () => {
    const E = localEnv();
    const { cookie } = await signIn(E, `code=${CODE}&role=reviewer`);
    const m = await seedCase();
    const page = await app.request("http://127.0.0.1/", { headers: { cookie: `hg_session=${cookie}` } }, E);
    const csrf = /hg_csrf=([0-9a-f]{64})/.exec(page.headers.get("set-cookie") ?? "")?.[1] ?? "";
    const post = (headers: Record<string, string>) =>
      app.request(
        `http://127.0.0.1/api/cases/${m.caseId}/decision`,
        {
          method: "POST",
          body: JSON.stringify({ action: "start" }),
          headers: { "content-type": "application/json", ...headers },
        },
        E,
      );
    const without = await post({ cookie: `hg_session=${cookie}; hg_csrf=${csrf}` });
    expect(without.status).toBe(403);
    expect((await without.json()) as object).toMatchObject({ error: "csrf" });
    const withToken = await post({ cookie: `hg_session=${cookie}; hg_csrf=${csrf}`, "x-csrf-token": csrf });
    expect(withToken.status).toBe(200);
  });

  it("an unknown session cookie is unauthenticated", async () => {
    const r = await app.request(
      "http://127.0.0.1/api/cases",
      { headers: { cookie: `hg_session=${"0".repeat(64)}` } },
      localEnv(),
    );
    expect(r.status).toBe(401);
  });
});

describe("unauthenticated browsers", () => {
  it("get the sign-in page; API clients get JSON 401", async () => {
    const page = await app.request("http://127.0.0.1/", { headers: html }, localEnv());
    expect(page.status).toBe(401);
    expect(page.headers.get("content-type")).toContain("text/html");
    const text = await page.text();
    expect(text).toContain("Cloudflare Access");
    expect(text).toContain("/review/signin?code=");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const api = await app.request("http://127.0.0.1/api/cases", {}, localEnv());
    expect(api.status).toBe(401);
    expect((await api.json()) as object).toMatchObject({ error: "unauthenticated" });
    const signout = await app.request(
      "http://127.0.0.1/signin",
      { headers: html },
      localEnv({ LOCAL_SIGNIN: undefined }),
    );
    expect(await signout.text()).toContain("Run <code>npm start</code>");
  });
});
