/**
 * The origin verifier (origin-verifier/index.js) against the gate's own signer
 * (src/gate/origin-signature.ts): two implementations of one format, checked against each
 * other. Keys and bodies are TEST DATA. Run: npm run test:node
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { test } from "node:test";
import {
  bodyCheckStream,
  bodyMatches,
  createReplayCache,
  expressBodyVerify,
  hashgateExpress,
  hashgateFastify,
  SIGNATURE_HEADER,
  type VerifyOptions,
  verifySignature,
} from "../../origin-verifier/index.js";
import { type OriginStamp, originSignature } from "../../src/gate/origin-signature.ts";

const KEY = "test-origin-signing-key-0123456789abcdef";
const BODY = randomBytes(5000);
const SHA = createHash("sha256").update(BODY).digest("hex");
const T0 = new Date("2026-11-30T08:00:00Z");

async function sign(
  method = "POST",
  url = "/upload?x=1",
  stamp: OriginStamp = { verdict: "clean", bodySha256: SHA },
) {
  return originSignature(KEY, method, new URL(url, "http://origin.test"), stamp, T0);
}

/** Options with a fresh replay cache and a clock `offsetS` seconds after signing. */
function opts(offsetS = 0, over: Partial<VerifyOptions> = {}): VerifyOptions {
  return {
    key: KEY,
    replay: createReplayCache(),
    now: () => new Date(T0.getTime() + offsetS * 1000),
    ...over,
  };
}

test("a valid signature verifies, with its verdict and body hash", async () => {
  const r = await verifySignature({ header: await sign(), method: "POST", url: "/upload?x=1" }, opts());
  assert.ok(r.ok);
  assert.equal(r.verdict, "clean");
  assert.equal(r.bodySha256, SHA);
  assert.ok(bodyMatches(r, BODY));
  assert.ok(!bodyMatches(r, Buffer.concat([BODY, Buffer.from("x")])));
});

test("tampered method, path, query, verdict, body hash or signature: bad_signature", async () => {
  const header = await sign();
  const cases: [string, string, string][] = [
    [header, "PUT", "/upload?x=1"],
    [header, "POST", "/upload?x=2"],
    [header, "POST", "/Upload?x=1"],
    [header, "POST", "/upload"],
    [header.replace("verdict=clean", "verdict=flag"), "POST", "/upload?x=1"],
    [header.replace(`sha256=${SHA}`, `sha256=${"0".repeat(64)}`), "POST", "/upload?x=1"],
    [header.replace(`sha256=${SHA}`, "sha256=-"), "POST", "/upload?x=1"],
    [header.replace(/sig=(.)/, (_m, c: string) => `sig=${c === "0" ? "1" : "0"}`), "POST", "/upload?x=1"],
    [header.replace(/n=(.)/, (_m, c: string) => `n=${c === "0" ? "1" : "0"}`), "POST", "/upload?x=1"],
  ];
  for (const [h, method, url] of cases) {
    const r = await verifySignature({ header: h, method, url }, opts());
    assert.deepEqual(r, { ok: false, reason: "bad_signature" }, `${method} ${url} ${h}`);
  }
  const wrongKey = await verifySignature(
    { header, method: "POST", url: "/upload?x=1" },
    opts(0, { key: "k".repeat(40) }),
  );
  assert.deepEqual(wrongKey, { ok: false, reason: "bad_signature" });
});

test("a changed timestamp fails the signature; the window is 300 s back and 30 s ahead", async () => {
  const header = await sign();
  const moved = header.replace(/t=(\d+)/, (_m, t: string) => `t=${Number(t) + 1}`);
  assert.deepEqual(await verifySignature({ header: moved, method: "POST", url: "/upload?x=1" }, opts()), {
    ok: false,
    reason: "bad_signature",
  });
  const at = async (offsetS: number) => {
    const r = await verifySignature({ header, method: "POST", url: "/upload?x=1" }, opts(offsetS));
    return r.ok || r.reason;
  };
  assert.equal(await at(300), true);
  assert.equal(await at(301), "expired");
  assert.equal(await at(-30), true);
  assert.equal(await at(-31), "future");
  const custom = await verifySignature(
    { header, method: "POST", url: "/upload?x=1" },
    opts(61, { maxAgeSeconds: 60 }),
  );
  assert.deepEqual(custom, { ok: false, reason: "expired" });
});

test("a replayed nonce is refused; the cache forgets nonces once expired or when full", async () => {
  const header = await sign();
  const o = opts();
  const input = { header, method: "POST", url: "/upload?x=1" };
  assert.ok((await verifySignature(input, o)).ok);
  assert.deepEqual(await verifySignature(input, o), { ok: false, reason: "replayed" });
  assert.ok((await verifySignature(input, { ...o, replay: false })).ok);
  // The default cache is one per process: two option objects still share it.
  const shared = { key: KEY, now: () => T0 };
  const fresh = { header: await sign(), method: "POST", url: "/upload?x=1" };
  assert.ok((await verifySignature(fresh, { ...shared })).ok);
  assert.deepEqual(await verifySignature(fresh, { ...shared }), { ok: false, reason: "replayed" });

  const cache = createReplayCache({ maxEntries: 2 });
  assert.ok(cache.firstUse("a", 10_000, 0));
  assert.ok(cache.firstUse("b", 10_000, 0));
  assert.ok(!cache.firstUse("a", 10_000, 0));
  assert.ok(cache.firstUse("c", 10_000, 0));
  assert.ok(cache.firstUse("a", 10_000, 0), "oldest forgotten when full");
  assert.ok(!cache.firstUse("c", 20_000, 9_999));
  assert.ok(cache.firstUse("c", 20_000, 10_001), "expired entries forgotten");
});

test("missing or malformed headers are refused with their reason", async () => {
  const base = { method: "POST", url: "/upload" };
  assert.deepEqual(await verifySignature({ ...base, header: undefined }, opts()), {
    ok: false,
    reason: "missing",
  });
  const good = await sign("POST", "/upload");
  for (const h of [
    "",
    "v2,t=1",
    good.replace("v1,", "v0,"),
    good.replace("verdict=clean", "verdict=block"),
    good.replace(/,sig=[0-9a-f]+/, ""),
    `${good},t=1`,
    [good, good],
  ]) {
    assert.deepEqual(
      await verifySignature({ ...base, header: h }, opts()),
      { ok: false, reason: "malformed" },
      String(h),
    );
  }
});

test("verdicts option refuses, e.g., unscanned requests on upload routes", async () => {
  const header = await sign("POST", "/upload", { verdict: "unscanned", bodySha256: null });
  const r = await verifySignature(
    { header, method: "POST", url: "/upload" },
    opts(0, { verdicts: ["clean", "flag"] }),
  );
  assert.deepEqual(r, { ok: false, reason: "verdict_refused" });
});

test("key rotation: either of two keys verifies", async () => {
  const header = await sign();
  const r = await verifySignature(
    { header, method: "POST", url: "/upload?x=1" },
    opts(0, { key: ["old-key-0123456789abcdef0123456789", KEY] }),
  );
  assert.ok(r.ok);
});

/** Runs a node:http server with `handler`, sends one request, returns status and body. */
async function roundTrip(
  handler: (req: IncomingMessage, res: import("node:http").ServerResponse) => void,
  headers: Record<string, string>,
  body: Uint8Array,
  path = "/upload?x=1",
): Promise<{ status: number; body: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise((resolve, reject) => {
      const req = httpRequest({ port, host: "127.0.0.1", method: "POST", path, headers }, async (res) => {
        resolve({ status: res.statusCode ?? 0, body: await text(res) });
      });
      req.on("error", reject);
      req.end(body);
    });
  } finally {
    server.close();
  }
}

test("Express-style middleware over node:http: signed passes, unsigned and tampered bodies are refused", async () => {
  const mw = hashgateExpress(opts());
  const app = (
    req: IncomingMessage & { hashgate?: { bodySha256: string | null } },
    res: import("node:http").ServerResponse,
  ) =>
    mw(req, res, async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      try {
        expressBodyVerify(req, res, Buffer.concat(chunks));
        res.end("stored");
      } catch (e) {
        res.statusCode = (e as { status: number }).status;
        res.end("refused body");
      }
    });
  const ok = await roundTrip(app, { [SIGNATURE_HEADER]: await sign() }, BODY);
  assert.deepEqual(ok, { status: 200, body: "stored" });
  const unsigned = await roundTrip(app, {}, BODY);
  assert.equal(unsigned.status, 403);
  assert.deepEqual(JSON.parse(unsigned.body), { error: "not_from_gate", reason: "missing" });
  const swapped = await roundTrip(app, { [SIGNATURE_HEADER]: await sign() }, randomBytes(5000));
  assert.deepEqual(swapped, { status: 403, body: "refused body" });
  const otherPath = await roundTrip(app, { [SIGNATURE_HEADER]: await sign() }, BODY, "/upload?x=1&admin=1");
  assert.equal(otherPath.status, 403);
});

test("Fastify plugin: onRequest refuses unsigned requests, preParsing checks the body", async () => {
  const hooks: Record<string, (...a: unknown[]) => Promise<unknown>> = {};
  const fastify = {
    decorateRequest: () => undefined,
    addHook: (name: string, fn: (...a: unknown[]) => Promise<unknown>) => {
      hooks[name] = fn;
    },
  };
  const plugin = hashgateFastify(opts());
  assert.equal((plugin as unknown as Record<symbol, boolean>)[Symbol.for("skip-override")], true);
  await plugin(fastify);
  const reply = {
    status: 0,
    sent: null as unknown,
    code(s: number) {
      this.status = s;
      return this;
    },
    send(b: unknown) {
      this.sent = b;
      return this;
    },
  };
  const raw = { method: "POST", url: "/upload?x=1", headers: { [SIGNATURE_HEADER]: await sign() } };
  const request: { raw: typeof raw; hashgate?: unknown } = { raw };
  await hooks.onRequest!(request, reply);
  assert.equal(reply.status, 0);
  const passed = (await hooks.preParsing!(
    request,
    reply,
    Readable.from([BODY.subarray(0, 100), BODY.subarray(100)]),
  )) as Readable;
  assert.equal(Buffer.concat(await passed.toArray()).length, BODY.length);
  const bad = (await hooks.preParsing!(request, reply, Readable.from([randomBytes(10)]))) as Readable;
  await assert.rejects(bad.toArray(), /does not match/);
  const unsigned = { raw: { ...raw, headers: {} } };
  await hooks.onRequest!(unsigned, reply);
  assert.equal(reply.status, 403);
});

test("bodyCheckStream: a signature without a body hash accepts only an empty body", async () => {
  const empty = bodyCheckStream({ bodySha256: null });
  empty.end();
  assert.deepEqual(await empty.toArray(), []);
  const some = bodyCheckStream({ bodySha256: null });
  some.end(Buffer.from("x"));
  await assert.rejects(some.toArray(), /does not match/);
});
