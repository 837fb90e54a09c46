import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { gateRequest } from "../../src/gate/gate.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart, chunkedStream } from "../helpers/multipart.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";

const GATE = "https://uploads.example.test";
const LISTED = testBytes(1500, 11);

beforeEach(async () => {
  await seedLists(env.HASHES, [
    { meta: testList("l1"), entries: [{ algo: "sha256", hex: await digestHex("sha256", LISTED) }] },
  ]);
});

async function expectRefused(
  init: RequestInit & { headers?: Record<string, string> },
  status: number,
  code: string,
  over = {},
) {
  const p = uniquePrefix();
  const queue = new CapturingQueue();
  const { ctx, settle } = testCtx();
  const res = await gateRequest(
    new Request(`${GATE}${p}`, { method: "POST", ...init }),
    testEnv({ MATCHES: queue as never, ...over }),
    ctx,
  );
  await settle();
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/json");
  const body = (await res.json()) as { error: string; message: string };
  expect(body.error).toBe(code);
  expect(body.message.length).toBeGreaterThan(5);
  expect(await receivedAt(p)).toHaveLength(0);
  return queue;
}

const enc = new TextEncoder();

describe("bad input is refused with a clear error and nothing is forwarded", () => {
  it("multipart without a boundary", async () => {
    await expectRefused(
      { headers: { "content-type": "multipart/form-data" }, body: "abc" },
      400,
      "malformed_multipart",
    );
  });

  it("truncated multipart (no closing boundary)", async () => {
    const { body, contentType } = buildMultipart([{ field: "f", filename: "a", data: LISTED }]);
    const cut = body.slice(0, body.length - 20);
    await expectRefused({ headers: { "content-type": contentType }, body: cut }, 400, "malformed_multipart");
  });

  it("truncated multipart whose listed file is complete is still not forwarded", async () => {
    const { body, contentType } = buildMultipart([
      { field: "f", filename: "a", data: LISTED },
      { field: "g", filename: "b", data: "tail" },
    ]);
    await expectRefused(
      { headers: { "content-type": contentType }, body: body.slice(0, body.length - 10) },
      400,
      "malformed_multipart",
    );
  });

  it("multipart with oversized part headers", async () => {
    const boundary = "b0undary";
    const huge = `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a"\r\nX-Pad: ${"a".repeat(20_000)}\r\n\r\ndata\r\n--${boundary}--\r\n`;
    await expectRefused(
      { headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, body: enc.encode(huge) },
      400,
      "malformed_multipart",
    );
  });

  it("a body whose data never reaches a boundary", async () => {
    await expectRefused(
      {
        headers: { "content-type": "multipart/form-data; boundary=zz" },
        body: enc.encode("no delimiter here at all"),
      },
      400,
      "malformed_multipart",
    );
  });

  it("Content-Length over the maximum (413 before reading)", async () => {
    await expectRefused(
      { headers: { "content-length": "5000" }, body: testBytes(5000, 1) },
      413,
      "body_too_large",
      {
        MAX_BODY_BYTES: "4096",
      },
    );
  });

  it("a streamed body growing past the maximum without Content-Length", async () => {
    const stream = chunkedStream(testBytes(10_000, 2), [1000]);
    await expectRefused({ body: stream }, 413, "body_too_large", { MAX_BODY_BYTES: "4096" });
  });

  it("a body shorter than its Content-Length", async () => {
    await expectRefused(
      { headers: { "content-length": "2000" }, body: chunkedStream(testBytes(1000, 3), [300]) },
      400,
      "length_mismatch",
    );
  });

  it("a body longer than its Content-Length", async () => {
    await expectRefused(
      { headers: { "content-length": "100" }, body: chunkedStream(testBytes(1000, 3), [300]) },
      400,
      "length_mismatch",
    );
  });

  it("a non-numeric Content-Length", async () => {
    await expectRefused(
      { headers: { "content-length": "12abc" }, body: chunkedStream(testBytes(10, 3), [5]) },
      400,
      "bad_request",
    );
  });
});
