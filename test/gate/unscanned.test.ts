/**
 * Uploads the gate recognises but cannot hash are recorded with their digests, type, size and
 * reason, visible to reviewers and counted for operators; a gate with no active list says so
 * (issue 10). The PDQ list holds one made-up hash: TEST DATA. Images here are deliberately broken.
 */
import { createMessageBatch, env } from "cloudflare:test";
import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { adminRoutes } from "../../src/admin/routes.ts";
import { consumeMatches } from "../../src/cases/consumer.ts";
import type { GateMessage, MatchMessage, UnscannedMessage } from "../../src/cases/messages.ts";
import { gateRequest } from "../../src/gate/gate.ts";
import { forgetManifest, MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { createReviewApp } from "../../src/review/app.ts";
import { bearer, resetDb, reviewEnv, testKeys, VIEWER_TOKEN } from "../helpers/cases.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, seedPdqShard, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";

/** A JPEG header and nothing decodable after it. */
const BROKEN_JPEG = new Uint8Array([
  0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 2, 3, 4, 5, 6, 7,
]);
const BROKEN_JPEG_2 = new Uint8Array([...BROKEN_JPEG, 8, 9]);
const LISTED = testBytes(1000, 71);
const TOKEN = "ops-token-0123456789abcdefghij";
const admin = new Hono();
admin.route("/admin", adminRoutes);

async function seedPdqList(): Promise<void> {
  const meta = testList("pdqlist", { algorithms: ["md5"], pdqShards: 1 });
  await seedLists(env.HASHES, [{ meta, entries: [{ algo: "md5", hex: await digestHex("md5", LISTED) }] }]);
  await seedPdqShard(env.HASHES, meta, [{ hash: "ab".repeat(32) }]);
}

beforeEach(async () => {
  await resetDb();
  await seedPdqList();
});

async function upload(body: Uint8Array, contentType: string, over: Record<string, unknown> = {}) {
  const p = uniquePrefix();
  const queue = new CapturingQueue();
  const { ctx, settle } = testCtx();
  const res = await gateRequest(
    new Request(`https://uploads.example.test${p}`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    }),
    testEnv({ MATCHES: queue as never, ...over }),
    ctx,
  );
  await settle();
  return { res, sent: queue.sent as GateMessage[], origin: await receivedAt(p) };
}

function adminGet(path: string, over: Record<string, unknown> = {}) {
  return admin.request(
    `/admin${path}`,
    { headers: { authorization: `Bearer ${TOKEN}` } },
    { ...env, ADMIN_TOKEN: TOKEN, ...over },
  );
}

describe("files recognised but not hashed", () => {
  it("are recorded per file with digests, type, size and reason; reviewers see them; operators count them", async () => {
    const form = buildMultipart([
      { field: "a", filename: "one.jpg", contentType: "image/jpeg", data: BROKEN_JPEG },
      { field: "b", filename: "two.jpg", contentType: "image/jpeg", data: BROKEN_JPEG_2 },
    ]);
    // One decode per request: the second image is over the bound and not decoded at all.
    const { res, sent, origin } = await upload(form.body, form.contentType, { IMAGE_MAX_PER_REQUEST: "1" });
    expect(res.status).toBe(201);
    expect(origin).toHaveLength(1);
    const msg = sent[0] as UnscannedMessage;
    expect(msg).toMatchObject({ type: "unscanned", code: "files-not-hashed" });
    expect(msg.files).toEqual([
      expect.objectContaining({
        index: 0,
        filename: "one.jpg",
        sniffedType: "image/jpeg",
        size: BROKEN_JPEG.length,
        digests: { md5: await digestHex("md5", BROKEN_JPEG) },
        reason: expect.not.stringMatching(/^too-many-images$/),
      }),
      expect.objectContaining({
        index: 1,
        size: BROKEN_JPEG_2.length,
        digests: { md5: await digestHex("md5", BROKEN_JPEG_2) },
        reason: "too-many-images",
      }),
    ]);

    await consumeMatches(
      createMessageBatch("hashgate-matches", [{ id: "u1", timestamp: new Date(), attempts: 1, body: msg }]),
      testEnv(),
    );
    const row = await env.DB.prepare("SELECT code, file_count, files FROM unscanned WHERE id = ?1")
      .bind(msg.id)
      .first<{ code: string; file_count: number; files: string }>();
    expect(row).toMatchObject({ code: "files-not-hashed", file_count: 2 });
    expect(JSON.parse(row!.files)).toEqual(msg.files);

    const counts = (await (await adminGet("/unscanned")).json()) as {
      byCode: Record<string, number>;
      byFileReason: Record<string, number>;
    };
    expect(counts.byCode["files-not-hashed"]).toBe(1);
    expect(counts.byFileReason["too-many-images"]).toBe(1);
    expect(counts.byFileReason[msg.files![0]!.reason]).toBe(1);

    const page = await createReviewApp({ keys: testKeys }).request(
      "/unscanned",
      bearer(VIEWER_TOKEN),
      reviewEnv(),
    );
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain(msg.files![1]!.digests.md5);
    expect(text).toContain("too-many-images");
    expect(text).toContain("one.jpg");
  });

  it("a block already certain stops further judging, and the case says which files were not judged", async () => {
    const form = buildMultipart([
      { field: "a", filename: "listed.bin", data: LISTED },
      { field: "b", filename: "x.jpg", contentType: "image/jpeg", data: BROKEN_JPEG },
    ]);
    const { res, sent, origin } = await upload(form.body, form.contentType);
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const msg = sent[0] as MatchMessage;
    expect(msg.notJudged).toEqual({ count: 1, indices: [1] });
    expect(msg.files.map((f) => f.index)).toEqual([0]);
  });
});

describe("no active list", () => {
  const clean = testBytes(100, 72);

  async function withoutLists(kind: "missing" | "expired") {
    if (kind === "missing") {
      await env.HASHES.delete(MANIFEST_KEY);
      forgetManifest(env.HASHES);
    } else {
      await seedLists(env.HASHES, [{ meta: testList("old", { licensedUntil: "2020-01-01" }), entries: [] }]);
    }
  }

  for (const kind of ["missing", "expired"] as const) {
    it(`(${kind} manifest) refuses uploads with NO_LIST_MODE=closed and reports it in /admin/status`, async () => {
      await withoutLists(kind);
      const closed = await upload(clean, "application/octet-stream", { NO_LIST_MODE: "closed" });
      expect(closed.res.status).toBe(503);
      expect(closed.origin).toHaveLength(0);
      const open = await upload(clean, "application/octet-stream", { NO_LIST_MODE: "open" });
      expect(open.res.status).toBe(201);
      const status = (await (await adminGet("/status", { NO_LIST_MODE: "closed" })).json()) as {
        noActiveList: boolean;
        noListMode: string;
        lists: Record<string, number>;
        isolate: { uploadsWithoutActiveList: number };
      };
      expect(status).toMatchObject({ noActiveList: true, noListMode: "closed" });
      expect(status.lists.active).toBe(0);
      if (kind === "expired") expect(status.lists.expired).toBe(1);
      expect(status.isolate.uploadsWithoutActiveList).toBeGreaterThanOrEqual(2);
    });
  }

  it("an active list: /admin/status says so", async () => {
    const status = (await (await adminGet("/status")).json()) as { noActiveList: boolean };
    expect(status.noActiveList).toBe(false);
  });
});
