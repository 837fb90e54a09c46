/**
 * The two-step switch of a shard-sized PDQ version published where the shard objects cannot be
 * reached (the CLI): the version is staged, queries keep seeing the manifest's version until the
 * Worker (scheduled handler or POST /admin/lists/:id/switch) has the objects build it and then
 * switches the manifest. Test data: random 256-bit values, not real hash lists.
 */
import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import worker from "../../src/index.ts";
import { createList, rollbackList } from "../../src/lists/govern.ts";
import { findList, readManifest } from "../../src/lists/layout.ts";
import { forgetManifest, loadManifest } from "../../src/lists/manifest.ts";
import { publishDelta } from "../../src/lists/publish.ts";
import { readStaged, switchStaged } from "../../src/lists/staged.ts";
import { KvListStore } from "../../src/lists/store.ts";
import { matchPdq } from "../../src/match/pdq.ts";
import type { PdqShardRouting } from "../../src/match/pdq-remote.ts";
import { switchStagedList, switchStagedVersions, switchStore } from "../../src/match/shard-switch.ts";
import { newListInput, testKeys } from "../helpers/lists.ts";
import { rng } from "../helpers/random.ts";
import { app, failingShards, held, randomHexFrom, realShards, TOKEN, watchedKv } from "./shard-objects.ts";

const r = rng(43);
const randomHex = randomHexFrom(r);
const store = () => new KvListStore(env.HASHES);
const routing: PdqShardRouting = {
  namespace: realShards,
  threshold: 100,
  queryTimeoutMs: 5000,
  loadTimeoutMs: 30000,
};

/** A list with one staged version of `n` PDQ hashes, published as the CLI does (stage on). */
async function stagedList(n = 120): Promise<{ id: string; hashes: string[] }> {
  const id = `staged-${Date.now().toString(36)}-${Math.floor(r() * 1e6)}`;
  await createList(store(), newListInput(id, { provider: "tests" }));
  const hashes = Array.from({ length: n }, randomHex);
  const res = await publishDelta(
    store(),
    id,
    hashes.map((hex) => ({ op: "add" as const, hash: { algo: "pdq" as const, hex } })),
    { actor: "test", keys: await testKeys(), stage: (l) => (l.pdqEntries ?? 0) >= 100 },
  );
  expect(res).toMatchObject({ version: 1, base: 0, staged: true });
  return { id, hashes };
}

async function gateSees(id: string, hex: string) {
  forgetManifest(env.HASHES);
  const list = findList(await loadManifest(env.HASHES), id);
  if (list.version === 0) return { version: 0, hit: null };
  const pdq = { hash: hex, quality: 100, dihedral: [hex] };
  const hits = await matchPdq(env.HASHES, [list], pdq, testKeys, undefined, routing);
  return { version: list.version, hit: hits[0] ?? null };
}

const withThreshold = (over: Partial<Env> = {}) =>
  ({ ...env, PDQ_SHARD_THRESHOLD: "100", ...over }) as unknown as Env;

describe("a staged shard-sized PDQ version", () => {
  it("is not seen by queries until the scheduled run built its objects and switched the manifest", async () => {
    const { id, hashes } = await stagedList();
    expect(await gateSees(id, hashes[3]!)).toEqual({ version: 0, hit: null });
    expect(await readStaged(store(), id)).toMatchObject({ version: 1, kind: "publish" });
    expect(await held({ id, version: 1 }, 0)).toBeNull();

    // The Worker's own scheduled handler (the cron in wrangler.toml) does the switch.
    const writes: { manifestAt?: number } = {};
    const ctx = createExecutionContext();
    worker.scheduled(createScheduledController(), withThreshold({ HASHES: watchedKv(writes) }), ctx);
    await waitOnExecutionContext(ctx);
    expect(findList(await readManifest(store()), id).version).toBe(1);
    expect(await readStaged(store(), id)).toBeNull();
    const stats = await held({ id, version: 1 }, 0);
    expect(stats).toMatchObject({ version: 1, entries: 120, builds: 1 });
    expect(Date.parse(stats!.builtAt)).toBeLessThanOrEqual(writes.manifestAt!);

    const seen = await gateSees(id, hashes[3]!);
    expect(seen.version).toBe(1);
    expect(seen.hit).toMatchObject({ distance: 0 });
    expect(await held({ id, version: 1 }, 0)).toMatchObject({ builds: 1 });
  });

  it("a failing object build leaves the manifest and the marker; the next run switches", async () => {
    const { id } = await stagedList();
    const failing = failingShards();
    const run = await switchStagedVersions(withThreshold({ PDQ_SHARDS: failing }));
    expect(run.waiting.map((w) => w.id)).toContain(id);
    expect(findList(await readManifest(store()), id).version).toBe(0);
    expect(await readStaged(store(), id)).toMatchObject({ version: 1 });

    // Visible to the operator as a version waiting.
    const status = await call("GET", "/status");
    const body = (await status.json()) as { pdq: { staged: { id: string; version: number }[] } };
    expect(body.pdq.staged).toContainEqual(expect.objectContaining({ id, version: 1 }));

    // No other publish meanwhile: it would build the same version number.
    await expect(
      publishDelta(store(), id, [{ op: "add", hash: { algo: "pdq", hex: randomHex() } }], {
        actor: "test",
        keys: await testKeys(),
      }),
    ).rejects.toThrow(/staged/);

    await switchStagedVersions(withThreshold());
    expect(findList(await readManifest(store()), id).version).toBe(1);
  });
});

describe("two switchers at once (the scheduled run and a POST)", () => {
  it("the one that finishes second finds the version switched: no conflict, marker gone", async () => {
    const { id } = await stagedList();
    // While this switcher's build runs, another switcher completes the switch.
    const list = await switchStaged(switchStore(env.HASHES), id, async () => {
      expect((await switchStagedList(withThreshold(), id))?.version).toBe(1);
    });
    expect(list).toMatchObject({ version: 1, latest: 1 });
    expect(await readStaged(store(), id)).toBeNull();
    expect(await held({ id, version: 1 }, 0)).toMatchObject({ builds: 1 });
  });
});

describe("a rollback to a shard-sized version", () => {
  it("is staged the same way: the manifest names it only after the switch", async () => {
    const { id, hashes } = await stagedList();
    await switchStagedVersions(withThreshold());
    const stage = (l: { pdqEntries?: number }) => (l.pdqEntries ?? 0) >= 100;
    const ops = hashes
      .slice(0, 30)
      .map((hex) => ({ op: "remove" as const, hash: { algo: "pdq" as const, hex } }));
    const v2 = await publishDelta(store(), id, ops, { actor: "test", keys: await testKeys(), stage });
    expect(v2).toMatchObject({ version: 2, pdqEntries: 90 });
    expect(v2.staged).toBeUndefined();

    const back = await rollbackList(store(), id, "test", new Date(), 1, stage);
    expect(back).toMatchObject({ version: 1, staged: true });
    expect(findList(await readManifest(store()), id)).toMatchObject({ version: 2, pdqEntries: 90 });
    expect((await gateSees(id, hashes[0]!)).hit).toBeNull();

    await switchStagedVersions(withThreshold());
    expect(findList(await readManifest(store()), id)).toMatchObject({
      version: 1,
      latest: 2,
      pdqEntries: 120,
    });
    expect((await gateSees(id, hashes[0]!)).hit).toMatchObject({ distance: 0 });
  });
});

function call(method: string, path: string, token: string | null = TOKEN) {
  return app.request(
    `/admin${path}`,
    { method, headers: token ? { authorization: `Bearer ${token}` } : {} },
    withThreshold({ ADMIN_TOKEN: `alice=${TOKEN}` }),
  );
}

describe("POST /admin/lists/:id/switch", () => {
  it("needs the admin token, answers 404 without a staged version, and switches one at once", async () => {
    const { id, hashes } = await stagedList();
    expect((await call("POST", `/lists/${id}/switch`, null)).status).toBe(401);
    expect((await call("POST", `/lists/${id}/switch`, "wrong-token-0123456789abcdefgh")).status).toBe(401);
    expect(findList(await readManifest(store()), id).version).toBe(0);

    const res = await call("POST", `/lists/${id}/switch`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ list: { id, version: 1, status: "active" } });
    expect(await held({ id, version: 1 }, 0)).toMatchObject({ builds: 1 });
    expect((await gateSees(id, hashes[0]!)).hit).toMatchObject({ distance: 0 });

    const again = await call("POST", `/lists/${id}/switch`);
    expect(again.status).toBe(404);
    expect(((await again.json()) as { message: string }).message).toMatch(/no staged version/);
  });
});
