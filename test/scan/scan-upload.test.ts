import { env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CASE_HEADER, gateRequest } from "../../src/gate/gate.ts";
import { SCAN_BLOCK_BYTES } from "../../src/scan/blocks.ts";
import { MemoryBudget } from "../../src/scan/budget.ts";
import { BodyHold, SPOOL_PART_BYTES } from "../../src/scan/hold.ts";
import { scanUpload } from "../../src/scan/scan-upload.ts";
import { Injector } from "../helpers/fault-inject.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart, chunkedStream } from "../helpers/multipart.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";

function hold(holdMemoryBytes = 1 << 20, r2 = new Injector()) {
  return new BodyHold({
    bucket: r2.wrap(env.EVIDENCE),
    spoolKey: `spool/test-${crypto.randomUUID()}`,
    holdMemoryBytes,
    budget: new MemoryBudget(64 << 20),
  });
}

/**
 * Scans `body` sent in chunks of `sizes`. With `declared`, the request says its length (so a
 * spool is one put), otherwise not (a spool is a multipart upload); `r2` counts the R2 calls
 * the hold makes.
 */
async function scan(
  body: Uint8Array,
  contentType: string | null,
  sizes: number[],
  holdBytes?: number,
  opts: { declared?: number; r2?: Injector } = {},
) {
  const headers: Record<string, string> = contentType ? { "content-type": contentType } : {};
  if (opts.declared !== undefined) headers["content-length"] = String(opts.declared);
  const req = new Request("https://g.test/", { method: "POST", headers, body: chunkedStream(body, sizes) });
  return scanUpload(req, {
    algos: ["md5", "sha1", "sha256"],
    maxBodyBytes: 1 << 30,
    maxPartHeaderBytes: 16384,
    hold: hold(holdBytes, opts.r2),
  });
}

describe("scanUpload", () => {
  it("digests every file the same for every chunking, equal to one-shot digests", async () => {
    const files = [testBytes(70_000, 1), testBytes(1, 2), new Uint8Array(0), testBytes(4097, 3)];
    const { body, contentType } = buildMultipart(
      files.map((data, i) => ({ field: `f${i}`, filename: `n${i}`, data })),
    );
    const expected = await Promise.all(
      files.map(async (f) => ({
        md5: await digestHex("md5", f),
        sha1: await digestHex("sha1", f),
        sha256: await digestHex("sha256", f),
      })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        async (sizes, spool, declared) => {
          const r2 = new Injector();
          const res = await scan(body, contentType, sizes, spool ? 1000 : undefined, {
            ...(declared ? { declared: body.length } : {}),
            r2,
          });
          expect(res.body.spooled).toBe(spool);
          // A body of known length is spooled as one put, one of unknown length in parts.
          if (spool) {
            expect(r2.count(declared ? "put" : "createMultipartUpload")).toBe(1);
            expect(r2.count(declared ? "createMultipartUpload" : "put")).toBe(0);
          }
          expect(res.files.map((f) => f.digests)).toEqual(expected);
          expect(res.files.map((f) => [f.field, f.filename])).toEqual(
            files.map((_, i) => [`f${i}`, `n${i}`]),
          );
          // The held body is the body, and each file's offsets cut out exactly its bytes.
          const whole = await res.body.range(0, res.body.size);
          const bytes =
            whole instanceof Uint8Array ? whole : new Uint8Array(await new Response(whole).arrayBuffer());
          expect(bytes).toEqual(body);
          for (const [i, f] of res.files.entries()) expect(bytes.subarray(f.start, f.end)).toEqual(files[i]);
          await res.body.discard();
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);

  it("treats a non-multipart body as one file", async () => {
    const data = testBytes(12345, 9);
    const res = await scan(data, "image/jpeg", [1000, 7]);
    expect(res.files).toHaveLength(1);
    expect(res.files[0]).toMatchObject({
      start: 0,
      end: data.length,
      declaredType: "image/jpeg",
      field: "",
      filename: null,
    });
    expect(res.files[0]!.digests.sha256).toBe(await digestHex("sha256", data));
  });

  it("holds at most about one spool part in memory for a large body of unknown length", async () => {
    const size = 24 * 1024 * 1024;
    const data = testBytes(size, 10);
    const r2 = new Injector();
    const res = await scan(data, null, [65536], 1024, { r2 });
    expect(res.body.spooled).toBe(true);
    expect(r2.count("put")).toBe(0);
    expect(res.peakBuffered).toBeLessThanOrEqual(SPOOL_PART_BYTES + 65536);
    expect(res.files[0]!.digests.sha256).toBe(await digestHex("sha256", data));
    await res.body.discard();
  });

  it("spools a large body of declared length as one put, holding about one block in memory", async () => {
    const size = 24 * 1024 * 1024 + 5;
    const data = testBytes(size, 11);
    const r2 = new Injector();
    const res = await scan(data, null, [65536, 1000, 300_000], 1024, { declared: size, r2 });
    expect(res.body.spooled).toBe(true);
    expect(Object.fromEntries(r2.calls)).toEqual({ put: 1 });
    expect(res.peakBuffered).toBeLessThanOrEqual(SCAN_BLOCK_BYTES);
    const held = await res.body.range(0, size);
    const bytes = held instanceof Uint8Array ? held : new Uint8Array(await new Response(held).arrayBuffer());
    expect(await digestHex("sha256", bytes)).toBe(await digestHex("sha256", data));
    expect(res.files[0]!.digests.sha256).toBe(await digestHex("sha256", data));
    await res.body.discard();
  });

  it("leaves no spool object when a body of declared length is shorter or longer than declared", async () => {
    const data = testBytes(3 * 1024 * 1024, 12);
    for (const declared of [data.length + 1, data.length - 1]) {
      const before = (await env.EVIDENCE.list({ prefix: "spool/test-" })).objects.length;
      const r2 = new Injector();
      await expect(scan(data, null, [100_000], 1024, { declared, r2 })).rejects.toMatchObject({
        code: "length_mismatch",
      });
      expect(r2.count("put")).toBe(1);
      expect((await env.EVIDENCE.list({ prefix: "spool/test-" })).objects.length).toBe(before);
    }
  });
});

/** A stream of `size` deterministic bytes generated chunk by chunk (never whole in memory). */
function generated(size: number, chunk: number) {
  let sent = 0;
  let x = 12345;
  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (sent >= size) {
        await writer.close();
        ctrl.close();
        return;
      }
      const n = Math.min(chunk, size - sent);
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        out[i] = x;
        out[i + 1] = x >>> 8;
        out[i + 2] = x >>> 16;
        out[i + 3] = x >>> 24;
      }
      sent += n;
      await writer.write(out);
      ctrl.enqueue(out);
    },
  });
  return {
    stream,
    sha256: async () =>
      [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join(""),
  };
}

describe("large uploads through the gate", () => {
  it("forwards a clean 50 MB streamed upload intact through the R2 spool and cleans the spool up", async () => {
    const size = 50 * 1024 * 1024;
    const gen = generated(size, 256 * 1024);
    const p = uniquePrefix();
    const { ctx, settle } = testCtx();
    const res = await gateRequest(
      new Request(`https://g.test${p}`, {
        method: "POST",
        headers: { "content-length": String(size) },
        body: gen.stream,
      }),
      testEnv({ MATCHES: new CapturingQueue() as never }),
      ctx,
    );
    await settle();
    expect(res.status).toBe(201);
    const [seen] = await receivedAt(p);
    expect(seen!.size).toBe(size);
    expect(seen!.sha256).toBe(await gen.sha256());
    expect(
      (await env.EVIDENCE.list({ prefix: "spool/" })).objects.filter((o) => !o.key.startsWith("spool/test-")),
    ).toEqual([]);
  }, 120_000);

  it("preserves a listed upload that was spooled to R2 byte-exact as evidence", async () => {
    const data = testBytes(7 * 1024 * 1024 + 3, 44);
    await seedLists(env.HASHES, [
      { meta: testList("big"), entries: [{ algo: "sha1", hex: await digestHex("sha1", data) }] },
    ]);
    const p = uniquePrefix();
    const { ctx, settle } = testCtx();
    const { body, contentType } = buildMultipart([{ field: "video", filename: "v.bin", data }]);
    const res = await gateRequest(
      new Request(`https://g.test${p}`, {
        method: "POST",
        headers: { "content-type": contentType },
        body: chunkedStream(body, [100_000]),
      }),
      testEnv({ MATCHES: new CapturingQueue() as never, HOLD_MEMORY_BYTES: "4096" }),
      ctx,
    );
    await settle();
    expect(res.status).toBe(451);
    expect(await receivedAt(p)).toHaveLength(0);
    const ev = await env.EVIDENCE.get(`evidence/${res.headers.get(CASE_HEADER)}/file-0`);
    expect(ev!.size).toBe(data.length);
    expect(await digestHex("sha256", new Uint8Array(await ev!.arrayBuffer()))).toBe(
      await digestHex("sha256", data),
    );
  }, 60_000);
});
