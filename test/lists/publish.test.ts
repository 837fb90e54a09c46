/**
 * Publishing deltas into the KV binding and matching against them. Every digest here is TEST
 * DATA: random hex, not from any real list.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createList, rollbackList, setEnabled } from "../../src/lists/govern.ts";
import { tagInput } from "../../src/lists/keyring.ts";
import { readHistory, readManifest } from "../../src/lists/layout.ts";
import { activeLists, type ListMeta } from "../../src/lists/manifest.ts";
import { tagKeyPair } from "../../src/lists/membership.ts";
import type { ListOp } from "../../src/lists/ops.ts";
import { Prefilter } from "../../src/lists/prefilter.ts";
import { publishDelta, VersionBuilder } from "../../src/lists/publish.ts";
import { KvListStore } from "../../src/lists/store.ts";
import { matchDigests } from "../../src/match/exact.ts";
import { newListInput, testKeys } from "../helpers/lists.ts";
import { randomHex } from "./helpers.ts";

const store = () => new KvListStore(env.HASHES);
const add = (hex: string, algo: "md5" | "sha1" | "sha256" | "pdq" = "md5"): ListOp => ({
  op: "add",
  hash: { algo, hex },
});
const remove = (hex: string, algo: "md5" | "sha1" = "md5"): ListOp => ({ op: "remove", hash: { algo, hex } });
let seq = 0;

async function newList(over: Record<string, unknown> = {}): Promise<string> {
  const id = `t${Date.now().toString(36)}-${seq++}`;
  await createList(store(), newListInput(id, over));
  return id;
}

async function meta(id: string): Promise<ListMeta> {
  return (await readManifest(store())).lists.find((l) => l.id === id)!;
}

/** Counts KV reads, to see whether the prefilter spared them. */
function countingKv(): { kv: KVNamespace; reads: () => number } {
  let reads = 0;
  const kv = {
    get: (...args: unknown[]) => {
      reads++;
      return (env.HASHES.get as (...a: unknown[]) => unknown)(...args);
    },
  } as unknown as KVNamespace;
  return { kv, reads: () => reads };
}

async function hits(id: string, md5: string, kv: KVNamespace = env.HASHES): Promise<number> {
  return (await matchDigests(kv, [await meta(id)], { md5 }, testKeys)).length;
}

describe("publishing deltas", () => {
  it("publishes version 1 with a prefilter, and matches only its entries", { timeout: 30_000 }, async () => {
    const id = await newList();
    const inList = Array.from({ length: 300 }, (_, i) => randomHex(32, 1000 + i));
    const r = await publishDelta(
      store(),
      id,
      inList.map((h) => add(h)),
      { actor: "test", keys: await testKeys() },
    );
    expect(r).toMatchObject({ version: 1, base: 0, added: 300, removed: 0, exactEntries: 300 });
    const m = await meta(id);
    expect(m).toMatchObject({ version: 1, algorithms: ["md5"], prefilterShards: 1, keyShards: 1 });
    expect(await hits(id, inList[7]!)).toBe(1);
    expect(await hits(id, randomHex(32, 1))).toBe(0);
    const [hit] = await matchDigests(env.HASHES, [m], { md5: inList[0]!, sha1: randomHex(40, 5) }, testKeys);
    expect(hit).toMatchObject({ listId: id, kind: "exact", algo: "md5", action: "block" });
  });

  it("removes, re-adds, and keeps other lists' entries in shared records", async () => {
    const [a, b] = [await newList(), await newList({ action: "flag" })];
    const [x, y] = [randomHex(32, 2001), randomHex(32, 2002)];
    await publishDelta(store(), a, [add(x), add(y)], { actor: "test", keys: await testKeys() });
    await publishDelta(store(), b, [add(x)], { actor: "test", keys: await testKeys() });
    const r2 = await publishDelta(store(), a, [remove(x), remove(randomHex(32, 2003))], {
      actor: "test",
      keys: await testKeys(),
    });
    expect(r2).toMatchObject({ version: 2, removed: 1, exactEntries: 1 });
    expect(await hits(a, x)).toBe(0);
    expect(await hits(b, x)).toBe(1);
    const r3 = await publishDelta(store(), a, [add(x)], { actor: "test", keys: await testKeys() });
    expect(r3).toMatchObject({ version: 3, added: 1, exactEntries: 2 });
    const both = await matchDigests(env.HASHES, [await meta(a), await meta(b)], { md5: x }, testKeys);
    expect(both.map((h) => [h.listId, h.action]).sort()).toEqual([
      [a, "block"],
      [b, "flag"],
    ]);
  });

  it("applies ops in order within one delta", async () => {
    const id = await newList();
    const [x, y] = [randomHex(32, 3001), randomHex(32, 3002)];
    await publishDelta(store(), id, [add(x), remove(x), remove(y), add(y)], {
      actor: "test",
      keys: await testKeys(),
    });
    expect(await hits(id, x)).toBe(0);
    expect(await hits(id, y)).toBe(1);
    expect((await meta(id)).exactEntries).toBe(1);
  });

  it("replaces an entry id's digests and removes them on a tombstone", async () => {
    const id = await newList();
    const [m1, m2, s1] = [randomHex(32, 4001), randomHex(32, 4002), randomHex(40, 4003)];
    const entry = (hashes: { algo: "md5" | "sha1"; hex: string }[]): ListOp => ({
      op: "entry",
      id: "E1",
      hashes,
      category: "A1",
    });
    await publishDelta(
      store(),
      id,
      [
        entry([
          { algo: "md5", hex: m1 },
          { algo: "sha1", hex: s1 },
        ]),
      ],
      { actor: "test", keys: await testKeys() },
    );
    let [hit] = await matchDigests(env.HASHES, [await meta(id)], { sha1: s1 }, testKeys);
    expect(hit).toMatchObject({ entryId: "E1", category: "A1" });
    await publishDelta(store(), id, [entry([{ algo: "md5", hex: m2 }])], {
      actor: "test",
      keys: await testKeys(),
    });
    expect(await hits(id, m1)).toBe(0);
    expect(await hits(id, m2)).toBe(1);
    expect(await matchDigests(env.HASHES, [await meta(id)], { sha1: s1 }, testKeys)).toEqual([]);
    await publishDelta(store(), id, [{ op: "remove-id", id: "E1" }], {
      actor: "test",
      keys: await testKeys(),
    });
    expect(await hits(id, m2)).toBe(0);
    [hit] = await matchDigests(env.HASHES, [await meta(id)], { md5: m2 }, testKeys);
    expect(hit).toBeUndefined();
  });

  it("a scan during a publish sees the old version until the manifest switches", async () => {
    const id = await newList();
    const [old, fresh] = [randomHex(32, 5001), randomHex(32, 5002)];
    await publishDelta(store(), id, [add(old)], { actor: "test", keys: await testKeys() });
    const before = await meta(id);
    const b = await VersionBuilder.begin(store(), id, { actor: "test", keys: await testKeys() });
    await b.apply([remove(old), add(fresh)]);
    // Entries of v2 are written, the manifest is not: a scan holding either manifest copy is consistent.
    const mid = await meta(id);
    expect(mid.version).toBe(1);
    expect(await matchDigests(env.HASHES, [mid], { md5: old }, testKeys)).toHaveLength(1);
    expect(await matchDigests(env.HASHES, [mid], { md5: fresh }, testKeys)).toHaveLength(0);
    await b.finish();
    const after = await meta(id);
    expect(after.version).toBe(2);
    expect(await matchDigests(env.HASHES, [after], { md5: old }, testKeys)).toHaveLength(0);
    expect(await matchDigests(env.HASHES, [after], { md5: fresh }, testKeys)).toHaveLength(1);
    // A scan still holding the old manifest copy keeps seeing exactly version 1.
    expect(await matchDigests(env.HASHES, [before], { md5: old }, testKeys)).toHaveLength(1);
    expect(await matchDigests(env.HASHES, [before], { md5: fresh }, testKeys)).toHaveLength(0);
  });

  it("rolls back several steps exactly, across entries removed and re-added", async () => {
    const id = await newList();
    const [x, y, z, w] = [7001, 7002, 7003, 7004].map((n) => randomHex(32, n)) as [
      string,
      string,
      string,
      string,
    ];
    const keys = await testKeys();
    await publishDelta(store(), id, [add(x), add(y)], { actor: "test", keys }); // v1: x y
    await publishDelta(store(), id, [remove(x), add(z)], { actor: "test", keys }); // v2: y z
    await publishDelta(store(), id, [add(x), remove(y)], { actor: "test", keys }); // v3: x z
    await publishDelta(store(), id, [remove(z), add(w)], { actor: "test", keys }); // v4: x w
    const expected: Record<number, string[]> = { 3: [x, z], 2: [y, z], 1: [x, y], 0: [] };
    // From v4 straight to v2, then on to v1 and v0: each time exactly that version's entries.
    for (const to of [2, 1, 0]) {
      const list = await rollbackList(store(), id, "test", new Date(), to);
      expect(list).toMatchObject({ version: to, latest: 4, exactEntries: expected[to]!.length });
      for (const d of [x, y, z, w])
        expect(await hits(id, d), `v${to} ${d}`).toBe(expected[to]!.includes(d) ? 1 : 0);
    }
    // v5 builds on v0: versions 1–4 are abandoned and cannot be returned to.
    await publishDelta(store(), id, [add(w)], { actor: "test", keys });
    expect((await meta(id)).abandoned).toEqual([1, 2, 3, 4]);
    for (const d of [x, y, z]) expect(await hits(id, d)).toBe(0);
    expect(await hits(id, w)).toBe(1);
    await expect(rollbackList(store(), id, "test", new Date(), 3)).rejects.toThrow(/superseded/);
  });

  it("refuses a rollback to a version whose data is no longer stored", async () => {
    const id = await newList();
    const keys = await testKeys();
    await publishDelta(store(), id, [add(randomHex(32, 7101))], { actor: "test", keys });
    await publishDelta(store(), id, [add(randomHex(32, 7102))], { actor: "test", keys });
    await publishDelta(store(), id, [add(randomHex(32, 7103))], { actor: "test", keys });
    await env.HASHES.delete(`lists/${id}/v/1/prefilter`);
    await expect(rollbackList(store(), id, "test", new Date(), 1)).rejects.toThrow(/no longer stored/);
    expect((await meta(id)).version).toBe(3);
    await expect(rollbackList(store(), id, "test", new Date(), 2)).resolves.toMatchObject({ version: 2 });
  });

  it("rolls back one step, then publishes on top of the rolled-back version", async () => {
    const id = await newList();
    const [x, y, z] = [randomHex(32, 6001), randomHex(32, 6002), randomHex(32, 6003)];
    await publishDelta(store(), id, [add(x), add(y)], { actor: "test", keys: await testKeys() });
    await publishDelta(store(), id, [remove(x), add(z)], { actor: "test", keys: await testKeys() });
    const rolled = await rollbackList(store(), id, "test");
    expect(rolled).toMatchObject({ version: 1, latest: 2, exactEntries: 2 });
    expect(await hits(id, x)).toBe(1);
    expect(await hits(id, z)).toBe(0);
    await expect(rollbackList(store(), id, "test", new Date(), 2)).rejects.toThrow(/earlier version/);
    // v3 builds on v1: v2's removal of x and addition of z are abandoned.
    const r3 = await publishDelta(store(), id, [add(randomHex(32, 6004))], {
      actor: "test",
      keys: await testKeys(),
    });
    expect(r3).toMatchObject({ version: 3, base: 1, exactEntries: 3 });
    const m = await meta(id);
    expect(m.abandoned).toEqual([2]);
    expect(await hits(id, x)).toBe(1);
    expect(await hits(id, y)).toBe(1);
    expect(await hits(id, z)).toBe(0);
    const history = await readHistory(store(), id);
    expect(history.map((h) => [h.kind, h.version, h.base])).toEqual([
      ["publish", 1, 0],
      ["publish", 2, 1],
      ["rollback", 1, 2],
      ["publish", 3, 1],
    ]);
  });

  it("a prefilter false positive reads KV and yields no hit; a miss reads nothing", async () => {
    const id = await newList();
    const members = Array.from({ length: 200 }, (_, i) => randomHex(32, 7000 + i));
    await publishDelta(
      store(),
      id,
      members.map((h) => add(h)),
      { actor: "test", keys: await testKeys() },
    );
    const m = await meta(id);
    const filter = Prefilter.parse(
      new Uint8Array((await env.HASHES.get(`lists/${id}/v/1/prefilter`, "arrayBuffer"))!),
    );
    let falsePositive = "";
    let miss = "";
    for (let i = 0; !falsePositive || !miss; i++) {
      const h = randomHex(32, 900_000 + i);
      const k = tagKeyPair(await (await testKeys()).current.tag(tagInput("md5", h)));
      if (filter.has(k[0], k[1])) falsePositive ||= h;
      else miss ||= h;
    }
    const c = countingKv();
    expect(await matchDigests(c.kv, [m], { md5: miss }, testKeys)).toEqual([]);
    const afterLoad = c.reads(); // the prefilter itself, once per isolate
    expect(await matchDigests(c.kv, [m], { md5: miss }, testKeys)).toEqual([]);
    expect(c.reads()).toBe(afterLoad);
    expect(await matchDigests(c.kv, [m], { md5: falsePositive }, testKeys)).toEqual([]);
    expect(c.reads()).toBe(afterLoad + 1);
    expect(await matchDigests(c.kv, [m], { md5: members[3]! }, testKeys)).toHaveLength(1);
  });

  it("a list without a prefilter still matches through KV", async () => {
    const id = await newList();
    const x = randomHex(32, 8001);
    await publishDelta(store(), id, [add(x)], { actor: "test", keys: await testKeys() });
    const m = { ...(await meta(id)), prefilterShards: 0 };
    expect(await matchDigests(env.HASHES, [m], { md5: x }, testKeys)).toHaveLength(1);
  });

  it("takes disabled and expired lists out of use", async () => {
    const id = await newList({ licensedUntil: "2026-01-31" });
    await publishDelta(store(), id, [add(randomHex(32, 9001))], { actor: "test", keys: await testKeys() });
    const manifest = await readManifest(store());
    expect(activeLists(manifest, new Date("2026-01-31T23:00:00Z")).map((l) => l.id)).toContain(id);
    expect(activeLists(manifest, new Date("2026-02-01T00:00:00Z")).map((l) => l.id)).not.toContain(id);
    await setEnabled(store(), id, false);
    expect(activeLists(await readManifest(store()), new Date("2026-01-01")).map((l) => l.id)).not.toContain(
      id,
    );
  });

  it("stores PDQ entries as shards and keeps them across versions", async () => {
    const id = await newList();
    const [p1, p2] = [randomHex(64, 10_001), randomHex(64, 10_002)];
    await publishDelta(store(), id, [add(p1, "pdq"), add(p2, "pdq"), add(randomHex(32, 10_003))], {
      actor: "test",
      keys: await testKeys(),
    });
    await publishDelta(store(), id, [{ op: "remove", hash: { algo: "pdq", hex: p1 } }], {
      actor: "test",
      keys: await testKeys(),
    });
    const m = await meta(id);
    expect(m).toMatchObject({ version: 2, pdqShards: 1, pdqEntries: 1, exactEntries: 1 });
    const sealed = new Uint8Array((await env.HASHES.get(`lists/${id}/v/2/pdq/0`, "arrayBuffer"))!);
    const shard = await (await testKeys()).current.openBlob(id, 2, sealed, `lists/${id}/v/2/pdq/0`);
    const { decodeShard } = await import("../../src/pdq/shard.ts");
    const { bytesToHex } = await import("../../src/pdq/core.ts");
    const decoded = decodeShard(shard);
    expect(bytesToHex(decoded.hashes)).toBe(p2);
    expect([...decoded.ids]).toEqual([0]);
  });
});
