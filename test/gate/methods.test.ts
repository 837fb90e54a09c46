/**
 * Issue 10, "Requests the gate did not scan": a listed body sent with a method outside
 * SCAN_METHODS reached the origin. Every request carrying a body on a scanned path is now
 * scanned, whatever its method, or refused with OTHER_METHOD_BODIES=refuse. Listed bytes are
 * benign TEST DATA.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { gateRequest } from "../../src/gate/gate.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { bodyOf, receivedAt, uniquePrefix } from "../helpers/origin.ts";

const GATE = "https://uploads.example.test";
const LISTED = testBytes(3000, 101);
const CLEAN = testBytes(3000, 102);
const NON_UPLOAD_METHODS = [
  "DELETE",
  "OPTIONS",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "LOCK",
  "SEARCH",
  "QUERY",
  "REPORT",
];

beforeAll(async () => {
  await seedLists(env.HASHES, [
    {
      meta: testList("methods-blocklist", { algorithms: ["sha1"] }),
      entries: [{ algo: "sha1", hex: await digestHex("sha1", LISTED) }],
    },
  ]);
});

async function run(req: Request, over = {}) {
  const { ctx, settle } = testCtx();
  const res = await gateRequest(
    req,
    testEnv({ MATCHES: new CapturingQueue() as unknown as Queue, ...over }),
    ctx,
  );
  await settle();
  return res;
}

/** A body of unknown length: sent chunked, no Content-Length. */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(bytes.slice(0, 1000));
      c.enqueue(bytes.slice(1000));
      c.close();
    },
  });
}

describe("a listed body with a method outside SCAN_METHODS", () => {
  for (const method of NON_UPLOAD_METHODS) {
    it(`${method}: blocked, the origin gets nothing`, async () => {
      const p = uniquePrefix();
      const res = await run(new Request(`${GATE}${p}/dav/file`, { method, body: LISTED }));
      expect(res.status).toBe(451);
      expect(await receivedAt(p)).toHaveLength(0);
    });
  }

  it("sent chunked (no Content-Length): blocked", async () => {
    const p = uniquePrefix();
    const res = await run(new Request(`${GATE}${p}/x`, { method: "PROPFIND", body: streamOf(LISTED) }));
    expect(res.status).toBe(451);
    expect(await receivedAt(p)).toHaveLength(0);
  });

  it("a GET declaring a body the gate cannot read is refused, not forwarded", async () => {
    // fetch cannot build a GET with a body; a Content-Length alone says there is one.
    const p = uniquePrefix();
    const res = await run(
      new Request(`${GATE}${p}/x`, { method: "GET", headers: { "content-length": "3000" } }),
    );
    expect(res.status).toBe(400);
    expect(await receivedAt(p)).toHaveLength(0);
  });
});

describe("other methods still reach the origin when clean or bodiless", () => {
  it("a clean DELETE body is forwarded byte-identical", async () => {
    const p = uniquePrefix();
    const res = await run(new Request(`${GATE}${p}/x`, { method: "DELETE", body: CLEAN }));
    expect(res.status).toBe(201);
    const [seen] = await receivedAt(p);
    expect(seen!.method).toBe("DELETE");
    expect(bodyOf(seen!)).toEqual(CLEAN);
  });

  it("bodiless GET, OPTIONS and DELETE (Content-Length: 0 too) are proxied", async () => {
    const p = uniquePrefix();
    for (const [method, headers] of [
      ["GET", {}],
      ["OPTIONS", {}],
      ["DELETE", { "content-length": "0" }],
    ] as const) {
      const res = await run(new Request(`${GATE}${p}/${method}`, { method, headers }));
      expect(res.status, method).toBe(201);
    }
    expect((await receivedAt(p)).map((r) => r.method)).toEqual(["GET", "OPTIONS", "DELETE"]);
  });
});

describe("OTHER_METHOD_BODIES=refuse", () => {
  const over = { OTHER_METHOD_BODIES: "refuse" };

  it("refuses a body on a non-upload method with 400, clean or not", async () => {
    const p = uniquePrefix();
    for (const body of [LISTED, CLEAN]) {
      const res = await run(new Request(`${GATE}${p}/x`, { method: "PROPPATCH", body }), over);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe("bad_request");
    }
    expect(await receivedAt(p)).toHaveLength(0);
  });

  it("still scans upload methods and proxies bodiless requests", async () => {
    const p = uniquePrefix();
    expect((await run(new Request(`${GATE}${p}/a`, { method: "PUT", body: LISTED }), over)).status).toBe(451);
    expect((await run(new Request(`${GATE}${p}/b`, { method: "PUT", body: CLEAN }), over)).status).toBe(201);
    expect((await run(new Request(`${GATE}${p}/c`, { method: "DELETE" }), over)).status).toBe(201);
    expect((await receivedAt(p)).map((r) => r.url)).toEqual([`${p}/b`, `${p}/c`]);
  });

  it("is a configuration error when misspelt", async () => {
    const req = new Request(`${GATE}/x`, { method: "PUT", body: CLEAN });
    await expect(run(req, { OTHER_METHOD_BODIES: "deny" })).rejects.toMatchObject({ code: "config_invalid" });
  });
});
