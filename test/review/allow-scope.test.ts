/**
 * Allow-list scope (issue 10): per file, per list; never an exact hit unless an admin says so for
 * that list; listed and revoked through the admin API. Files are benign test patterns; the
 * "listed" one is listed in a test list made here.
 */
import { env } from "cloudflare:test";
import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { adminRoutes } from "../../src/admin/routes.ts";
import { type AllowRule, isCancelled } from "../../src/cases/allow-list.ts";
import { newCaseId } from "../../src/cases/case-id.ts";
import { insertCase } from "../../src/cases/consumer.ts";
import { evidenceFileKey } from "../../src/cases/evidence.ts";
import type { MatchedFile, MatchMessage } from "../../src/cases/messages.ts";
import { gateRequest } from "../../src/gate/gate.ts";
import type { MatchHit } from "../../src/match/types.ts";
import { createReviewApp } from "../../src/review/app.ts";
import {
  ADMIN_TOKEN,
  bearer,
  jsonPost,
  REVIEWER_TOKEN,
  resetDb,
  reviewEnv,
  testKeys,
} from "../helpers/cases.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";

const LISTED = testBytes(2000, 61); // in list "demo" by its MD5
const LOOKALIKE = testBytes(2000, 62); // a PDQ false positive beside it
const review = createReviewApp({ keys: testKeys });
const ADMIN_API_TOKEN = "ops-token-0123456789abcdefghij";
const admin = new Hono();
admin.route("/admin", adminRoutes);

beforeEach(async () => {
  await resetDb();
  await seedLists(env.HASHES, [
    { meta: testList("demo"), entries: [{ algo: "md5", hex: await digestHex("md5", LISTED) }] },
  ]);
});

async function file(
  index: number,
  bytes: Uint8Array,
  caseId: string,
  kind: "exact" | "pdq",
): Promise<MatchedFile> {
  return {
    index,
    field: `f${index}`,
    filename: `${index}.jpg`,
    declaredType: "image/jpeg",
    sniffedType: "image/jpeg",
    size: bytes.length,
    digests: {
      md5: await digestHex("md5", bytes),
      sha1: await digestHex("sha1", bytes),
      sha256: await digestHex("sha256", bytes),
    },
    ...(kind === "pdq" ? { pdq: { hash: "ab".repeat(32), quality: 90 } } : {}),
    evidenceKey: evidenceFileKey(caseId, index),
    matches: [
      kind === "exact"
        ? { listId: "demo", kind: "exact", algo: "md5", action: "block" }
        : {
            listId: "demo",
            kind: "pdq",
            action: "block",
            distance: 20,
            entryHash: "cd".repeat(32),
            quality: 90,
          },
    ],
  };
}

/** A case as the gate records it: the listed file (exact hit) and a PDQ false positive. */
async function twoFileCase(): Promise<MatchMessage> {
  const caseId = newCaseId();
  const msg: MatchMessage = {
    type: "match",
    v: 1,
    caseId,
    at: new Date().toISOString(),
    verdict: "block",
    request: {
      method: "POST",
      host: "uploads.example.com",
      path: "/upload",
      query: "",
      ip: "203.0.113.9",
      userAgent: "test",
      identity: {},
      contentType: "multipart/form-data; boundary=x",
      contentLength: 5000,
    },
    files: [await file(0, LISTED, caseId, "exact"), await file(1, LOOKALIKE, caseId, "pdq")],
  };
  await insertCase(env.DB, msg, "queue");
  return msg;
}

function dismiss(caseId: string, allowList: unknown, token = ADMIN_TOKEN) {
  return review.request(
    `/api/cases/${caseId}/decision`,
    jsonPost(token, { action: "dismiss", reason: "false positive", allowList }),
    reviewEnv(),
  );
}

async function uploadListed(): Promise<number> {
  const p = uniquePrefix();
  const { ctx, settle } = testCtx();
  const res = await gateRequest(
    new Request(`https://uploads.example.test${p}`, { method: "POST", body: LISTED }),
    testEnv({ MATCHES: new CapturingQueue() as never }),
    ctx,
  );
  await settle();
  if (res.status === 451) expect(await receivedAt(p)).toHaveLength(0);
  return res.status;
}

function adminCall(path: string, init: RequestInit = {}, token: string | null = ADMIN_API_TOKEN) {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  return admin.request(
    `/admin${path}`,
    { ...init, headers },
    { ...env, ADMIN_TOKEN: `ops=${ADMIN_API_TOKEN}` },
  );
}

async function entries(): Promise<
  { id: number; listId: string; fileIndex: number; cancelsExact: boolean }[]
> {
  const res = await adminCall("/allow-list");
  expect(res.status).toBe(200);
  return ((await res.json()) as { entries: never[] }).entries;
}

describe("allow-list scope", () => {
  it("dismissing a PDQ false positive uploaded beside a listed file does not allow-list the listed file", async () => {
    const msg = await twoFileCase();
    expect((await dismiss(msg.caseId, true)).status).toBe(200);
    const made = await entries();
    expect(made.length).toBeGreaterThan(0);
    expect(made.every((e) => e.fileIndex === 1 && e.listId === "demo" && !e.cancelsExact)).toBe(true);
    expect(await uploadListed()).toBe(451);
  });

  it("an entry naming the listed file does not cancel its exact hit unless an admin sets it for that list", async () => {
    const msg = await twoFileCase();
    expect((await dismiss(msg.caseId, { files: [0], lists: ["demo"] })).status).toBe(200);
    expect((await entries()).every((e) => e.fileIndex === 0 && !e.cancelsExact)).toBe(true);
    expect(await uploadListed()).toBe(451);

    const again = await twoFileCase();
    // For another list only: the exact hit in "demo" stands.
    expect(
      (await dismiss(again.caseId, { files: [0], lists: ["other"], cancelsExact: ["other"] })).status,
    ).toBe(200);
    expect(await uploadListed()).toBe(451);

    const third = await twoFileCase();
    expect((await dismiss(third.caseId, { files: [0], cancelsExact: ["demo"] })).status).toBe(200);
    expect(await uploadListed()).toBe(201);
  });

  it("the case page lets an admin pick files and lists; the listed file is not picked by default", async () => {
    const msg = await twoFileCase();
    const page = await (
      await review.request(`/cases/${msg.caseId}`, bearer(ADMIN_TOKEN), reviewEnv())
    ).text();
    expect(page).toMatch(/class="allow-file" data-file="1" checked/);
    expect(page).toMatch(/class="allow-file" data-file="0">/);
    expect(page).toMatch(/class="allow-list-id" data-list="demo" checked/);
    expect(page).toMatch(/class="allow-exact" data-list="demo">/);
    const asReviewer = await (
      await review.request(`/cases/${msg.caseId}`, bearer(REVIEWER_TOKEN), reviewEnv())
    ).text();
    expect(asReviewer).not.toContain("allow-file");
  });

  it("a reviewer without the admin role cannot allow-list", async () => {
    const msg = await twoFileCase();
    expect((await dismiss(msg.caseId, { files: [1] }, REVIEWER_TOKEN)).status).toBe(403);
    expect(await entries()).toEqual([]);
  });

  it("entries are listed and revoked through the admin API; a revoked entry cancels nothing", async () => {
    const msg = await twoFileCase();
    await dismiss(msg.caseId, { files: [0], cancelsExact: ["demo"] });
    expect(await uploadListed()).toBe(201);
    const listed = await entries();
    for (const e of listed) {
      const res = await adminCall(`/allow-list/${e.id}/revoke`, { method: "POST" });
      expect(res.status).toBe(200);
    }
    expect(await entries()).toEqual([]);
    const all = await (await adminCall("/allow-list?revoked=1")).json();
    expect(
      (all as { entries: { revokedBy: string }[] }).entries.every((e) => e.revokedBy === "admin:ops"),
    ).toBe(true);
    expect(await uploadListed()).toBe(451);
    expect((await adminCall(`/allow-list/${listed[0]!.id}/revoke`, { method: "POST" })).status).toBe(404);
    const audit = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_log WHERE action = 'allowlist.revoke'",
    ).first();
    expect(audit).toEqual({ n: listed.length });
  });

  it("the admin routes refuse requests without a valid admin token", async () => {
    for (const [path, method] of [
      ["/allow-list", "GET"],
      ["/allow-list/1/revoke", "POST"],
      ["/unscanned", "GET"],
      ["/status", "GET"],
    ] as const) {
      expect((await adminCall(path, { method }, null)).status).toBe(401);
      expect((await adminCall(path, { method }, REVIEWER_TOKEN)).status).toBe(401);
      expect((await adminCall(path, { method }, `${ADMIN_API_TOKEN}x`)).status).toBe(401);
    }
  });
});

describe("what an entry matches (SECURITY.md known gap 9)", () => {
  const rule: AllowRule = { algo: "md5", digest: "aa".repeat(16), listId: "demo", cancelsExact: false };
  const pdqHit: MatchHit = { listId: "demo", kind: "pdq", action: "block" };
  const exactHit: MatchHit = { listId: "demo", kind: "exact", action: "block", algo: "md5" };

  it("an entry matches a file on any one digest, MD5 included, but only in its list and only PDQ hits", () => {
    const sameMd5OtherBytes = { md5: "aa".repeat(16), sha256: "bb".repeat(32) };
    expect(isCancelled([rule], sameMd5OtherBytes, pdqHit)).toBe(true);
    expect(isCancelled([rule], sameMd5OtherBytes, exactHit)).toBe(false);
    expect(isCancelled([rule], sameMd5OtherBytes, { ...pdqHit, listId: "other" })).toBe(false);
    expect(isCancelled([{ ...rule, listId: "*" }], sameMd5OtherBytes, exactHit)).toBe(false);
  });
});
