/**
 * The list secret (its WebCrypto/node:crypto parity: test/node/list-key.node-test.ts): sealed values
 * fail authentication under another key or key name; `rekey` re-publishes a list under a new
 * secret; the gate fails closed on a shard it cannot authenticate or a key it does not hold.
 * Digests are TEST DATA (random hex, and the PDQ hash of a benign fixture photo).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { gateRequest } from "../../src/gate/gate.ts";
import { createList, setEnabled } from "../../src/lists/govern.ts";
import {
  deriveListKey,
  keyringFromSecrets,
  ListKey,
  ListKeyError,
  ListKeyring,
} from "../../src/lists/keyring.ts";
import { readManifest } from "../../src/lists/layout.ts";
import { forgetManifest, type ListMeta } from "../../src/lists/manifest.ts";
import type { ListOp } from "../../src/lists/ops.ts";
import { publishDelta, VersionBuilder } from "../../src/lists/publish.ts";
import { KvListStore } from "../../src/lists/store.ts";
import { matchDigests } from "../../src/match/exact.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { fixtureBytes, fixtureText } from "../helpers/fixtures.ts";
import { newListInput } from "../helpers/lists.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";
import { randomHex } from "./helpers.ts";

const SECRET_A = "keyring-test-secret-A-0123456789abcdefgh"; // TEST ONLY
const SECRET_B = "keyring-test-secret-B-0123456789abcdefgh"; // TEST ONLY
const web = (s: string) => keyringFromSecrets((d) => new ListKey(d), s);
const store = () => new KvListStore(env.HASHES);
const meta = async (id: string): Promise<ListMeta> =>
  (await readManifest(store())).lists.find((l) => l.id === id)!;
let seq = 0;

async function newList(): Promise<string> {
  const id = `k${Date.now().toString(36)}-${seq++}`;
  await createList(store(), newListInput(id));
  return id;
}

describe("list key derivation and sealing", () => {
  it("refuses sealed values under another key, key name, list or version, and short secrets", async () => {
    const a = (await web(SECRET_A)).current;
    const b = (await web(SECRET_B)).current;
    const text = await a.sealText("meta", "lists/x/e/1/ab");
    await expect(b.openText(text, "lists/x/e/1/ab")).rejects.toThrow(ListKeyError);
    await expect(a.openText(text, "lists/x/e/1/cd")).rejects.toThrow(/failed authentication/);
    const blob = await a.sealBlob("l", 3, new Uint8Array([1, 2, 3]), "lists/l/v/3/pdq/0");
    expect([...(await a.openBlob("l", 3, blob, "lists/l/v/3/pdq/0"))]).toEqual([1, 2, 3]);
    await expect(a.openBlob("l", 4, blob, "lists/l/v/3/pdq/0")).rejects.toThrow(ListKeyError);
    await expect(a.openBlob("m", 3, blob, "lists/l/v/3/pdq/0")).rejects.toThrow(ListKeyError);
    await expect(a.openBlob("l", 3, blob, "lists/l/v/3/pdq/1")).rejects.toThrow(ListKeyError);
    const flipped = blob.slice();
    flipped[flipped.length - 1]! ^= 1;
    await expect(a.openBlob("l", 3, flipped, "lists/l/v/3/pdq/0")).rejects.toThrow(ListKeyError);
    await expect(deriveListKey("short")).rejects.toThrow(/at least 32/);
    await expect(deriveListKey(undefined)).rejects.toThrow(ListKeyError);
  });
});

describe("rekey", () => {
  it("re-publishes a list under a new secret with its entry ids, categories and PDQ hashes", {
    timeout: 30_000,
  }, async () => {
    const id = await newList();
    const [m1, m2, s1, p1] = [randomHex(32, 11), randomHex(32, 12), randomHex(40, 13), randomHex(64, 14)];
    const ops: ListOp[] = [
      {
        op: "entry",
        id: "E-1",
        hashes: [
          { algo: "md5", hex: m1 },
          { algo: "sha1", hex: s1 },
        ],
        category: "A1",
      },
      { op: "add", hash: { algo: "md5", hex: m2 }, category: "B2" },
      { op: "add", hash: { algo: "pdq", hex: p1 } },
    ];
    const ringA = await web(SECRET_A);
    await publishDelta(store(), id, ops, { actor: "test", keys: ringA });
    const switching = new ListKeyring((await web(SECRET_B)).current, ringA.current);
    const b = await VersionBuilder.begin(store(), id, { actor: "test", keys: switching });
    expect(b.rekeying).toBe(true);
    const r = await b.finish();
    expect(r).toMatchObject({ version: 2, base: 1, exactEntries: 3, pdqEntries: 1 });
    const m = await meta(id);
    expect(m.keyId).toBe(switching.current.id);
    const onlyB = async () => web(SECRET_B);
    expect(await matchDigests(env.HASHES, [m], { sha1: s1 }, onlyB)).toEqual([
      { listId: id, kind: "exact", action: "block", algo: "sha1", category: "A1", entryId: "E-1" },
    ]);
    expect((await matchDigests(env.HASHES, [m], { md5: m2 }, onlyB))[0]).toMatchObject({ category: "B2" });
    // A gate holding only the old secret cannot read the new version: it fails, it does not miss.
    await expect(matchDigests(env.HASHES, [m], { md5: m2 }, async () => ringA)).rejects.toThrow(ListKeyError);
    // The entry-id index moved too: a tombstone under the new key removes both digests.
    await publishDelta(store(), id, [{ op: "remove-id", id: "E-1" }], { actor: "test", keys: await onlyB() });
    const v3 = await meta(id);
    expect(v3).toMatchObject({ version: 3, exactEntries: 1 });
    expect(await matchDigests(env.HASHES, [v3], { md5: m1, sha1: s1 }, onlyB)).toEqual([]);
    // Going back to a secret the list used before is refused (its old records would come back).
    const back = new ListKeyring(ringA.current, (await onlyB()).current);
    await expect(VersionBuilder.begin(store(), id, { actor: "test", keys: back })).rejects.toThrow(
      /used key/,
    );
  });

  it("without the old secret, a list cannot be re-keyed or extended", async () => {
    const id = await newList();
    await publishDelta(store(), id, [{ op: "add", hash: { algo: "md5", hex: randomHex(32, 21) } }], {
      actor: "test",
      keys: await web(SECRET_A),
    });
    await expect(publishDelta(store(), id, [], { actor: "test", keys: await web(SECRET_B) })).rejects.toThrow(
      /neither the current nor the previous/,
    );
  });
});

describe("the gate fails closed on what it cannot authenticate", () => {
  async function bridgeHash(): Promise<string> {
    const rows = (await fixtureText("pdq/manifest_ext.tsv"))
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    const row = rows.find((r) => r[0] === "images/reg-test-input/dih/bridge-1-original.jpg")!;
    return row[rows[0]!.indexOf("fullres_hex")]!;
  }

  async function upload(body: Uint8Array, contentType: string) {
    const { ctx, settle } = testCtx();
    const p = uniquePrefix();
    const req = new Request(`https://g.test${p}`, {
      method: "POST",
      headers: { "content-type": contentType },
      body,
    });
    const res = await gateRequest(req, testEnv({ MATCHES: new CapturingQueue() as never }), ctx);
    await settle();
    return { status: res.status, forwarded: (await receivedAt(p)).length };
  }

  it("an altered PDQ shard, or a list keyed with a secret the gate lacks, never scans clean", {
    timeout: 60_000,
  }, async () => {
    // Lists of the tests above are keyed with secrets the gate does not hold: out of use here.
    for (const l of (await readManifest(store())).lists) await setEnabled(store(), l.id, false);
    const id = await newList();
    const keys = await web(env.LIST_KEY!);
    await publishDelta(store(), id, [{ op: "add", hash: { algo: "pdq", hex: await bridgeHash() } }], {
      actor: "test",
      keys,
    });
    const mirrored = await fixtureBytes("pdq/images/reg-test-input/dih/bridge-5-flipx.jpg");
    forgetManifest(env.HASHES);
    expect(await upload(mirrored, "image/jpeg")).toEqual({ status: 451, forwarded: 0 });
    // Re-publish so no isolate holds the index, with one byte of the new shard flipped.
    await publishDelta(store(), id, [{ op: "add", hash: { algo: "md5", hex: randomHex(32, 31) } }], {
      actor: "test",
      keys,
    });
    const shardKey = `lists/${id}/v/2/pdq/0`;
    const shard = new Uint8Array((await env.HASHES.get(shardKey, "arrayBuffer"))!);
    shard[40]! ^= 0x01;
    await env.HASHES.put(shardKey, shard);
    forgetManifest(env.HASHES);
    expect(await upload(mirrored, "image/jpeg")).toEqual({ status: 503, forwarded: 0 });
    // Exact digests of a list keyed with a secret neither LIST_KEY nor LIST_KEY_PREVIOUS holds.
    const id2 = await newList();
    await publishDelta(store(), id2, [{ op: "add", hash: { algo: "md5", hex: randomHex(32, 32) } }], {
      actor: "test",
      keys: await web(SECRET_B),
    });
    forgetManifest(env.HASHES);
    expect(await upload(new TextEncoder().encode("benign bytes"), "text/plain")).toEqual({
      status: 503,
      forwarded: 0,
    });
  });
});
