/**
 * Ending a staged shard-sized PDQ version (src/lists/staged.ts): discarded (DELETE
 * /admin/lists/:id/staged) when its build keeps failing, so the list takes a new publish; its
 * history line written only when it switches; and a discard racing a switch leaving exactly one
 * of the two outcomes. Test data: random 256-bit values, not real hash lists.
 */
import { env } from "cloudflare:test";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { adminRoutes } from "../../src/admin/routes.ts";
import type { Env } from "../../src/env.ts";
import { createList, rollbackList } from "../../src/lists/govern.ts";
import { findList, pdqShardKey, readHistory, readManifest } from "../../src/lists/layout.ts";
import { forgetManifest, loadManifest, MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { publishDelta } from "../../src/lists/publish.ts";
import { discardStaged, readStaged, switchStaged, versionDataKeys } from "../../src/lists/staged.ts";
import { KvListStore } from "../../src/lists/store.ts";
import { matchPdq } from "../../src/match/pdq.ts";
import type { PdqShardRouting } from "../../src/match/pdq-remote.ts";
import { discardStagedList, switchStagedList, switchStore } from "../../src/match/shard-switch.ts";
import { bytesToHex } from "../../src/pdq/core.ts";
import { type PdqShardRpc, shardObjectName } from "../../src/pdq-shards/protocol.ts";
import { stagedDecider } from "../../src/pdq-shards/staged-decision.ts";
import { newListInput, testKeys } from "../helpers/lists.ts";
import { rng } from "../helpers/random.ts";

const TOKEN = "test-token-0123456789abcdefghij";
const app = new Hono();
app.route("/admin", adminRoutes);
const testEnv = env as unknown as Env;
const realShards = testEnv.PDQ_SHARDS!;
const r = rng(47);
const randomHex = () => bytesToHex(Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256)));
const store = () => new KvListStore(env.HASHES);
const stage = (l: { pdqEntries?: number }) => (l.pdqEntries ?? 0) >= 100;
const routing: PdqShardRouting = {
  namespace: realShards,
  threshold: 100,
  queryTimeoutMs: 5000,
  loadTimeoutMs: 30000,
};
const stub = (list: { id: string; version: number }, shard: number) =>
  realShards.get(realShards.idFromName(shardObjectName(list, shard))) as unknown as PdqShardRpc;
const withThreshold = (over: Partial<Env> = {}) =>
  ({ ...env, PDQ_SHARD_THRESHOLD: "100", ...over }) as unknown as Env;
const addOps = (hashes: string[]) =>
  hashes.map((hex) => ({ op: "add" as const, hash: { algo: "pdq" as const, hex } }));

async function newList(): Promise<string> {
  const id = `discard-${Date.now().toString(36)}-${Math.floor(r() * 1e6)}`;
  await createList(store(), newListInput(id, { provider: "tests" }));
  return id;
}

async function stagePublish(id: string, hashes: string[], now = new Date()) {
  const res = await publishDelta(store(), id, addOps(hashes), {
    actor: "test",
    keys: await testKeys(),
    stage,
    now,
  });
  expect(res.staged).toBe(true);
  return res;
}

async function gateHit(id: string, hex: string) {
  forgetManifest(env.HASHES);
  const list = findList(await loadManifest(env.HASHES), id);
  if (list.version === 0) return null;
  const pdq = { hash: hex, quality: 100, dihedral: [hex] };
  return (await matchPdq(env.HASHES, [list], pdq, testKeys, undefined, routing))[0] ?? null;
}

function call(method: string, path: string, token: string | null = TOKEN) {
  return app.request(
    `/admin${path}`,
    { method, headers: token ? { authorization: `Bearer ${token}` } : {} },
    withThreshold({ ADMIN_TOKEN: `alice=${TOKEN}` }),
  );
}

const present = async (keys: string[]) =>
  (await Promise.all(keys.map((k) => env.HASHES.get(k, "arrayBuffer")))).filter((v) => v !== null).length;

describe("DELETE /admin/lists/:id/staged", () => {
  it("drops the staged version, its data and built indexes, audits it, and the list takes a new publish", async () => {
    const id = await newList();
    const v1 = Array.from({ length: 120 }, randomHex);
    await stagePublish(id, v1);
    const staged = (await readStaged(store(), id))!;
    const dataKeys = versionDataKeys(id, 1, staged.shape);
    expect(await present(dataKeys)).toBe(dataKeys.length);
    // The objects built the version's index, then the switch failed (e.g. the manifest write).
    const meta1 = { ...findList(await readManifest(store()), id), ...staged.shape, version: 1 };
    await stub(meta1, 0).load(meta1, 0);
    expect(await stub(meta1, 0).held()).toMatchObject({ version: 1 });

    expect((await call("DELETE", `/lists/${id}/staged`, null)).status).toBe(401);
    const res = await call("DELETE", `/lists/${id}/staged`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      discarded: { id, version: 1, kind: "publish" },
      deletedKeys: dataKeys.length,
      releasedObjects: 1,
    });
    expect(await readStaged(store(), id)).toBeNull();
    expect(await present(dataKeys)).toBe(0);
    expect(await stub(meta1, 0).held()).toBeNull();
    expect(findList(await readManifest(store()), id)).toMatchObject({ version: 0, latest: 1 });
    expect(await readHistory(store(), id)).toEqual([
      expect.objectContaining({
        kind: "discard",
        discarded: "publish",
        version: 1,
        base: 0,
        actor: "admin:alice",
      }),
    ]);
    const audit = await env.DB.prepare("SELECT actor, action, detail FROM audit_log WHERE subject = ?1")
      .bind(`list:${id}`)
      .all<{ actor: string; action: string; detail: string }>();
    expect(audit.results).toContainEqual(
      expect.objectContaining({ actor: "admin:alice", action: "list.discard-staged" }),
    );

    const again = await call("DELETE", `/lists/${id}/staged`);
    expect(again.status).toBe(404);

    // A new publish proceeds, numbered past the discarded version, and sees none of its entries.
    const v2 = Array.from({ length: 10 }, randomHex);
    const next = await publishDelta(store(), id, addOps(v2), { actor: "test", keys: await testKeys() });
    expect(next).toMatchObject({ version: 2, base: 0, pdqEntries: 10 });
    expect(findList(await readManifest(store()), id)).toMatchObject({ version: 2, abandoned: [1] });
    expect(await gateHit(id, v2[0]!)).toMatchObject({ distance: 0 });
    expect(await gateHit(id, v1[0]!)).toBeNull();
  });

  it("leaves the active version, its data and its objects alone", async () => {
    const id = await newList();
    const v1 = Array.from({ length: 120 }, randomHex);
    await stagePublish(id, v1);
    expect(await switchStagedList(withThreshold(), id)).toMatchObject({ version: 1 });
    const active = findList(await readManifest(store()), id);
    expect(await stub(active, 0).held()).toMatchObject({ version: 1 });
    await stagePublish(id, Array.from({ length: 5 }, randomHex));
    const staged = (await readStaged(store(), id))!;

    const res = await call("DELETE", `/lists/${id}/staged`);
    expect(res.status).toBe(200);
    expect(await present(versionDataKeys(id, 2, staged.shape))).toBe(0);
    expect(await present(versionDataKeys(id, 1, active))).toBe(versionDataKeys(id, 1, active).length);
    expect(await stub(active, 0).held()).toMatchObject({ version: 1 });
    expect(findList(await readManifest(store()), id)).toMatchObject({ version: 1, latest: 2 });
    expect(await gateHit(id, v1[7]!)).toMatchObject({ distance: 0 });
  });

  it("a staged rollback: the marker goes, the earlier version's data (its own) stays", async () => {
    const id = await newList();
    await stagePublish(id, Array.from({ length: 120 }, randomHex));
    await switchStagedList(withThreshold(), id);
    await publishDelta(store(), id, addOps([randomHex()]), { actor: "test", keys: await testKeys() });
    const back = await rollbackList(store(), id, "test", new Date(), 1, stage);
    expect(back).toMatchObject({ version: 1, staged: true });
    const r1 = await discardStagedList(withThreshold(), id, "test");
    expect(r1).toMatchObject({ deletedKeys: 0, released: 0, staged: { kind: "rollback" } });
    const list = findList(await readManifest(store()), id);
    expect(list).toMatchObject({ version: 2, latest: 2 });
    expect(await present([pdqShardKey(id, 1, 0)])).toBe(1);
    // The version can still be rolled back to.
    expect(await rollbackList(store(), id, "test", new Date(), 1)).toMatchObject({ version: 1 });
  });
});

/** A KV whose manifest writes run `before` first (once per call to arm). */
function hookedKv(hook: { before?: () => Promise<void> }): KVNamespace {
  return new Proxy(env.HASHES, {
    get(target, prop) {
      if (prop === "put")
        return async (key: string, ...rest: unknown[]) => {
          if (key === MANIFEST_KEY && hook.before) {
            const run = hook.before;
            hook.before = undefined;
            await run();
          }
          return (target.put as (...a: unknown[]) => Promise<void>)(key, ...rest);
        };
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

describe("history of a staged version", () => {
  it("has no line while staged; the line is written at the switch, saying when it was staged", async () => {
    const id = await newList();
    const stagedAt = new Date(Date.now() - 3_600_000);
    await stagePublish(id, Array.from({ length: 120 }, randomHex), stagedAt);
    expect(await readHistory(store(), id)).toEqual([]);
    const switchedAt = new Date();
    await switchStagedList(withThreshold(), id, switchedAt);
    expect(await readHistory(store(), id)).toEqual([
      expect.objectContaining({
        kind: "publish",
        version: 1,
        base: 0,
        at: switchedAt.toISOString(),
        stagedAt: stagedAt.toISOString(),
        pdqEntries: 120,
        shape: expect.objectContaining({ pdqShards: 1 }),
      }),
    ]);

    // A staged rollback likewise: no line until it switches.
    await publishDelta(store(), id, addOps([randomHex()]), { actor: "test", keys: await testKeys() });
    await rollbackList(store(), id, "test", new Date(), 1, stage);
    expect((await readHistory(store(), id)).map((h) => h.kind)).toEqual(["publish", "publish"]);
    await switchStagedList(withThreshold(), id);
    expect((await readHistory(store(), id)).map((h) => `${h.kind} v${h.version}`)).toEqual([
      "publish v1",
      "publish v2",
      "rollback v1",
    ]);
  });

  it("a switch retried after its manifest write failed writes its line once", async () => {
    const id = await newList();
    await stagePublish(id, Array.from({ length: 120 }, randomHex));
    const failing = hookedKv({
      before: async () => {
        throw new Error("KV unavailable");
      },
    });
    await expect(switchStagedList(withThreshold({ HASHES: failing }), id)).rejects.toThrow(/KV unavailable/);
    expect(findList(await readManifest(store()), id).version).toBe(0);
    expect(await switchStagedList(withThreshold(), id)).toMatchObject({ version: 1 });
    expect((await readHistory(store(), id)).map((h) => h.kind)).toEqual(["publish"]);
  });
});

/** Which way the staged version 1 of `id` ended; throws if the state mixes both. */
async function outcome(id: string, hashes: string[], dataKeys: string[]): Promise<"switched" | "discarded"> {
  expect(await readStaged(store(), id)).toBeNull();
  const list = findList(await readManifest(store()), id);
  const history = await readHistory(store(), id);
  if (list.version === 1) {
    expect(history.map((h) => h.kind)).toEqual(["publish"]);
    expect(await present(dataKeys)).toBe(dataKeys.length);
    expect(await gateHit(id, hashes[0]!)).toMatchObject({ distance: 0 });
    return "switched";
  }
  expect(list).toMatchObject({ version: 0, latest: 1 });
  expect(history.map((h) => h.kind)).toEqual(["discard"]);
  expect(await present(dataKeys)).toBe(0);
  return "discarded";
}

async function stagedForRace() {
  const id = await newList();
  const hashes = Array.from({ length: 120 }, randomHex);
  await stagePublish(id, hashes);
  const dataKeys = versionDataKeys(id, 1, (await readStaged(store(), id))!.shape);
  return { id, hashes, dataKeys };
}

describe("a discard during a switch", () => {
  const decide = stagedDecider(testEnv.STAGED_DECISIONS);
  const build = (next: Parameters<Parameters<typeof switchStaged>[2]>[0]) =>
    stub(next, 0)
      .load(next, 0)
      .then(() => {});

  it("while the objects build: discarded, and the switch writes nothing", async () => {
    const { id, hashes, dataKeys } = await stagedForRace();
    const switching = switchStaged(
      switchStore(env.HASHES),
      id,
      async (next) => {
        await build(next);
        expect((await discardStagedList(withThreshold(), id, "op")).staged.version).toBe(1);
      },
      new Date(),
      decide,
    );
    await expect(switching).rejects.toThrow(/discarded: not switched/);
    expect(await outcome(id, hashes, dataKeys)).toBe("discarded");
  });

  it("while the objects build, discarded by the CLI through KV alone: discarded", async () => {
    const { id, hashes, dataKeys } = await stagedForRace();
    const switching = switchStaged(switchStore(env.HASHES), id, async (next) => {
      await build(next);
      await discardStaged(switchStore(env.HASHES), id, "cli");
    });
    await expect(switching).rejects.toThrow(/discarded: not switched/);
    expect(await outcome(id, hashes, dataKeys)).toBe("discarded");
  });

  it("after the switch was settled, before its manifest write: the discard is refused, switched", async () => {
    const { id, hashes, dataKeys } = await stagedForRace();
    let refused: unknown = null;
    const kv = hookedKv({
      before: async () => {
        refused = await discardStagedList(withThreshold(), id, "op").catch((e: Error) => e);
      },
    });
    const list = await switchStaged(switchStore(kv), id, build, new Date(), decide);
    expect(list).toMatchObject({ version: 1 });
    expect(String(refused)).toMatch(/switched in \(or being switched\): not discarded/);
    expect(await outcome(id, hashes, dataKeys)).toBe("switched");
  });

  it("both at once, many times: exactly one succeeds and the state is wholly its outcome", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const { id, hashes, dataKeys } = await stagedForRace();
      const e = withThreshold();
      const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const jobs = [
        switchStagedList(e, id),
        delay(Math.floor(r() * 400)).then(() => discardStagedList(e, id, "op")),
      ];
      const results = await Promise.allSettled(jobs);
      // A switch that finds nothing staged (discarded already) answers null.
      const won = results.flatMap((x, j) =>
        x.status === "fulfilled" && x.value ? [j === 0 ? "switched" : "discarded"] : [],
      );
      expect(won).toHaveLength(1);
      for (const x of results)
        if (x.status === "rejected")
          expect(String(x.reason)).toMatch(/not (switched|discarded)|no staged version/);
      expect(await outcome(id, hashes, dataKeys)).toBe(won[0]);
      seen.add(won[0]!);
    }
    // Timings vary; the assertion above holds whichever way each race went.
    expect(seen.size).toBeGreaterThan(0);
  });
});
