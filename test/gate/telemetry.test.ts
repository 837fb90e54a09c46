/**
 * The gate's telemetry (src/gate/telemetry.ts wired in src/gate/gate.ts): one Analytics Engine
 * data point per scanned request, one JSON log line per block, flag, unscanned upload and error,
 * carrying the case id and never a digest, the uploader's address or a secret. The list holds
 * digests of generated benign bytes: TEST DATA.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CASE_HEADER, gateRequest } from "../../src/gate/gate.ts";
import { forgetManifest } from "../../src/lists/manifest.ts";
import { CapturingQueue, failing, testCtx, testEnv } from "../helpers/faults.ts";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { uniquePrefix } from "../helpers/origin.ts";

const LISTED = testBytes(3000, 41);
const CLEAN = testBytes(2000, 42);
const UPLOADER_IP = "203.0.113.77";
const SECRET = "signing-key-telemetry-0123456789";

type Point = { blobs?: string[]; doubles?: number[]; indexes?: string[] };

class FakeMetrics {
  points: Point[] = [];
  writeDataPoint(p: Point): void {
    this.points.push(structuredClone(p));
  }
}

let lines: string[];
beforeEach(async () => {
  forgetManifest(env.HASHES);
  await seedLists(env.HASHES, [
    {
      meta: testList("telelist", { algorithms: ["md5", "sha256"] }),
      entries: [{ algo: "md5", hex: await digestHex("md5", LISTED) }],
    },
  ]);
  lines = [];
  const keep = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  vi.spyOn(console, "log").mockImplementation(keep);
  vi.spyOn(console, "error").mockImplementation(keep);
  vi.spyOn(console, "warn").mockImplementation(keep);
});
afterEach(() => {
  vi.restoreAllMocks();
  forgetManifest(env.HASHES);
});

/** The lines that are JSON objects (the structured ones); free-text diagnostics are left out. */
function jsonLines(): Record<string, unknown>[] {
  return lines.flatMap((l) => {
    try {
      const v = JSON.parse(l);
      return v && typeof v === "object" ? [v as Record<string, unknown>] : [];
    } catch {
      return [];
    }
  });
}

async function post(body: Uint8Array, over: Record<string, unknown> = {}) {
  const metrics = new FakeMetrics();
  const { ctx, settle } = testCtx();
  const form = buildMultipart([
    { field: "file", filename: "a.bin", contentType: "application/octet-stream", data: body },
  ]);
  const res = await gateRequest(
    new Request(`https://uploads.example.test${uniquePrefix()}/upload?token=abc`, {
      method: "POST",
      headers: { "content-type": form.contentType, "cf-connecting-ip": UPLOADER_IP },
      body: form.body,
    }),
    testEnv({ MATCHES: new CapturingQueue() as never, METRICS: metrics as never, ...over }),
    ctx,
  );
  await res.arrayBuffer();
  await settle();
  return { res, points: metrics.points };
}

describe("telemetry", () => {
  it("a block writes one data point with its columns and one JSON line with the case id, no digest, IP or secret", async () => {
    const { res, points } = await post(LISTED, { ORIGIN_SIGNING_KEY: SECRET });
    expect(res.status).toBe(451);
    const caseId = res.headers.get(CASE_HEADER)!;
    expect(points).toHaveLength(1);
    const [outcome, reason, lists, method] = points[0]!.blobs!;
    expect({ outcome, reason, lists, method }).toEqual({
      outcome: "block",
      reason: "",
      lists: "telelist",
      method: "POST",
    });
    const [bytes, files, images, ms, status] = points[0]!.doubles!;
    expect(bytes).toBeGreaterThan(LISTED.length);
    expect(files).toBe(1);
    expect(images).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(status).toBe(451);
    expect(points[0]!.indexes).toEqual(["block"]);

    const logged = jsonLines();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      hashgate: "block",
      caseId,
      lists: ["telelist"],
      status: 451,
      files: 1,
    });
    expect(logged[0]!.path).not.toContain("token");
    const everything = lines.join("\n") + JSON.stringify(points);
    const md5 = await digestHex("md5", LISTED);
    const sha256 = await digestHex("sha256", LISTED);
    for (const secret of [md5, sha256, UPLOADER_IP, SECRET, "token=abc"])
      expect(everything).not.toContain(secret);
  });

  it("a clean upload writes a data point and no log line", async () => {
    const { res, points } = await post(CLEAN);
    expect(res.status).toBe(201);
    expect(points).toHaveLength(1);
    expect(points[0]!.blobs![0]).toBe("clean");
    expect(points[0]!.doubles![1]).toBe(1);
    expect(jsonLines()).toEqual([]);
  });

  it("an error (the hash lists cannot be read) is one JSON line and one data point", async () => {
    const { res, points } = await post(CLEAN, { HASHES: failing(env.HASHES, ["get", "getWithMetadata"]) });
    expect(res.status).toBe(503);
    const logged = jsonLines();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ hashgate: "error", status: 503 });
    expect(typeof logged[0]!.reason).toBe("string");
    expect(points.map((p) => p.blobs![0])).toEqual(["error"]);
  });

  it("a fail-open outage is an unscanned upload with its reason", async () => {
    const { res, points } = await post(CLEAN, {
      HASHES: failing(env.HASHES, ["get", "getWithMetadata"]),
      FAIL_MODE: "open",
    });
    expect(res.status).toBe(201);
    expect(points.map((p) => p.blobs!.slice(0, 2))).toEqual([["unscanned", "scan-failed"]]);
    expect(jsonLines()).toMatchObject([{ hashgate: "unscanned", reason: "scan-failed" }]);
  });

  it("no active list: forwarded (open) is unscanned, refused (closed) is refused, each with its reason", async () => {
    await seedLists(env.HASHES, []);
    forgetManifest(env.HASHES);
    const open = await post(CLEAN, { NO_LIST_MODE: "open" });
    expect(open.res.status).toBe(201);
    expect(open.points.map((p) => p.blobs!.slice(0, 2))).toEqual([["unscanned", "no-active-list"]]);
    const closed = await post(CLEAN, { NO_LIST_MODE: "closed" });
    expect(closed.res.status).toBe(503);
    expect(closed.points.map((p) => p.blobs!.slice(0, 2))).toEqual([["refused", "no-active-list"]]);
    expect(jsonLines().map((l) => [l.hashgate, l.reason])).toEqual([
      ["unscanned", "no-active-list"],
      ["refused", "no-active-list"],
    ]);
  });

  it("a broken sink changes nothing the client sees", async () => {
    const broken = {
      writeDataPoint: () => {
        throw new Error("sink down");
      },
    };
    const { res } = await post(CLEAN, { METRICS: broken as never });
    expect(res.status).toBe(201);
  });
});
