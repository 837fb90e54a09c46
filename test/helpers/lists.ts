/**
 * Test lists, written straight into KV in the layout of docs/storage.md. They hold digests of
 * benign bytes made in the tests: TEST DATA, not real hash lists.
 */
import { env } from "cloudflare:test";
import { listKeyring } from "../../src/lists/env-keyring.ts";
import { type ListKeyring, tagInput } from "../../src/lists/keyring.ts";
import { forgetManifest, type ListManifest, type ListMeta, MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { type EntryRecord, recordKey } from "../../src/lists/membership.ts";
import { encodeShards } from "../../src/pdq/shard.ts";
import type { DigestAlgo } from "../../src/scan/digests.ts";

/** The tests' list keyring: LIST_KEY as vitest.config.ts binds it (a test-only secret). */
export function testKeys(): Promise<ListKeyring> {
  return listKeyring(env);
}

export interface TestEntry {
  algo: DigestAlgo;
  hex: string;
}

export function testList(id: string, over: Partial<ListMeta> = {}): ListMeta {
  return {
    id,
    provider: "hashgate tests",
    category: "test",
    licenceRef: "test data: benign bytes",
    licensedUntil: "2099-12-31",
    allowedUses: ["block"],
    action: "block",
    pdqThreshold: 31,
    enabled: true,
    version: 1,
    algorithms: ["md5", "sha1", "sha256"],
    keyId: "",
    ...over,
  };
}

/**
 * What list creation takes (`createList`, `POST /admin/lists`) for a test list: licensed, blocking,
 * its licence a test-data note (benign test data, not a real list).
 */
export function newListInput(id: string, over: Record<string, unknown> = {}) {
  return {
    id,
    provider: "hashgate tests",
    licenceRef: "test data",
    licensedUntil: "2099-12-31",
    allowedUses: ["block"],
    action: "block",
    ...over,
  };
}

/**
 * Publishes `lists` as the manifest and adds each list's entries at its version, keyed with the
 * test secret (records only, no prefilter: the gate reads KV for every digest).
 */
export async function seedLists(
  kv: KVNamespace,
  lists: { meta: ListMeta; entries: TestEntry[] }[],
): Promise<void> {
  const key = (await testKeys()).current;
  for (const { meta, entries } of lists) {
    meta.keyId = key.id;
    for (const e of entries) {
      const rec: EntryRecord = { a: meta.version };
      const tag = await key.tag(tagInput(e.algo, e.hex.toLowerCase()));
      await kv.put(recordKey(meta.id, key.id, tag), JSON.stringify(rec));
    }
  }
  const manifest: ListManifest = {
    revision: 1,
    updatedAt: new Date().toISOString(),
    lists: lists.map((l) => l.meta),
  };
  await kv.put(MANIFEST_KEY, JSON.stringify(manifest));
  forgetManifest(kv);
}

export async function digestHex(algo: DigestAlgo, bytes: Uint8Array): Promise<string> {
  const name = { md5: "MD5", sha1: "SHA-1", sha256: "SHA-256" }[algo];
  const d = new Uint8Array(await crypto.subtle.digest(name, bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Deterministic pseudo-random bytes (benign test content). */
export function testBytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Writes a list version's PDQ shard 0 sealed with the test secret, and for each hash an entry
 * record naming its entry id (sealed), as a publish does; sets `meta.keyId`. TEST DATA.
 */
export async function seedPdqShard(
  kv: KVNamespace,
  meta: ListMeta,
  hashes: { hash: string; entryId?: string }[],
): Promise<void> {
  const key = (await testKeys()).current;
  meta.keyId = key.id;
  const shardKey = `lists/${meta.id}/v/${meta.version}/pdq/0`;
  const shard = encodeShards(hashes.map((h, id) => ({ hash: h.hash, id })))[0]!;
  await kv.put(shardKey, await key.sealBlob(meta.id, meta.version, shard, shardKey));
  for (const h of hashes) {
    if (!h.entryId) continue;
    const rk = recordKey(meta.id, key.id, await key.tag(tagInput("pdq", h.hash)));
    const x = await key.sealText(JSON.stringify({ id: h.entryId }), rk);
    await kv.put(rk, JSON.stringify({ a: meta.version, x }));
  }
}
