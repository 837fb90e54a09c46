import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { CASE_HEADER, gateRequest } from "../../src/gate/gate.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { bodyOf, receivedAt, uniquePrefix } from "../helpers/origin.ts";

const GATE = "https://uploads.example.test";
const LISTED = testBytes(3000, 1); // benign bytes; their digests form the test list
const FLAGGED = testBytes(2000, 2);
const CLEAN = testBytes(5000, 3);

beforeEach(async () => {
  await seedLists(env.HASHES, [
    {
      meta: testList("blocklist", { algorithms: ["md5"] }),
      entries: [{ algo: "md5", hex: await digestHex("md5", LISTED) }],
    },
    {
      meta: testList("flaglist", { action: "flag", algorithms: ["sha256"] }),
      entries: [{ algo: "sha256", hex: await digestHex("sha256", FLAGGED) }],
    },
  ]);
});

async function run(req: Request, over = {}) {
  const queue = new CapturingQueue();
  const { ctx, settle } = testCtx();
  const res = await gateRequest(req, testEnv({ MATCHES: queue as unknown as Queue, ...over }), ctx);
  await settle();
  return { res, sent: queue.sent as MatchMessage[] };
}

describe("clean uploads", () => {
  it("reach the origin byte-identical with method, path, query and headers; the response comes back unchanged", async () => {
    const p = uniquePrefix();
    const res = await exports.default.fetch(`${GATE}${p}/upload?x=1&y=%20z`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", "x-custom": "kept", "x-account-id": "u-1" },
      body: CLEAN,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-origin")).toBe("test");
    const seen = await receivedAt(p);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe("PUT");
    expect(seen[0]!.url).toBe(`${p}/upload?x=1&y=%20z`);
    expect(seen[0]!.headers["x-custom"]).toBe("kept");
    expect(seen[0]!.headers["x-account-id"]).toBe("u-1");
    expect(seen[0]!.headers["content-length"]).toBe(String(CLEAN.length));
    expect(bodyOf(seen[0]!)).toEqual(CLEAN);
    expect(await res.json()).toMatchObject({ size: CLEAN.length });
  });

  it("forwards a clean multipart upload byte-identical", async () => {
    const p = uniquePrefix();
    const { body, contentType } = buildMultipart([
      { field: "title", data: "holiday" },
      { field: "file", filename: "a.bin", contentType: "application/octet-stream", data: CLEAN },
    ]);
    const res = await exports.default.fetch(`${GATE}${p}`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    });
    expect(res.status).toBe(201);
    const [seen] = await receivedAt(p);
    expect(bodyOf(seen!)).toEqual(body);
    expect(seen!.headers["content-type"]).toBe(contentType);
  });

  it("proxies methods and paths outside the scan scope untouched", async () => {
    const p = uniquePrefix();
    const res = await exports.default.fetch(`${GATE}${p}/page`, { method: "GET", headers: { "x-a": "b" } });
    expect(res.status).toBe(201);
    const [seen] = await receivedAt(p);
    expect(seen!.method).toBe("GET");
    const { res: res2 } = await run(new Request(`${GATE}${p}/other`, { method: "POST", body: LISTED }), {
      SCAN_PATHS: "/api/*",
    });
    // Not in scope: even a listed file passes, as configured.
    expect(res2.status).toBe(201);
  });
});

describe("listed uploads", () => {
  it("are blocked with 451 and a case id, reveal nothing, and never reach the origin", async () => {
    const p = uniquePrefix();
    const res = await exports.default.fetch(`${GATE}${p}`, { method: "POST", body: LISTED });
    expect(res.status).toBe(451);
    const caseId = res.headers.get(CASE_HEADER);
    expect(caseId).toMatch(/^hg_/);
    const text = await res.text();
    expect(text).not.toContain("blocklist");
    expect(text).not.toContain(await digestHex("md5", LISTED));
    expect(await receivedAt(p)).toHaveLength(0);
    const evidence = await env.EVIDENCE.get(`evidence/${caseId}/file-0`);
    expect(new Uint8Array(await evidence!.arrayBuffer())).toEqual(LISTED);
  });

  it("blocks a multipart upload when one of several files is listed, keeping that file's exact bytes", async () => {
    const p = uniquePrefix();
    const { body, contentType } = buildMultipart([
      { field: "caption", data: "x" },
      { field: "a", filename: "clean.bin", contentType: "application/octet-stream", data: CLEAN },
      { field: "b", filename: "listed.jpg", contentType: "image/jpeg", data: LISTED },
      { field: "c", filename: "clean2.bin", data: FLAGGED.slice(1) },
    ]);
    const req = new Request(`${GATE}${p}/up`, {
      method: "POST",
      headers: {
        "content-type": contentType,
        "cf-connecting-ip": "203.0.113.9",
        "user-agent": "t/1",
        "x-account-id": "acct-7",
      },
      body,
    });
    const { res, sent } = await run(req);
    expect(res.status).toBe(451);
    expect(await receivedAt(p)).toHaveLength(0);
    expect(sent).toHaveLength(1);
    const msg = sent[0]!;
    expect(msg.caseId).toBe(res.headers.get(CASE_HEADER));
    expect(msg.verdict).toBe("block");
    expect(msg.request).toMatchObject({
      path: `${p}/up`,
      ip: "203.0.113.9",
      userAgent: "t/1",
      identity: { "x-account-id": "acct-7" },
    });
    expect(msg.files).toHaveLength(1);
    const f = msg.files[0]!;
    expect(f).toMatchObject({
      index: 2,
      field: "b",
      filename: "listed.jpg",
      declaredType: "image/jpeg",
      size: LISTED.length,
    });
    expect(f.digests.md5).toBe(await digestHex("md5", LISTED));
    expect(f.matches).toEqual([
      expect.objectContaining({ listId: "blocklist", kind: "exact", algo: "md5", action: "block" }),
    ]);
    const evidence = await env.EVIDENCE.get(f.evidenceKey!);
    expect(new Uint8Array(await evidence!.arrayBuffer())).toEqual(LISTED);
    const meta = await env.EVIDENCE.get(`evidence/${msg.caseId}/upload.json`);
    expect(((await meta!.json()) as MatchMessage).caseId).toBe(msg.caseId);
  });

  it("forwards a flagged upload and queues it for review without telling the uploader", async () => {
    const p = uniquePrefix();
    const { res, sent } = await run(new Request(`${GATE}${p}`, { method: "POST", body: FLAGGED }));
    expect(res.status).toBe(201);
    expect(res.headers.get(CASE_HEADER)).toBeNull();
    const [seen] = await receivedAt(p);
    expect(bodyOf(seen!)).toEqual(FLAGGED);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.verdict).toBe("flag");
    expect(sent[0]!.files[0]!.matches[0]!.listId).toBe("flaglist");
  });

  it("lets a block win over a flag in the same upload", async () => {
    const { body, contentType } = buildMultipart([
      { field: "a", filename: "f", data: FLAGGED },
      { field: "b", filename: "l", data: LISTED },
    ]);
    const p = uniquePrefix();
    const { res, sent } = await run(
      new Request(`${GATE}${p}`, { method: "POST", headers: { "content-type": contentType }, body }),
    );
    expect(res.status).toBe(451);
    expect(sent[0]!.files.map((f) => f.index)).toEqual([0, 1]);
    expect(await receivedAt(p)).toHaveLength(0);
  });

  it("ignores disabled, expired and other-version entries", async () => {
    await seedLists(env.HASHES, [
      {
        meta: testList("off", { enabled: false }),
        entries: [{ algo: "sha256", hex: await digestHex("sha256", CLEAN) }],
      },
      {
        meta: testList("old", { licensedUntil: "2020-01-01" }),
        entries: [{ algo: "sha1", hex: await digestHex("sha1", CLEAN) }],
      },
    ]);
    const p = uniquePrefix();
    const { res } = await run(new Request(`${GATE}${p}`, { method: "POST", body: CLEAN }));
    expect(res.status).toBe(201);
  });

  it("honours a configured block status", async () => {
    const { res } = await run(new Request(`${GATE}${uniquePrefix()}`, { method: "POST", body: LISTED }), {
      BLOCK_STATUS: "403",
    });
    expect(res.status).toBe(403);
  });

  it("forwards a listed file only when an admin allow-listed it for that list with cancels_exact", async () => {
    const md5 = await digestHex("md5", LISTED);
    const allow = (listId: string, cancelsExact: number) =>
      env.DB.prepare(
        `INSERT INTO allow_entries (algo, digest, list_id, cancels_exact, added_at, added_by, case_id, reason)
         VALUES ('md5', ?1, ?2, ?3, ?4, 'test', 'hg_test', 'benign test bytes')`,
      )
        .bind(md5, listId, cancelsExact, new Date().toISOString())
        .run();
    const upload = async () => {
      const p = uniquePrefix();
      const { res, sent } = await run(new Request(`${GATE}${p}`, { method: "POST", body: LISTED }));
      return { res, sent, origin: await receivedAt(p) };
    };
    try {
      // An entry without the flag, or for another list, does not cancel an exact hit.
      await allow("blocklist", 0);
      await allow("flaglist", 1);
      let r = await upload();
      expect(r.res.status).toBe(451);
      expect(r.origin).toHaveLength(0);
      await env.DB.prepare("DELETE FROM allow_entries WHERE digest = ?1").bind(md5).run();
      await allow("blocklist", 1);
      r = await upload();
      expect(r.res.status).toBe(201);
      expect(r.sent).toHaveLength(0);
      expect(bodyOf(r.origin[0]!)).toEqual(LISTED);
    } finally {
      await env.DB.prepare("DELETE FROM allow_entries WHERE digest = ?1").bind(md5).run();
    }
  });
});
