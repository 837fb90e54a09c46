// Access JWT and API-token authentication, with keys generated in the test (no network).
import { env } from "cloudflare:test";
import { Hono } from "hono";
import { base64url, createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { AccessTokenError, verifyAccessJwt } from "../../src/auth/access-jwt.ts";
import { type AuthVariables, authenticate, requireRole } from "../../src/auth/middleware.ts";
import { AuthConfigError, findApiToken } from "../../src/auth/roles.ts";
import { parseAdminTokens, parseApiTokens, parseRoleMap } from "../../src/auth/tokens.ts";
import type { Env } from "../../src/env.ts";

const TEAM = "testteam.cloudflareaccess.com";
const AUD = "aud-test-123";
const cfg = { teamDomain: TEAM, aud: AUD };

const { privateKey, publicKey } = await generateKeyPair("RS256");
const other = await generateKeyPair("RS256");
const pubJwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
const keys = createLocalJWKSet({ keys: [pubJwk] });

function sign(claims: Record<string, unknown> = {}, opts: { key?: CryptoKey; exp?: string | number } = {}) {
  return new SignJWT({ email: "Alice@Example.org", ...claims })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(`https://${TEAM}`)
    .setAudience(AUD)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? "5m")
    .sign(opts.key ?? privateKey);
}

async function failure(token: string, c = cfg): Promise<string> {
  try {
    await verifyAccessJwt(token, c, keys);
    return "accepted";
  } catch (e) {
    return e instanceof AccessTokenError ? e.kind : `other: ${e}`;
  }
}

describe("verifyAccessJwt", () => {
  it("accepts a token signed by the team key and returns the lower-cased email", async () => {
    const who = await verifyAccessJwt(await sign(), cfg, keys);
    expect(who.email).toBe("alice@example.org");
  });

  it("refuses expired, wrong-audience, wrong-issuer and foreign-key tokens", async () => {
    expect(await failure(await sign({}, { exp: Math.floor(Date.now() / 1000) - 3600 }))).toBe("expired");
    expect(await failure(await sign(), { teamDomain: TEAM, aud: "another-app" })).toBe("invalid");
    expect(await failure(await sign(), { teamDomain: "evil.cloudflareaccess.com", aud: AUD })).toBe(
      "invalid",
    );
    expect(await failure(await sign({}, { key: other.privateKey }))).toBe("invalid");
  });

  it("refuses alg none and HS256 signed with the public key (algorithm confusion)", async () => {
    const payload = {
      email: "alice@example.org",
      iss: `https://${TEAM}`,
      aud: AUD,
      exp: Math.floor(Date.now() / 1000) + 300,
    };
    const enc = (o: unknown) => base64url.encode(JSON.stringify(o));
    const none = `${enc({ alg: "none", kid: "k1" })}.${enc(payload)}.`;
    expect(await failure(none)).toBe("invalid");

    const hsHeader = `${enc({ alg: "HS256", kid: "k1" })}.${enc(payload)}`;
    const hmacKey = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(JSON.stringify(pubJwk)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const sig = await crypto.subtle.sign("HMAC", hmacKey, new TextEncoder().encode(hsHeader));
    expect(await failure(`${hsHeader}.${base64url.encode(new Uint8Array(sig))}`)).toBe("invalid");
  });

  it("refuses a token without an email claim", async () => {
    expect(await failure(await sign({ email: undefined }))).toBe("invalid");
  });
});

describe("roles and API tokens", () => {
  it("parses the role map and refuses bad entries", () => {
    const m = parseRoleMap("alice@x.org:admin, Bob@x.org:reviewer");
    expect(m.get("alice@x.org")).toBe("admin");
    expect(m.get("bob@x.org")).toBe("reviewer");
    expect(() => parseRoleMap("carol@x.org:root")).toThrow(AuthConfigError);
    expect(() => parseRoleMap("nobody:admin")).toThrow(AuthConfigError);
  });

  it("finds tokens by exact value only, and refuses short ones", async () => {
    const tokens = parseApiTokens(`${"a".repeat(32)}:reviewer,${"b".repeat(32)}:admin`);
    expect((await findApiToken(tokens, "b".repeat(32)))?.role).toBe("admin");
    expect(await findApiToken(tokens, "b".repeat(31))).toBeNull();
    expect(await findApiToken(tokens, `${"b".repeat(32)}x`)).toBeNull();
    expect(() => parseApiTokens("short:admin")).toThrow(AuthConfigError);
  });

  it("reads ADMIN_TOKEN and REVIEW_API_TOKENS in one syntax, refusing bad entries instead of dropping them", () => {
    const long = "t".repeat(30);
    expect(parseAdminTokens(long)).toEqual([{ actor: "admin", token: long }]);
    expect(parseAdminTokens(`alice=${long}, bob=${long}x`).map((t) => t.actor)).toEqual(["alice", "bob"]);
    // Base64 padding is part of the secret, not a name separator; colons are part of an admin secret.
    expect(parseAdminTokens(`${long}==`)).toEqual([{ actor: "admin", token: `${long}==` }]);
    expect(parseAdminTokens(`${long}:admin`)[0]?.token).toBe(`${long}:admin`);
    expect(parseApiTokens(`ci=${long}:viewer`)).toEqual([
      { label: "token:ci", secret: long, role: "viewer" },
    ]);
    expect(() => parseAdminTokens(`alice=${long},bob=short`)).toThrow(AuthConfigError);
    expect(() => parseApiTokens(long)).toThrow(AuthConfigError);
  });
});

describe("authenticate middleware", () => {
  const app = new Hono<{ Bindings: Env; Variables: AuthVariables }>();
  app.use("*", authenticate({ keys }));
  app.get("/who", (c) => c.json(c.var.principal));
  app.post("/admin-only", requireRole("admin"), (c) => c.text("ok"));
  const testEnv: Env = {
    ...env,
    ACCESS_TEAM_DOMAIN: TEAM,
    ACCESS_AUD: AUD,
    REVIEW_ROLES: "alice@example.org:reviewer",
    REVIEW_API_TOKENS: `${"t".repeat(30)}:admin`,
  };

  it("maps an Access user to their configured role, from header or cookie", async () => {
    const jwt = await sign();
    const r1 = await app.request("/who", { headers: { "cf-access-jwt-assertion": jwt } }, testEnv);
    expect(await r1.json()).toEqual({ id: "alice@example.org", role: "reviewer", via: "access" });
    const r2 = await app.request("/who", { headers: { cookie: `CF_Authorization=${jwt}` } }, testEnv);
    expect(r2.status).toBe(200);
  });

  it("answers 401 without credentials, 403 for a user without a role or too low a role", async () => {
    expect((await app.request("/who", {}, testEnv)).status).toBe(401);
    const bob = await sign({ email: "bob@example.org" });
    expect((await app.request("/who", { headers: { "cf-access-jwt-assertion": bob } }, testEnv)).status).toBe(
      403,
    );
    const alice = await sign();
    const r = await app.request(
      "/admin-only",
      { method: "POST", headers: { "cf-access-jwt-assertion": alice } },
      testEnv,
    );
    expect(r.status).toBe(403);
  });

  it("accepts a configured bearer token with its role and refuses others", async () => {
    const ok = await app.request(
      "/admin-only",
      { method: "POST", headers: { authorization: `Bearer ${"t".repeat(30)}` } },
      testEnv,
    );
    expect(ok.status).toBe(200);
    const bad = await app.request(
      "/who",
      { headers: { authorization: `Bearer ${"u".repeat(30)}` } },
      testEnv,
    );
    expect(bad.status).toBe(401);
  });

  it("answers 503 (not 200, not a crash) when the role map is malformed", async () => {
    const r = await app.request(
      "/who",
      { headers: { "cf-access-jwt-assertion": await sign() } },
      { ...testEnv, REVIEW_ROLES: "x" },
    );
    expect(r.status).toBe(503);
  });
});
