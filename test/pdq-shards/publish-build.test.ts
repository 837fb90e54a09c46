/**
 * A publish through the admin API has the new version's PDQ shard objects build their indexes
 * before the manifest names the version, so the first query after the switch pays no build; a
 * shard object that cannot build stops the publish with the manifest unchanged. Test data:
 * random 256-bit values, not real hash lists; tokens are test strings.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { findList, readManifest } from "../../src/lists/layout.ts";
import { KvListStore } from "../../src/lists/store.ts";
import { matchPdq } from "../../src/match/pdq.ts";
import type { PdqShardRouting } from "../../src/match/pdq-remote.ts";
import { newListInput, testKeys } from "../helpers/lists.ts";
import { rng } from "../helpers/random.ts";
import { app, failingShards, held, randomHexFrom, realShards, TOKEN, watchedKv } from "./shard-objects.ts";

const r = rng(41);
const randomHex = randomHexFrom(r);

function call(path: string, json: unknown, over: Partial<Env> = {}) {
  return app.request(
    `/admin${path}`,
    {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(json),
    },
    { ...env, ADMIN_TOKEN: `alice=${TOKEN}`, ...over },
  );
}

async function createdList(): Promise<string> {
  const id = `pub-shards-${Date.now().toString(36)}-${Math.floor(r() * 1e6)}`;
  const res = await call("/lists", newListInput(id, { provider: "tests" }));
  expect(res.status).toBe(201);
  return id;
}

describe("publishing a list searched on shard objects", () => {
  it("builds every shard object's index before the manifest names the version", async () => {
    const id = await createdList();
    const hashes = Array.from({ length: 120 }, randomHex);
    const writes: { manifestAt?: number } = {};
    const res = await call(
      `/lists/${id}/delta`,
      { ops: hashes.map((hex) => ({ op: "add", algo: "pdq", hex })) },
      { HASHES: watchedKv(writes), PDQ_SHARD_THRESHOLD: "100" },
    );
    expect(res.status).toBe(200);
    const list = findList(await readManifest(new KvListStore(env.HASHES)), id);
    expect(list).toMatchObject({ version: 1, pdqEntries: 120, pdqShards: 1 });
    // Before any query: the object already holds this version's index, built before the switch.
    const stats = await held(list, 0);
    expect(stats).toMatchObject({ list: id, version: 1, shard: 0, entries: 120, builds: 1 });
    expect(Date.parse(stats!.builtAt)).toBeLessThanOrEqual(writes.manifestAt!);
    // The first query finds it built: no second build.
    const routing: PdqShardRouting = {
      namespace: realShards,
      threshold: 100,
      queryTimeoutMs: 5000,
      loadTimeoutMs: 30000,
    };
    const pdq = { hash: hashes[7]!, quality: 100, dihedral: [hashes[7]!] };
    const hit = await matchPdq(env.HASHES, [list], pdq, testKeys, undefined, routing);
    expect(hit[0]).toMatchObject({ distance: 0 });
    expect(await held(list, 0)).toMatchObject({ version: 1, builds: 1 });
  });

  it("below the threshold no shard object is asked", async () => {
    const id = await createdList();
    const res = await call(
      `/lists/${id}/delta`,
      { ops: Array.from({ length: 20 }, () => ({ op: "add", algo: "pdq", hex: randomHex() })) },
      { PDQ_SHARD_THRESHOLD: "100" },
    );
    expect(res.status).toBe(200);
    expect(await held({ id, version: 1 }, 0)).toBeNull();
  });

  it("a shard object that cannot build stops the publish: the manifest keeps the old version", async () => {
    const id = await createdList();
    const failing = failingShards();
    const res = await call(
      `/lists/${id}/delta`,
      { ops: Array.from({ length: 120 }, () => ({ op: "add", algo: "pdq", hex: randomHex() })) },
      { PDQ_SHARDS: failing, PDQ_SHARD_THRESHOLD: "100" },
    );
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: "scan_unavailable" });
    expect(findList(await readManifest(new KvListStore(env.HASHES)), id).version).toBe(0);
  });
});
