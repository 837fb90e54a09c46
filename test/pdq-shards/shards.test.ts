/**
 * The sharded PDQ index on Durable Objects (Miniflare runs them locally): the same answers as
 * the in-isolate index, versions kept apart during a switch, and failing or slow shards turned
 * into the gate's FAIL_MODE. Test data: random 256-bit values and a benign fixture photo's
 * hash, not real hash lists.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { Env } from "../../src/env.ts";
import { gateRequest } from "../../src/gate/gate.ts";
import { tagInput } from "../../src/lists/keyring.ts";
import { forgetManifest, type ListManifest, type ListMeta, MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { recordKey } from "../../src/lists/membership.ts";
import { matchPdq } from "../../src/match/pdq.ts";
import {
  type PdqShardRouting,
  pdqSearchFigures,
  pdqShardRouting,
  queryShards,
} from "../../src/match/pdq-remote.ts";
import { bytesToHex, hexToBytes } from "../../src/pdq/core.ts";
import { encodeShard } from "../../src/pdq/shard.ts";
import {
  type PdqShardQuery,
  type PdqShardRpc,
  pdqShardList,
  shardObjectName,
} from "../../src/pdq-shards/protocol.ts";
import { testCtx, testEnv } from "../helpers/faults.ts";
import { fixtureBytes, fixtureText } from "../helpers/fixtures.ts";
import { testKeys, testList } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";
import { rng } from "../helpers/random.ts";

const realShards = (env as unknown as Env).PDQ_SHARDS!;

function randomHex(r: () => number): string {
  return bytesToHex(Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256)));
}

/** `hex` with exactly `bits` distinct bits flipped. */
function flip(hex: string, bits: number, r: () => number): string {
  const b = Uint8Array.from(hex.match(/../g)!.map((x) => Number.parseInt(x, 16)));
  const picked = new Set<number>();
  while (picked.size < bits) picked.add(Math.floor(r() * 256));
  for (const i of picked) b[i >> 3]! ^= 1 << (i & 7);
  return bytesToHex(b);
}

/**
 * Stores a list version of `hashes` as `perShard`-entry shards, with membership records for the
 * `recorded` entries (the planted ones: one KV write each is slow locally); returns its manifest entry.
 */
async function storeVersion(
  id: string,
  version: number,
  hashes: string[],
  perShard: number,
  recorded: number[],
): Promise<ListMeta> {
  const key = (await testKeys()).current;
  const shards = Math.ceil(hashes.length / perShard);
  for (let s = 0; s < shards; s++) {
    const part = hashes
      .slice(s * perShard, (s + 1) * perShard)
      .map((hash, i) => ({ hash, id: s * perShard + i }));
    const sk = `lists/${id}/v/${version}/pdq/${s}`;
    await env.HASHES.put(sk, await key.sealBlob(id, version, encodeShard(part), sk));
  }
  for (const i of recorded) {
    const rk = recordKey(id, key.id, await key.tag(tagInput("pdq", hashes[i]!)));
    const x = await key.sealText(JSON.stringify({ id: `e${i}` }), rk);
    await env.HASHES.put(rk, JSON.stringify({ a: version, x }));
  }
  return testList(id, {
    algorithms: ["md5"],
    version,
    pdqShards: shards,
    pdqEntries: hashes.length,
    keyId: key.id,
  });
}

/** A namespace whose stubs pass through `fault` before reaching the real shard objects. */
function faultyShards(
  fault: (call: "query" | "load", shard: number) => Promise<void>,
  hints: unknown[] = [],
) {
  return {
    idFromName: (name: string) => realShards.idFromName(name),
    get(id: DurableObjectId, opts?: unknown) {
      hints.push(opts);
      const stub = realShards.get(id) as unknown as PdqShardRpc;
      return {
        query: async (q: Parameters<PdqShardRpc["query"]>[0]) => {
          await fault("query", q.shard);
          return stub.query(q);
        },
        load: async (list: ListMeta, shard: number) => {
          await fault("load", shard);
          return stub.load(list, shard);
        },
      };
    },
  } as unknown as NonNullable<Env["PDQ_SHARDS"]>;
}

function routing(over: Partial<PdqShardRouting> = {}): PdqShardRouting {
  return { namespace: realShards, threshold: 0, queryTimeoutMs: 5000, loadTimeoutMs: 30000, ...over };
}

const r = rng(15);
const query = Array.from({ length: 8 }, () => randomHex(r));
const pdq = { hash: query[0]!, quality: 100, dihedral: query };

describe("PDQ shard objects", () => {
  it("give the in-isolate index's hits, across shards, at every planted distance", async () => {
    const hashes = Array.from({ length: 1200 }, () => randomHex(r));
    // Near-matches of different dihedral hashes in different shards; the best is in shard 2.
    hashes[100] = flip(query[3]!, 29, r);
    hashes[500] = flip(query[5]!, 12, r);
    hashes[1100] = flip(query[1]!, 4, r);
    const list = await storeVersion("shard-eq", 1, hashes, 400, [100, 500, 1100]);
    expect(list.pdqShards).toBe(3);
    for (const [threshold, entry] of [
      [31, "e1100"],
      [11, "e1100"],
      [3, null],
    ] as const) {
      const meta = { ...list, pdqThreshold: threshold };
      const local = await matchPdq(env.HASHES, [meta], pdq, testKeys, undefined, null);
      const remote = await matchPdq(env.HASHES, [meta], pdq, testKeys, undefined, routing());
      expect(remote).toEqual(local);
      expect(remote[0]?.entryId ?? null).toBe(entry);
    }
    // Ties go to the lower entry position, as in the isolate: equal distance in shards 0 and 1.
    const tie = [...hashes];
    tie[1100] = randomHex(r);
    tie[100] = flip(query[2]!, 7, r);
    tie[500] = flip(query[0]!, 7, r);
    const tied = await storeVersion("shard-tie", 1, tie, 400, [100, 500]);
    const remote = await matchPdq(env.HASHES, [tied], pdq, testKeys, undefined, routing());
    expect(remote).toEqual(await matchPdq(env.HASHES, [tied], pdq, testKeys, undefined, null));
    expect(remote[0]).toMatchObject({ entryId: "e100", distance: 7 });
  });

  it("keep each query on its own version while a new version is published", async () => {
    const v1 = Array.from({ length: 900 }, () => randomHex(r));
    const v2 = Array.from({ length: 900 }, () => randomHex(r));
    v1[10] = flip(query[0]!, 5, r);
    v2[800] = flip(query[0]!, 9, r);
    const m1 = await storeVersion("shard-ver", 1, v1, 400, [10]);
    let m2: Promise<ListMeta> | undefined;
    const results = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        // Half-way through, version 2 is stored and named; queries naming version 1 keep it.
        if (i >= 6) m2 ??= storeVersion("shard-ver", 2, v2, 400, [800]);
        const meta = i < 6 ? m1 : await m2!;
        return {
          version: meta.version,
          hit: (await matchPdq(env.HASHES, [meta], pdq, testKeys, undefined, routing()))[0],
        };
      }),
    );
    for (const { version, hit } of results) {
      expect(hit).toMatchObject(
        version === 1 ? { distance: 5, entryId: "e10" } : { distance: 9, entryId: "e800" },
      );
    }
  });

  it("fail the whole search when one shard fails or misses its deadline (never a partial answer)", async () => {
    const hashes = Array.from({ length: 600 }, () => randomHex(r));
    hashes[5] = flip(query[0]!, 3, r);
    const list = await storeVersion("shard-fault", 1, hashes, 200, [5]);
    const failing = faultyShards(async (_call, shard) => {
      if (shard === 2) throw new Error("shard object overloaded");
    });
    await expect(
      matchPdq(env.HASHES, [list], pdq, testKeys, undefined, routing({ namespace: failing })),
    ).rejects.toMatchObject({
      name: "ScanInfrastructureError",
    });
    const slow = faultyShards((_call, shard) => new Promise((ok) => setTimeout(ok, shard === 1 ? 2000 : 0)));
    await expect(
      matchPdq(
        env.HASHES,
        [list],
        pdq,
        testKeys,
        undefined,
        routing({ namespace: slow, queryTimeoutMs: 200 }),
      ),
    ).rejects.toMatchObject({ name: "ScanInfrastructureError" });
  });

  it("are reached through one stub each per request, new ones after a failure", async () => {
    const hashes = Array.from({ length: 300 }, () => randomHex(r));
    hashes[120] = flip(query[4]!, 8, r);
    const list = await storeVersion("shard-stubs", 1, hashes, 100, []);
    let stubs = 0;
    let reset = false;
    const counting = {
      idFromName: (name: string) => realShards.idFromName(name),
      get(id: DurableObjectId) {
        stubs++;
        const stub = realShards.get(id) as unknown as PdqShardRpc;
        return {
          query: async (q: PdqShardQuery) => {
            if (reset) throw new Error("Durable Object reset");
            return stub.query(q);
          },
        };
      },
    } as unknown as NonNullable<Env["PDQ_SHARDS"]>;
    // One routing per request, as the gate makes it: an animation's frames ask several times.
    const request = routing({ namespace: counting });
    for (let frame = 0; frame < 3; frame++) {
      expect(await queryShards(request, list, query)).toMatchObject({ id: 120, distance: 8 });
    }
    expect(stubs).toBe(3);
    reset = true;
    await expect(queryShards(request, list, query)).rejects.toMatchObject({
      name: "ScanInfrastructureError",
    });
    reset = false;
    expect(await queryShards(request, list, query)).toMatchObject({ id: 120 });
    expect(stubs).toBe(6);
    // The next request makes its own.
    await queryShards(routing({ namespace: counting }), list, query);
    expect(stubs).toBe(9);
  });

  it("health figures say where each list is searched", () => {
    const big = testList("big", { pdqShards: 15, pdqEntries: 10_000_000 });
    const small = testList("small", { pdqShards: 1, pdqEntries: 40_000 });
    const exactOnly = testList("exact-only");
    const env2 = { PDQ_SHARDS: realShards, PDQ_SHARD_LOCATION: "enam" };
    expect(pdqSearchFigures(env2, [big, small, exactOnly])).toEqual({
      shardThreshold: 1_000_000,
      locationHint: "enam",
      lists: [
        { id: "big", version: 1, entries: 10_000_000, searchedIn: "shard-objects", objects: 15 },
        { id: "small", version: 1, entries: 40_000, searchedIn: "isolate" },
      ],
    });
    // Without the binding every list stays in the isolate, whatever its size.
    expect(pdqSearchFigures({}, [big])).toMatchObject({ lists: [{ searchedIn: "isolate" }] });
    expect(pdqSearchFigures({ ...env2, PDQ_SHARD_LOCATION: "moon" }, [big])).toHaveProperty("error");
  });

  it("settings: threshold, location hint, bad values refused", () => {
    expect(pdqShardRouting({}, 1, 2)).toBeNull();
    expect(pdqShardRouting({ PDQ_SHARDS: realShards }, 1, 2)).toMatchObject({ threshold: 1_000_000 });
    expect(
      pdqShardRouting({ PDQ_SHARDS: realShards, PDQ_SHARD_THRESHOLD: "5", PDQ_SHARD_LOCATION: "weur" }, 1, 2),
    ).toMatchObject({ threshold: 5, locationHint: "weur" });
    expect(() => pdqShardRouting({ PDQ_SHARDS: realShards, PDQ_SHARD_LOCATION: "mars" }, 1, 2)).toThrow(
      /PDQ_SHARD_LOCATION/,
    );
    expect(() => pdqShardRouting({ PDQ_SHARDS: realShards, PDQ_SHARD_THRESHOLD: "1e9x" }, 1, 2)).toThrow(
      /PDQ_SHARD_THRESHOLD/,
    );
  });
});

describe("the query an object gets", () => {
  const bytes = (hexes: string[]) => Uint8Array.from(hexes.flatMap((h) => [...hexToBytes(h)]));
  const objectOf = (list: ListMeta, shard: number) =>
    realShards.get(realShards.idFromName(shardObjectName(list, shard))) as unknown as PdqShardRpc;

  it("is the version's identity and the hashes as bytes, not the manifest entry", async () => {
    const hashes = Array.from({ length: 400 }, () => randomHex(r));
    hashes[250] = flip(query[6]!, 2, r);
    const list = await storeVersion("shard-wire", 1, hashes, 200, [250]);
    const seen: PdqShardQuery[] = [];
    const spying = {
      idFromName: (name: string) => realShards.idFromName(name),
      get(id: DurableObjectId) {
        const stub = realShards.get(id) as unknown as PdqShardRpc;
        return {
          query: (q: PdqShardQuery) => {
            seen.push(q);
            return stub.query(q);
          },
        };
      },
    } as unknown as NonNullable<Env["PDQ_SHARDS"]>;
    const hits = await matchPdq(env.HASHES, [list], pdq, testKeys, undefined, routing({ namespace: spying }));
    expect(hits[0]).toMatchObject({ entryId: "e250", distance: 2 });
    expect(seen.map((q) => q.shard)).toEqual([0, 1]);
    for (const q of seen) {
      expect(q.list).toEqual({ id: list.id, version: 1, pdqShards: 2, keyId: list.keyId });
      expect(q.hashes).toEqual(bytes(query));
      expect(q.threshold).toBe(list.pdqThreshold);
    }
  });

  it("is refused unless its hashes are 1 to 8 × 32 bytes in one Uint8Array (nothing loaded)", async () => {
    const list = await storeVersion("shard-bad-query", 1, [randomHex(r)], 10, []);
    const object = objectOf(list, 0);
    const ask = async (hashes: unknown) =>
      await object.query({ list: pdqShardList(list), shard: 0, hashes: hashes as Uint8Array, threshold: 31 });
    const sparse: string[] = [];
    sparse[1] = query[0]!;
    for (const bad of [
      [],
      new Array(8),
      sparse,
      [query[0]!.slice(1)],
      [`${query[0]!.slice(1)}g`],
      [...query, query[0]!],
      new Uint8Array(0),
      new Uint8Array(31),
      new Uint8Array(9 * 32),
      bytes(query).buffer,
    ]) {
      await expect(ask(bad)).rejects.toThrow(/1 to 8 hashes of 32 bytes/);
    }
    // Through an async function, as ask() does: an RPC promise given to expect() directly is
    // reported as unhandled.
    const askAt = async (threshold: number) =>
      await object.query({ list: pdqShardList(list), shard: 0, hashes: bytes(query), threshold });
    for (const threshold of [-1, 257, 1.5, Number.NaN]) {
      await expect(askAt(threshold)).rejects.toThrow(/threshold/);
    }
    expect(await object.held()).toBeNull();
    await expect(ask(bytes([query[0]!]))).resolves.toBeNull();
  });

  it("still answers the previous release's form (hex strings) the same, for a gate mid-deploy", async () => {
    const hashes = Array.from({ length: 300 }, () => randomHex(r));
    hashes[120] = flip(query[3]!, 5, r);
    const list = await storeVersion("shard-old-form", 1, hashes, 300, [120]);
    const object = objectOf(list, 0);
    const ask = (h: unknown) =>
      object.query({ list: pdqShardList(list), shard: 0, hashes: h as Uint8Array, threshold: 31 });
    const asBytes = await ask(bytes(query));
    expect(asBytes).toMatchObject({ index: 120, distance: 5, dihedral: 3 });
    expect(await ask(query)).toEqual(asBytes);
  });

  it("is refused for a shard number the version does not have", async () => {
    const list = await storeVersion("shard-range", 1, [randomHex(r), randomHex(r)], 1, []);
    for (const shard of [2, -1, 0.5, Number.NaN]) {
      // Awaited inside an async function: a rejected RPC promise handed to expect() directly is
      // reported by the test pool as unhandled.
      await expect(
        (async () =>
          await objectOf(list, 0).query({
            list: pdqShardList(list),
            shard,
            hashes: bytes(query),
            threshold: 31,
          }))(),
      ).rejects.toThrow(/is not a shard of shard-range@1/);
    }
  });

  it("is answered from exactly the version it names, whatever the object held before", async () => {
    const v1 = Array.from({ length: 50 }, () => randomHex(r));
    const v2 = [...v1];
    v1[7] = flip(query[0]!, 3, r);
    v2[9] = flip(query[0]!, 6, r);
    const m1 = await storeVersion("shard-exact", 1, v1, 50, []);
    const m2 = await storeVersion("shard-exact", 2, v2, 50, []);
    // One object asked about both versions in turn (a gate never does this: names carry the version).
    const object = objectOf(m1, 0);
    for (const [meta, id, distance] of [
      [m1, 7, 3],
      [m2, 9, 6],
      [m1, 7, 3],
    ] as const) {
      const hit = await object.query({
        list: pdqShardList(meta),
        shard: 0,
        hashes: bytes(query),
        threshold: 31,
      });
      expect(hit).toMatchObject({ id, distance });
      expect(await object.held()).toMatchObject({ version: meta.version });
    }
  });
});

describe("the gate on a sharded list", () => {
  let listed = "";
  let flipped: Uint8Array;

  beforeAll(async () => {
    const tsv = (await fixtureText("pdq/manifest_ext.tsv"))
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    listed = tsv.find((row) => row[0] === "images/reg-test-input/dih/bridge-1-original.jpg")![
      tsv[0]!.indexOf("fullres_hex")
    ]!;
    flipped = await fixtureBytes("pdq/images/reg-test-input/dih/bridge-5-flipx.jpg");
    const hashes = Array.from({ length: 900 }, () => randomHex(r));
    hashes[700] = listed;
    const meta = await storeVersion("shard-gate", 3, hashes, 400, [700]);
    const manifest: ListManifest = { revision: 9, updatedAt: new Date().toISOString(), lists: [meta] };
    await env.HASHES.put(MANIFEST_KEY, JSON.stringify(manifest));
    forgetManifest(env.HASHES);
  }, 60_000);

  async function upload(over: Partial<Env>) {
    const { body, contentType } = buildMultipart([
      { field: "photo", filename: "a.jpg", contentType: "image/jpeg", data: flipped },
    ]);
    const p = uniquePrefix();
    const { ctx, settle } = testCtx();
    const req = new Request(`https://g.test${p}`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    });
    const res = await gateRequest(req, testEnv({ PDQ_SHARD_THRESHOLD: "900", ...over }), ctx);
    await settle();
    return { res, origin: await receivedAt(p) };
  }

  it("blocks a mirrored copy through the shard objects placed by the location hint", async () => {
    const hints: unknown[] = [];
    const counting = faultyShards(async () => undefined, hints);
    const { res, origin } = await upload({ PDQ_SHARDS: counting, PDQ_SHARD_LOCATION: "enam" });
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    expect(hints.length).toBeGreaterThanOrEqual(3);
    expect(hints.every((h) => (h as { locationHint?: string }).locationHint === "enam")).toBe(true);
  });

  it("below the threshold the isolate's own index answers (no shard object is asked)", async () => {
    const hints: unknown[] = [];
    const { res } = await upload({
      PDQ_SHARDS: faultyShards(async () => undefined, hints),
      PDQ_SHARD_THRESHOLD: "901",
    });
    expect(res.status).toBe(451);
    expect(hints).toHaveLength(0);
  });

  it("a failing shard follows FAIL_MODE: closed refuses, open forwards", async () => {
    const broken = faultyShards(async () => {
      throw new Error("shard down");
    });
    const closed = await upload({ PDQ_SHARDS: broken, FAIL_MODE: "closed" });
    expect(closed.res.status).toBe(503);
    expect(closed.origin).toHaveLength(0);
    const open = await upload({ PDQ_SHARDS: broken, FAIL_MODE: "open" });
    expect(open.res.status).toBe(201); // the test origin answers 201: forwarded
    expect(open.origin).toHaveLength(1);
  });
});
