/**
 * Bodies with a Content-Encoding: origins decode them (Express's body parsers inflate gzip and
 * deflate), so the gate judges the decoded bytes and forwards the encoded ones. The listed
 * bytes are benign test bytes (TEST DATA).
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { CASE_HEADER, gateRequest } from "../../src/gate/gate.ts";
import { MemoryBudget } from "../../src/scan/budget.ts";
import { BodyHold } from "../../src/scan/hold.ts";
import { scanUpload } from "../../src/scan/scan-upload.ts";
import { compress } from "../helpers/encodings.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart, chunkedStream } from "../helpers/multipart.ts";
import { bodyOf, receivedAt, uniquePrefix } from "../helpers/origin.ts";
import { rng } from "../helpers/random.ts";

const GATE = "https://uploads.example.test";
const LISTED = testBytes(3000, 41);
const CLEAN = testBytes(200_000, 42);

beforeEach(async () => {
  await seedLists(env.HASHES, [
    { meta: testList("enc-list"), entries: [{ algo: "sha256", hex: await digestHex("sha256", LISTED) }] },
  ]);
});

async function send(body: Uint8Array, headers: Record<string, string>, over = {}) {
  const p = uniquePrefix();
  const queue = new CapturingQueue();
  const { ctx, settle } = testCtx();
  const res = await gateRequest(
    new Request(`${GATE}${p}/up`, { method: "POST", headers, body }),
    testEnv({ MATCHES: queue as never, ...over }),
    ctx,
  );
  await settle();
  return { res, sent: queue.sent as MatchMessage[], origin: await receivedAt(p) };
}

async function expectBlocked(body: Uint8Array, headers: Record<string, string>) {
  const { res, sent, origin } = await send(body, headers);
  expect(res.status).toBe(451);
  expect(origin).toHaveLength(0);
  expect(sent).toHaveLength(1);
  return { res, msg: sent[0]! };
}

async function expectRefused(
  body: Uint8Array,
  headers: Record<string, string>,
  status: number,
  code: string,
  over = {},
) {
  const { res, sent, origin } = await send(body, headers, over);
  expect(res.status).toBe(status);
  expect(((await res.json()) as { error: string }).error).toBe(code);
  expect(origin).toHaveLength(0);
  expect(sent).toHaveLength(0);
}

describe("a listed file in an encoded body is blocked and never reaches the origin", () => {
  for (const [coding, format] of [
    ["gzip", "gzip"],
    ["x-gzip", "gzip"],
    ["deflate", "deflate"],
    ["GZip", "gzip"],
  ] as const) {
    it(`Content-Encoding: ${coding}`, async () => {
      const { msg } = await expectBlocked(await compress(LISTED, format), {
        "content-encoding": coding,
        "content-type": "application/octet-stream",
      });
      expect(msg.files[0]!.size).toBe(LISTED.length);
      expect(msg.request.contentEncoding).toBe(coding);
      // Evidence is the file as the origin would have stored it: decoded.
      const evidence = await env.EVIDENCE.get(msg.files[0]!.evidenceKey!);
      expect(new Uint8Array(await evidence!.arrayBuffer())).toEqual(LISTED);
    });
  }

  it("stacked codings, decoded in reverse order of the header", async () => {
    const gzThenDeflate = await compress(await compress(LISTED, "gzip"), "deflate");
    await expectBlocked(gzThenDeflate, { "content-encoding": "gzip, deflate" });
    const deflateThenGz = await compress(await compress(LISTED, "deflate"), "gzip");
    await expectBlocked(deflateThenGz, { "content-encoding": "deflate,gzip" });
  });

  it("a listed file inside a gzip'd multipart body, its evidence the decoded part", async () => {
    const { body, contentType } = buildMultipart([
      { field: "title", data: "hello" },
      { field: "clean", filename: "c.bin", data: CLEAN.subarray(0, 5000) },
      { field: "file", filename: "x.bin", contentType: "application/octet-stream", data: LISTED },
    ]);
    const { msg } = await expectBlocked(await compress(body, "gzip"), {
      "content-encoding": "gzip",
      "content-type": contentType,
    });
    expect(msg.files).toHaveLength(1);
    expect(msg.files[0]).toMatchObject({ field: "file", filename: "x.bin", size: LISTED.length });
    const evidence = await env.EVIDENCE.get(msg.files[0]!.evidenceKey!);
    expect(new Uint8Array(await evidence!.arrayBuffer())).toEqual(LISTED);
  });

  it("a listed file in a gzip'd JSON body as base64", async () => {
    const json = JSON.stringify({ image: btoa(String.fromCharCode(...LISTED)) });
    const { msg } = await expectBlocked(await compress(new TextEncoder().encode(json), "gzip"), {
      "content-encoding": "gzip",
      "content-type": "application/json",
    });
    // Decoded twice over for the evidence: the body from gzip, the value from base64.
    const evidence = await env.EVIDENCE.get(msg.files[0]!.evidenceKey!);
    expect(new Uint8Array(await evidence!.arrayBuffer())).toEqual(LISTED);
  });
});

describe("clean encoded bodies", () => {
  it("reach the origin as they came: the encoded bytes, the same Content-Encoding and length", async () => {
    const p = uniquePrefix();
    const encoded = await compress(CLEAN, "gzip");
    const res = await exports.default.fetch(`${GATE}${p}/up`, {
      method: "POST",
      headers: { "content-encoding": "gzip", "content-type": "application/octet-stream" },
      body: encoded,
    });
    expect(res.status).toBe(201);
    const [seen] = await receivedAt(p);
    expect(seen!.headers["content-encoding"]).toBe("gzip");
    expect(seen!.headers["content-length"]).toBe(String(encoded.length));
    expect(bodyOf(seen!)).toEqual(encoded);
  });

  it("a stacked encoding and `identity` alone are forwarded as they came too", async () => {
    const stacked = await compress(await compress(CLEAN, "deflate"), "gzip");
    const a = await send(stacked, { "content-encoding": "deflate, gzip" });
    expect(a.res.status).toBe(201);
    expect(bodyOf(a.origin[0]!)).toEqual(stacked);
    const b = await send(CLEAN, { "content-encoding": "identity" });
    expect(b.res.status).toBe(201);
    expect(bodyOf(b.origin[0]!)).toEqual(CLEAN);
  });
});

describe("encodings the gate cannot read are refused, nothing forwarded", () => {
  it("br, zstd, compress, unknown tokens, identity among others, too many layers → 415", async () => {
    for (const coding of [
      "br",
      "zstd",
      "compress",
      "x-compress",
      "snappy",
      "gzip, identity",
      "gzip, gzip, gzip",
    ]) {
      await expectRefused(LISTED, { "content-encoding": coding }, 415, "unsupported_encoding");
    }
  });

  it("a multipart part with its own Content-Encoding → 415", async () => {
    const boundary = "pe-boundary";
    const enc = new TextEncoder();
    const gz = await compress(LISTED, "gzip");
    const head = enc.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\nContent-Encoding: gzip\r\n\r\n`,
    );
    const tail = enc.encode(`\r\n--${boundary}--\r\n`);
    const body = new Uint8Array([...head, ...gz, ...tail]);
    await expectRefused(
      body,
      { "content-type": `multipart/form-data; boundary=${boundary}` },
      415,
      "unsupported_encoding",
    );
  });

  it("corrupt streams → 400: truncated, trailing bytes, a second gzip member, raw deflate sent as deflate", async () => {
    const gz = await compress(LISTED, "gzip");
    const cases: [Uint8Array, string][] = [
      [gz.subarray(0, gz.length - 8), "gzip"],
      [new Uint8Array([...gz, 1, 2, 3]), "gzip"],
      // Node's gunzip would decode a second member; the gate refuses rather than read less than the origin.
      [new Uint8Array([...(await compress(CLEAN.subarray(0, 100), "gzip")), ...gz]), "gzip"],
      [await compress(LISTED, "deflate-raw"), "deflate"],
      [LISTED, "gzip"],
    ];
    for (const [body, coding] of cases) {
      await expectRefused(body, { "content-encoding": coding }, 400, "corrupt_encoding");
    }
  });

  it("a decompression bomb → 413, whatever MAX_BODY_BYTES allows", async () => {
    const bomb = await compress(new Uint8Array(16 * 1024 * 1024), "gzip");
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expectRefused(bomb, { "content-encoding": "gzip" }, 413, "decoded_too_large");
    // Stacked: the outer layer is small, the inner one the bomb.
    await expectRefused(
      await compress(bomb, "gzip"),
      { "content-encoding": "gzip, gzip" },
      413,
      "decoded_too_large",
    );
    // Within the ratio, but decoding past MAX_BODY_BYTES.
    await expectRefused(bomb, { "content-encoding": "gzip" }, 413, "decoded_too_large", {
      MAX_DECODE_RATIO: "1100",
      MAX_BODY_BYTES: String(8 * 1024 * 1024),
    });
  });
});

describe("a refused encoded body leaves nothing behind", () => {
  it("a spooled body that turns out corrupt or malformed midway leaves no spool object", async () => {
    const big = testBytes(3 * 1024 * 1024, 43);
    const { body, contentType } = buildMultipart([{ field: "f", filename: "a", data: big }]);
    const truncated = await compress(body.subarray(0, body.length - 30), "gzip");
    const gz = await compress(big, "gzip");
    const corrupt = gz.slice();
    corrupt.fill(7, gz.length >> 1, (gz.length >> 1) + 64);
    const over = { HOLD_MEMORY_BYTES: "1024" };
    const before = (await env.EVIDENCE.list({ prefix: "spool/" })).objects.length;
    await expectRefused(
      truncated,
      { "content-encoding": "gzip", "content-type": contentType },
      400,
      "malformed_multipart",
      over,
    );
    await expectRefused(corrupt, { "content-encoding": "gzip" }, 400, "corrupt_encoding", over);
    expect((await env.EVIDENCE.list({ prefix: "spool/" })).objects.length).toBe(before);
  });
});

describe("scanning an encoded body", () => {
  function hold() {
    return new BodyHold({
      bucket: env.EVIDENCE,
      spoolKey: `spool/test-${crypto.randomUUID()}`,
      holdMemoryBytes: 1 << 20,
      budget: new MemoryBudget(64 << 20),
    });
  }

  it("gives the same files and digests for every chunking as the unencoded body in one piece", async () => {
    const files = [testBytes(70_000, 51), LISTED, testBytes(120_000, 52)];
    const { body, contentType } = buildMultipart(
      files.map((data, i) => ({ field: `f${i}`, filename: `n${i}`, data })),
    );
    const plain = await scanUpload(
      new Request("https://g.test/", { method: "POST", headers: { "content-type": contentType }, body }),
      { algos: ["md5", "sha256"], maxBodyBytes: 1 << 30, maxPartHeaderBytes: 16384, hold: hold() },
    );
    const expected = plain.files.map((f) => f.digests);
    expect(expected.map((d) => d.sha256)).toEqual(
      await Promise.all(files.map((f) => digestHex("sha256", f))),
    );
    const encoded = await compress(await compress(body, "deflate"), "gzip");
    const next = rng(7);
    for (let run = 0; run < 8; run++) {
      const sizes = Array.from({ length: 5 }, () => 1 + Math.floor(next() * (run % 2 ? 70_000 : 2000)));
      const res = await scanUpload(
        new Request("https://g.test/", {
          method: "POST",
          headers: { "content-type": contentType, "content-encoding": "deflate, gzip" },
          body: chunkedStream(encoded, sizes),
        }),
        { algos: ["md5", "sha256"], maxBodyBytes: 1 << 30, maxPartHeaderBytes: 16384, hold: hold() },
      );
      expect(res.files.map((f) => f.digests)).toEqual(expected);
      expect(res.body.size).toBe(encoded.length);
      // Each file read back from the held (encoded) body is the file itself.
      for (const [i, f] of res.files.entries()) {
        const data = await res.source.bytes(f);
        const bytes =
          data instanceof Uint8Array ? data : new Uint8Array(await new Response(data).arrayBuffer());
        expect(bytes).toEqual(files[i]);
      }
      await res.body.discard();
    }
  }, 60_000);
});

describe("the block response", () => {
  it("names the case, not the encoding or the list", async () => {
    const { res } = await expectBlocked(await compress(LISTED, "gzip"), { "content-encoding": "gzip" });
    expect(res.headers.get(CASE_HEADER)).toMatch(/^hg_/);
    expect(await res.text()).not.toContain("enc-list");
  });
});
