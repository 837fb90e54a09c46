/**
 * GET /admin/health (src/admin/health.ts) and the cron record it reads (src/cases/cron-runs.ts):
 * lists in force with version, entries, last publish and licence; dead letters and pending
 * markers in R2; unscanned uploads by reason; the last cron run; 503 "degraded" when no list is
 * active, the cron stopped or dead letters wait. Lists are test metadata only: TEST DATA.
 */
import { env } from "cloudflare:test";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { adminRoutes } from "../../src/admin/routes.ts";
import { cronRunStore } from "../../src/cases/cron-run-store.ts";
import { runScheduled } from "../../src/cases/cron-runs.ts";
import { historyKey } from "../../src/lists/layout.ts";
import { MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { resetDb } from "../helpers/cases.ts";
import { testList } from "../helpers/lists.ts";

const TOKEN = "health-token-0123456789abcdefghij";
const app = new Hono();
app.route("/admin", adminRoutes);

type Health = {
  status: string;
  problems: string[];
  warnings: string[];
  lists: { counts: Record<string, number>; active: Record<string, unknown>[] };
  deadLetters: { count: number };
  pendingMarkers: { count: number };
  unscannedLast24h: Record<string, number>;
  cron: { swept: number; purged: number; secondsAgo: number } | null;
};

async function health(token = TOKEN): Promise<{ status: number; body: Health }> {
  const res = await app.request(
    "/admin/health",
    { headers: { authorization: `Bearer ${token}` } },
    {
      ...env,
      ADMIN_TOKEN: TOKEN,
    },
  );
  return { status: res.status, body: (await res.json()) as Health };
}

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();
const run = (startedAt: string) => ({
  startedAt,
  finishedAt: startedAt,
  swept: 2,
  sweepFailed: 0,
  sweepUnreadable: 0,
  purged: 3,
  notified: 1,
  errors: [],
});

async function clearR2(prefix: string) {
  const listed = await env.EVIDENCE.list({ prefix });
  if (listed.objects.length) await env.EVIDENCE.delete(listed.objects.map((o) => o.key));
}

beforeEach(async () => {
  await resetDb();
  await env.DB.prepare("DELETE FROM cron_runs").run();
  await clearR2("dlq/");
  await clearR2("pending/");
  const soon = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
  await env.HASHES.put(
    MANIFEST_KEY,
    JSON.stringify({
      revision: 3,
      updatedAt: minutesAgo(5),
      lists: [
        testList("inforce", { version: 2, exactEntries: 120, pdqEntries: 7 }),
        testList("ending", { version: 1, licensedUntil: soon }),
        testList("off", { enabled: false }),
      ],
    }),
  );
  await env.HASHES.put(
    historyKey("inforce"),
    JSON.stringify([
      { kind: "publish", version: 1, base: 0, at: minutesAgo(600), actor: "a", added: 100, removed: 0 },
      { kind: "publish", version: 2, base: 1, at: minutesAgo(60), actor: "a", added: 20, removed: 0 },
    ]),
  );
});
afterEach(() => vi.restoreAllMocks());

describe("GET /admin/health", () => {
  it("ok: lists with version, entries, last publish and licence; R2 and D1 counts; the last cron run", async () => {
    await cronRunStore(env.DB).record(run(minutesAgo(4)));
    await env.EVIDENCE.put("pending/c1", "{}");
    await env.DB.prepare(
      "INSERT INTO unscanned (id, created_at, reason, request, code) VALUES ('u1', ?1, 'r', '{}', 'scan-failed'), ('u2', ?1, 'r', '{}', 'scan-failed'), ('u3', ?2, 'r', '{}', 'files-not-hashed')",
    )
      .bind(minutesAgo(10), minutesAgo(2 * 24 * 60))
      .run();
    const { status, body } = await health();
    expect(status).toBe(200);
    expect(body.status).toBe("ok");
    expect(body.problems).toEqual([]);
    expect(body.lists.counts).toMatchObject({ active: 2, disabled: 1 });
    const inforce = body.lists.active.find((l) => l.id === "inforce")!;
    expect(inforce).toMatchObject({
      version: 2,
      exactEntries: 120,
      pdqEntries: 7,
      licensedUntil: "2099-12-31",
    });
    expect(inforce.secondsSincePublish).toBeGreaterThanOrEqual(3600);
    expect(inforce.secondsSincePublish).toBeLessThan(3700);
    expect(body.lists.active.find((l) => l.id === "ending")).toMatchObject({
      lastPublishedAt: null,
      licenceDaysLeft: 10,
    });
    expect(body.warnings.join("\n")).toMatch(/list ending: licence ends/);
    expect(body.warnings.join("\n")).toMatch(/1 pending marker/);
    expect(body.pendingMarkers.count).toBe(1);
    expect(body.deadLetters.count).toBe(0);
    expect(body.unscannedLast24h).toEqual({ "scan-failed": 2 });
    expect(body.cron).toMatchObject({ swept: 2, purged: 3 });
  });

  it("degraded (503) when no list is active", async () => {
    await cronRunStore(env.DB).record(run(minutesAgo(4)));
    await env.HASHES.put(MANIFEST_KEY, JSON.stringify({ revision: 1, updatedAt: minutesAgo(1), lists: [] }));
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: "degraded", problems: ["no active hash list"] });
  });

  it("degraded when the cron has not run for more than 30 minutes, or never", async () => {
    expect((await health()).body.problems).toEqual(["the cron has never run"]);
    await cronRunStore(env.DB).record(run(minutesAgo(31)));
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.problems).toEqual(["the cron last ran 31 min ago"]);
    await cronRunStore(env.DB).record(run(minutesAgo(29)));
    expect((await health()).status).toBe(200);
  });

  it("degraded when dead letters wait", async () => {
    await cronRunStore(env.DB).record(run(minutesAgo(1)));
    await env.EVIDENCE.put("dlq/m1.json", "{}");
    await env.EVIDENCE.put("dlq/m2.json", "{}");
    const { status, body } = await health();
    expect(status).toBe(503);
    expect(body.deadLetters.count).toBe(2);
    expect(body.problems).toEqual(["2 dead letter(s) wait in R2 dlq/"]);
  });

  it("needs the admin token", async () => {
    const res = await app.request("/admin/health", {}, { ...env, ADMIN_TOKEN: TOKEN });
    expect(res.status).toBe(401);
  });
});

describe("the scheduled run", () => {
  it("records what it swept, purged and notified, and a failing task without stopping the others", async () => {
    vi.spyOn(console, "log").mockImplementation(() => undefined);
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((l: unknown) => void lines.push(String(l)));
    const now = new Date();
    const r = await runScheduled(env, now, {
      sweep: async () => ({ recorded: 4, failed: ["pending/x"], unreadable: [] }),
      retention: async () => {
        throw new TypeError("boom with a secret detail");
      },
      notify: async () => 5,
    });
    expect(r).toMatchObject({
      swept: 4,
      sweepFailed: 1,
      purged: 0,
      notified: 5,
      errors: ["retention: TypeError"],
    });
    expect(await cronRunStore(env.DB).last()).toEqual(r);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      hashgate: "cron",
      swept: 4,
      errors: ["retention: TypeError"],
    });
    expect(lines[0]).not.toContain("secret detail");
  });

  it("keeps the last 200 runs", async () => {
    for (let i = 0; i < 205; i += 5)
      await env.DB.batch(
        Array.from({ length: 5 }, (_, k) =>
          env.DB.prepare("INSERT INTO cron_runs (started_at, finished_at) VALUES (?1, ?1)").bind(
            minutesAgo(300 - i - k),
          ),
        ),
      );
    await cronRunStore(env.DB).record(run(minutesAgo(0)));
    const n = await env.DB.prepare("SELECT count(*) AS n FROM cron_runs").first<{ n: number }>();
    expect(n?.n).toBe(200);
  });
});
