/**
 * Issue 10: the origin could not tell a request that passed the gate from one that went
 * around it. With ORIGIN_SIGNING_KEY set, the recording origin receives a signature that the
 * Node verifier (origin-verifier/, run here under nodejs_compat) accepts. Key and bodies are
 * TEST DATA.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { bodyMatches, createReplayCache, verifySignature } from "../../origin-verifier/index.js";
import type { Env } from "../../src/env.ts";
import { SIGNATURE_HEADER } from "../../src/gate/origin-signature.ts";
import { app } from "../../src/index.ts";
import { CapturingQueue, failing, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { bodyOf, type Received, receivedAt, uniquePrefix } from "../helpers/origin.ts";

const KEY = "origin-signing-key-for-tests-0123456789";
const GATE = "https://uploads.example.test";
const CLEAN = testBytes(300_000, 131);
const FLAGGED = testBytes(2000, 132);
const LISTED = testBytes(2000, 133);

beforeAll(async () => {
  await seedLists(env.HASHES, [
    {
      meta: testList("signing-blocklist", { algorithms: ["md5"] }),
      entries: [{ algo: "md5", hex: await digestHex("md5", LISTED) }],
    },
    {
      meta: testList("signing-flaglist", { action: "flag", algorithms: ["md5"] }),
      entries: [{ algo: "md5", hex: await digestHex("md5", FLAGGED) }],
    },
  ]);
});

async function send(url: string, init: RequestInit, vars: Partial<Env> = {}) {
  const { ctx, settle } = testCtx();
  const e = testEnv({ MATCHES: new CapturingQueue() as unknown as Queue, ORIGIN_SIGNING_KEY: KEY, ...vars });
  const res = await app.fetch(new Request(url, init), e, ctx as unknown as ExecutionContext);
  await settle();
  return res;
}

async function verified(seen: Received) {
  const header = seen.headers[SIGNATURE_HEADER] as string | undefined;
  const r = await verifySignature(
    { header, method: seen.method, url: seen.url },
    { key: KEY, replay: createReplayCache() },
  );
  if (!r.ok) throw new Error(`signature refused: ${r.reason} (${header})`);
  return r;
}

describe("origin signing", () => {
  it("a clean upload arrives signed: verdict clean, the body's SHA-256, the path and query as received", async () => {
    const p = uniquePrefix();
    const res = await send(`${GATE}${p}/upload?a=1&b=%20c`, { method: "PUT", body: CLEAN });
    expect(res.status).toBe(201);
    const [seen] = await receivedAt(p);
    const r = await verified(seen!);
    expect(r.verdict).toBe("clean");
    expect(r.bodySha256).toBe(seen!.sha256);
    expect(bodyMatches(r, bodyOf(seen!))).toBe(true);
  });

  it("a spooled body and a chunked body of unknown length are hashed as forwarded", async () => {
    const p = uniquePrefix();
    await send(`${GATE}${p}/spooled`, { method: "POST", body: CLEAN }, { HOLD_MEMORY_BYTES: "0" });
    const chunked = new ReadableStream({
      start(c) {
        for (let at = 0; at < CLEAN.length; at += 7001) c.enqueue(CLEAN.slice(at, at + 7001));
        c.close();
      },
    });
    await send(`${GATE}${p}/chunked`, { method: "POST", body: chunked });
    const seen = await receivedAt(p);
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      expect(s.sha256).toBe(await digestHex("sha256", CLEAN));
      expect((await verified(s)).bodySha256).toBe(s.sha256);
    }
  });

  it("multipart and flagged uploads: the hash is of the whole forwarded body; verdict flag", async () => {
    const p = uniquePrefix();
    const { body, contentType } = buildMultipart([
      { field: "t", data: "x" },
      { field: "f", filename: "f.bin", data: FLAGGED },
    ]);
    const res = await send(`${GATE}${p}/form`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    });
    expect(res.status).toBe(201);
    const [seen] = await receivedAt(p);
    const r = await verified(seen!);
    expect(r.verdict).toBe("flag");
    expect(r.bodySha256).toBe(seen!.sha256);
  });

  it("unscanned requests are signed as such, without a body hash", async () => {
    const p = uniquePrefix();
    await send(`${GATE}${p}/page`, { method: "GET" });
    await send(`${GATE}${p}/elsewhere`, { method: "POST", body: CLEAN }, { SCAN_PATHS: "/upload" });
    const seen = await receivedAt(p);
    expect(seen).toHaveLength(2);
    for (const s of seen) {
      const r = await verified(s);
      expect(r.verdict).toBe("unscanned");
      expect(r.bodySha256).toBeNull();
    }
  });

  it("a fail-open forward is signed unscanned", async () => {
    const p = uniquePrefix();
    const res = await send(
      `${GATE}${p}/upload`,
      { method: "POST", body: CLEAN },
      { FAIL_MODE: "open", HASHES: failing(env.HASHES, ["get", "getWithMetadata"]) },
    );
    expect(res.status).toBe(201);
    const [seen] = await receivedAt(p);
    expect((await verified(seen!)).verdict).toBe("unscanned");
  });

  it("a client's own signature header is replaced, never passed on", async () => {
    const p = uniquePrefix();
    const forged = `v1,t=${Math.floor(Date.now() / 1000)},n=${"a".repeat(32)},verdict=clean,sha256=-,sig=${"0".repeat(64)}`;
    await send(`${GATE}${p}/page`, { method: "GET", headers: { [SIGNATURE_HEADER]: forged } });
    await send(
      `${GATE}${p}/nokey`,
      { method: "GET", headers: { [SIGNATURE_HEADER]: forged } },
      { ORIGIN_SIGNING_KEY: "" },
    );
    const [signed, unsigned] = await receivedAt(p);
    expect(signed!.headers[SIGNATURE_HEADER]).not.toBe(forged);
    await verified(signed!);
    // Without a key the gate adds no header, and still removes the client's.
    expect(unsigned!.headers[SIGNATURE_HEADER]).toBeUndefined();
  });

  it("a blocked upload sends nothing to sign; a short key is a configuration error", async () => {
    const p = uniquePrefix();
    expect((await send(`${GATE}${p}/upload`, { method: "POST", body: LISTED })).status).toBe(451);
    expect(await receivedAt(p)).toHaveLength(0);
    const res = await send(
      `${GATE}${p}/upload`,
      { method: "POST", body: CLEAN },
      { ORIGIN_SIGNING_KEY: "short" },
    );
    expect(res.status).toBe(500);
    expect(await receivedAt(p)).toHaveLength(0);
  });
});
