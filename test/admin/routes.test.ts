/**
 * The admin API through Hono's app.request with the test bindings. Digests are TEST DATA
 * (random hex); tokens are test strings.
 */
import { env } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { adminRoutes } from "../../src/admin/routes.ts";
import { readManifest } from "../../src/lists/layout.ts";
import { KvListStore } from "../../src/lists/store.ts";
import { matchDigests } from "../../src/match/exact.ts";
import { newListInput, testKeys } from "../helpers/lists.ts";
import { randomHex } from "../lists/helpers.ts";

const TOKEN = "test-token-0123456789abcdefghij";
const app = new Hono();
app.route("/admin", adminRoutes);

const bindings = (token: string | undefined = `alice=${TOKEN}`) => ({ ...env, ADMIN_TOKEN: token });

function call(path: string, init: RequestInit & { json?: unknown } = {}, token: string | null = TOKEN) {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return app.request(`/admin${path}`, { ...init, headers, body }, bindings());
}

let seq = 0;
async function created(over: Record<string, unknown> = {}): Promise<string> {
  const id = `adm${Date.now().toString(36)}-${seq++}`;
  const res = await call("/lists", {
    method: "POST",
    json: newListInput(id, { provider: "tests", ...over }),
  });
  expect(res.status).toBe(201);
  return id;
}

async function auditRows(subject: string) {
  const { results } = await env.DB.prepare(
    "SELECT actor, action, detail FROM audit_log WHERE subject = ?1 ORDER BY id",
  )
    .bind(subject)
    .all<{ actor: string; action: string; detail: string }>();
  return results;
}

describe("admin API", () => {
  it("refuses missing and wrong tokens, and is off without ADMIN_TOKEN", async () => {
    expect((await call("/lists", {}, null)).status).toBe(401);
    expect((await call("/lists", {}, `${TOKEN}x`)).status).toBe(401);
    expect((await call("/lists", {}, "short")).status).toBe(401);
    const off = await app.request(
      "/admin/lists",
      { headers: { authorization: `Bearer ${TOKEN}` } },
      bindings(""),
    );
    expect(off.status).toBe(403);
    expect(await off.json()).toEqual({ error: "forbidden", message: "admin disabled" });
    expect((await call("/lists")).status).toBe(200);
  });

  it("answers 503 while ADMIN_TOKEN holds a bad entry, even for a good token beside it", async () => {
    const res = await app.request(
      "/admin/lists",
      { headers: { authorization: `Bearer ${TOKEN}` } },
      bindings(`alice=${TOKEN},bob=short`),
    );
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toBe("admin_misconfigured");
  });

  it("creates a list, publishes a delta, reports stats and audits every change", async () => {
    const id = await created();
    const [x, y] = [randomHex(32, 1), randomHex(40, 2)];
    const res = await call(`/lists/${id}/delta`, {
      method: "POST",
      json: {
        ops: [
          { op: "add", algo: "md5", hex: x },
          { op: "add", algo: "sha1", hex: y, category: "A1" },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ published: { version: 1, added: 2, exactEntries: 2 } });
    const text = await call(`/lists/${id}/delta`, {
      method: "POST",
      body: `# test\nremove md5 ${x}\n`,
      headers: { "content-type": "text/plain" },
    });
    expect(await text.json()).toMatchObject({ published: { version: 2, removed: 1 } });
    const show = (await (await call(`/lists/${id}`)).json()) as {
      list: Record<string, unknown>;
      history: unknown[];
    };
    expect(show.list).toMatchObject({ id, version: 2, status: "active", exactEntries: 1 });
    expect(show.history).toHaveLength(2);
    expect(JSON.stringify(show)).not.toContain(y); // no hashes in answers
    const rows = await auditRows(`list:${id}`);
    expect(rows.map((r) => [r.actor, r.action])).toEqual([
      ["admin:alice", "list.create"],
      ["admin:alice", "list.publish"],
      ["admin:alice", "list.publish"],
    ]);
    expect(JSON.parse(rows[1]!.detail)).toMatchObject({ version: 1, added: 2 });
  });

  it("rejects malformed deltas with line numbers and publishes nothing", async () => {
    const id = await created();
    const res = await call(`/lists/${id}/delta`, {
      method: "POST",
      body: `add md5 ${randomHex(32, 3)}\nadd md5 xyz\nfrobnicate\n`,
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: { line: number }[] };
    expect(body.errors.map((e) => e.line)).toEqual([2, 3]);
    const list = (await (await call(`/lists/${id}`)).json()) as { list: { version: number } };
    expect(list.list.version).toBe(0);
    expect(
      (await call(`/lists/nope/delta`, { method: "POST", json: { ops: [{ op: "remove-id", id: "e" }] } }))
        .status,
    ).toBe(404);
    expect((await call(`/lists`, { method: "POST", json: { id: "Bad Id" } })).status).toBe(400);
  });

  it("enables, disables, rolls back, and shows expired lists", async () => {
    const id = await created();
    const x = randomHex(32, 4);
    await call(`/lists/${id}/delta`, { method: "POST", json: { ops: [{ op: "add", algo: "md5", hex: x }] } });
    await call(`/lists/${id}/delta`, {
      method: "POST",
      json: { ops: [{ op: "remove", algo: "md5", hex: x }] },
    });
    const rb = await call(`/lists/${id}/rollback`, { method: "POST" });
    expect(await rb.json()).toMatchObject({ list: { version: 1, latest: 2 } });
    const meta = (await readManifest(new KvListStore(env.HASHES))).lists.find((l) => l.id === id)!;
    expect(await matchDigests(env.HASHES, [meta], { md5: x }, testKeys)).toHaveLength(1);
    expect(await (await call(`/lists/${id}/disable`, { method: "POST" })).json()).toMatchObject({
      list: { status: "disabled" },
    });
    expect(await (await call(`/lists/${id}/enable`, { method: "POST" })).json()).toMatchObject({
      list: { status: "active" },
    });
    const old = await created({ licensedUntil: "2020-01-01" });
    const all = (await (await call("/lists")).json()) as { lists: { id: string; status: string }[] };
    expect(all.lists.find((l) => l.id === old)?.status).toBe("expired");
    expect((await auditRows(`list:${id}`)).map((r) => r.action)).toContain("list.rollback");
  });

  it("scans running during a publish see the old or the new version, never a mix", async () => {
    const id = await created();
    const [old, fresh] = [randomHex(32, 5), randomHex(32, 6)];
    await call(`/lists/${id}/delta`, {
      method: "POST",
      json: { ops: [{ op: "add", algo: "md5", hex: old }] },
    });
    const store = new KvListStore(env.HASHES);
    const seen = new Set<string>();
    let done = false;
    const scans = (async () => {
      // Bounded: a scan loop must not outlive the test if the publish fails.
      for (let i = 0; i < 400 && !done; i++) {
        const meta = (await readManifest(store)).lists.find((l) => l.id === id)!;
        const [a, b] = await Promise.all([
          matchDigests(env.HASHES, [meta], { md5: old }, testKeys),
          matchDigests(env.HASHES, [meta], { md5: fresh }, testKeys),
        ]);
        seen.add(`v${meta.version}:${a.length}${b.length}`);
      }
    })();
    const res = await call(`/lists/${id}/delta`, {
      method: "POST",
      json: {
        ops: [
          { op: "remove", algo: "md5", hex: old },
          { op: "add", algo: "md5", hex: fresh },
        ],
      },
    });
    expect(res.status).toBe(200);
    done = true;
    await scans;
    expect([...seen].every((s) => s === "v1:10" || s === "v2:01")).toBe(true);
    expect(seen.has("v1:10") && seen.has("v2:01")).toBe(true);
  });
});
