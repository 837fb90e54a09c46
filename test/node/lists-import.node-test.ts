/**
 * The CLI's import path in Node: checkpoints and resuming, and the bulk files it writes.
 * Hashes are TEST DATA (random hex). Run: npm run test:node
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { BulkFileStore } from "../../src/cli/bulk-file-store.ts";
import { BULK_MAX_PAIRS } from "../../src/cli/kv-bulk.ts";
import { EmptyImportError, runImport } from "../../src/cli/lists-import.ts";
import { cliKeyring } from "../../src/cli/node-list-key.ts";
import { createList } from "../../src/lists/govern.ts";
import { readManifest } from "../../src/lists/layout.ts";
import {
  type EntryRecord,
  inVersion,
  prefilterKey,
  prefilterShardOf,
  recordKey,
  tagKeyPair,
} from "../../src/lists/membership.ts";
import type { DigestAlgo } from "../../src/lists/ops.ts";
import { Prefilter } from "../../src/lists/prefilter.ts";
import type { ListStore } from "../../src/lists/store.ts";

// The CLI's --local development key: test data needs no secret.
const keys = await cliKeyring("local", {});
const dir = mkdtempSync(join(tmpdir(), "hashgate-lists-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function listFile(n: number): string {
  const file = join(dir, `list-${n}.txt`);
  const lines = Array.from({ length: n }, () => randomBytes(16).toString("hex"));
  writeFileSync(file, `# test data: random hex\n${lines.join("\n")}\nnot-a-hash\n`);
  return file;
}

/** A store that fails after `limit` puts: an import killed half-way. */
class FailingStore extends BulkFileStore {
  limit = Number.POSITIVE_INFINITY;
  puts = 0;
  override async put(key: string, value: string | Uint8Array): Promise<void> {
    if (++this.puts > this.limit) throw new Error("simulated crash");
    await super.put(key, value);
  }
}

/** Keeps every value in memory, so several versions can be published and read back. */
class MemoryStore implements ListStore {
  readonly kv = new Map<string, string | Uint8Array>();
  async getJsonMany<T>(keys: string[]): Promise<(T | null)[]> {
    return keys.map((k) => {
      const v = this.kv.get(k);
      return typeof v === "string" ? (JSON.parse(v) as T) : null;
    });
  }
  async getBytes(key: string): Promise<Uint8Array | null> {
    const v = this.kv.get(key);
    return v instanceof Uint8Array ? v : null;
  }
  async put(key: string, value: string | Uint8Array): Promise<void> {
    this.kv.set(key, value);
  }
  async flush(): Promise<void> {}
}

const NEW_LIST = {
  id: "t",
  provider: "test",
  licenceRef: "test data",
  licensedUntil: "2099-12-31",
  allowedUses: ["block"],
  action: "block",
};

test("an interrupted import resumes from its checkpoint and publishes every hash once", async () => {
  const file = listFile(25_000);
  const store = new FailingStore(join(dir, "bulk-a"));
  await createList(store, NEW_LIST);
  const checkpointPath = join(dir, "cp.json");
  const job = {
    store,
    listId: "t",
    format: "plain" as const,
    file,
    options: {},
    actor: "test",
    keys,
    target: "test",
    checkpointPath,
    checkpointEveryOps: 5_000,
  };
  store.limit = 12_500;
  await assert.rejects(runImport(job), /simulated crash/);
  const cp = JSON.parse(readFileSync(checkpointPath, "utf8")) as { linesDone: number; version: number };
  assert.equal(cp.version, 1);
  assert.ok(cp.linesDone >= 10_000 && cp.linesDone <= 12_501, `checkpoint at line ${cp.linesDone}`);
  assert.equal(
    (await readManifest(store)).lists[0]!.version,
    0,
    "nothing visible before the manifest switch",
  );

  store.limit = Number.POSITIVE_INFINITY;
  const before = store.puts;
  const { result, tally, resumedAfterLine } = await runImport(job);
  assert.equal(resumedAfterLine, cp.linesDone);
  assert.equal(result.version, 1);
  assert.equal(result.exactEntries, 25_000, "replayed lines still count in the key set");
  assert.equal(tally.errorCount, 1);
  assert.equal(tally.errors[0]!.line, 25_002);
  // Only lines after the checkpoint were written again (plus the version's derived data).
  assert.ok(store.puts - before < 25_000 - cp.linesDone + 20);
  assert.equal(existsSync(checkpointPath), false);
});

test("a checkpoint of another file or list is ignored", async () => {
  const file = listFile(3_000);
  const store = new BulkFileStore(join(dir, "bulk-b"));
  await createList(store, NEW_LIST);
  const checkpointPath = join(dir, "cp-b.json");
  writeFileSync(checkpointPath, JSON.stringify({ file: "/elsewhere", linesDone: 2_000 }));
  const { result, resumedAfterLine } = await runImport({
    store,
    listId: "t",
    format: "plain",
    file,
    options: {},
    actor: "test",
    keys,
    target: "test",
    checkpointPath,
  });
  assert.equal(resumedAfterLine, 0);
  assert.equal(result.added, 3_000);
});

test("bulk files stay within KV's limits and are valid wrangler input", async () => {
  const file = listFile(23_000);
  const store = new BulkFileStore(join(dir, "bulk-c"));
  await createList(store, NEW_LIST);
  await runImport({
    store,
    listId: "t",
    format: "plain",
    file,
    options: {},
    actor: "test",
    keys,
    target: "test",
    checkpointPath: join(dir, "cp-c.json"),
  });
  const files = readdirSync(join(dir, "bulk-c")).sort();
  let pairs = 0;
  for (const f of files) {
    const batch = JSON.parse(readFileSync(join(dir, "bulk-c", f), "utf8")) as {
      key: string;
      value: string;
      base64?: boolean;
    }[];
    assert.ok(batch.length <= BULK_MAX_PAIRS);
    pairs += batch.length;
    for (const p of batch) assert.equal(typeof p.value, "string");
  }
  const last = JSON.parse(readFileSync(join(dir, "bulk-c", files.at(-1)!), "utf8")) as { key: string }[];
  assert.deepEqual(
    last.map((p) => p.key),
    ["lists/manifest"],
    "the manifest goes alone, last",
  );
  assert.ok(pairs >= 23_000);
});

test("an import with no valid operation publishes nothing (empty file, or every line malformed)", async () => {
  const store = new MemoryStore();
  await createList(store, NEW_LIST);
  const job = (file: string) => ({
    store,
    listId: "t",
    format: "plain" as const,
    file,
    options: {},
    actor: "test",
    keys,
    target: "test",
    checkpointPath: join(dir, "cp-empty.json"),
  });
  await runImport(job(listFile(10)));
  const empty = join(dir, "empty.txt");
  writeFileSync(empty, "");
  const malformed = join(dir, "malformed.txt");
  writeFileSync(malformed, "# test data\nnot-a-hash\nzz\n");
  await assert.rejects(runImport(job(empty)), EmptyImportError);
  await assert.rejects(
    runImport(job(malformed)),
    /nothing published: no valid operation read \(2 malformed lines/,
  );
  const list = (await readManifest(store)).lists[0]!;
  assert.equal(list.version, 1, "no empty version was published");
  assert.equal(list.exactEntries, 10);
});

/**
 * What the gate's exact matcher (src/match/exact.ts, which needs Workers types) decides for one
 * digest, with the same parts: the version's prefilter, then the record read with inVersion.
 */
async function gateHits(store: MemoryStore, digests: Record<string, string>): Promise<boolean> {
  const [algo, hex] = Object.entries(digests)[0] as [DigestAlgo, string];
  const list = (await readManifest(store)).lists[0]!;
  const tags = await keys.forId(list.keyId, "test").digestTags([{ algo, hex }]);
  const [lo, hi] = tagKeyPair(tags);
  const shards = list.prefilterShards ?? 0;
  if (shards > 0) {
    const bytes = await store.getBytes(
      prefilterKey(list.id, list.version, prefilterShardOf(hi, shards), shards),
    );
    if (bytes && !Prefilter.parse(bytes).has(lo, hi)) return false;
  }
  const rec = (await store.getJsonMany<EntryRecord>([recordKey(list.id, list.keyId!, tags)]))[0];
  return rec !== null && rec !== undefined && inVersion(rec, list.version, list.abandoned);
}

const md5 = () => randomBytes(16).toString("hex");
const sha1 = () => randomBytes(20).toString("hex");

test("--delta removes and adds; --replace removes what the provider's full list no longer has", async () => {
  const store = new MemoryStore();
  await createList(store, NEW_LIST);
  const job = (file: string, format: "plain" | "delta", replace = false) =>
    runImport({
      store,
      listId: "t",
      format,
      replace,
      file,
      options: {},
      actor: "test",
      keys,
      target: "test",
      checkpointPath: join(dir, "cp-delta.json"),
    });
  const write = (name: string, lines: string[]) => {
    const file = join(dir, name);
    writeFileSync(file, `# test data: random hex\n${lines.join("\n")}\n`);
    return file;
  };
  const [a, b, c, d, f] = [md5(), md5(), md5(), md5(), md5()];
  const e = sha1();
  await job(write("v1.txt", [a, b, c]), "plain");

  const v2 = await job(
    write("v2.delta", [`remove md5 ${a}`, `add md5 ${d}`, `add sha1 ${e}`, "add md5 nothex"]),
    "delta",
  );
  assert.equal(v2.tally.errorCount, 1);
  assert.deepEqual([v2.result.version, v2.result.added, v2.result.removed], [2, 2, 1]);
  assert.equal(await gateHits(store, { md5: a }), false, "removed by the delta");
  for (const m of [b, c, d]) assert.equal(await gateHits(store, { md5: m }), true);
  assert.equal(await gateHits(store, { sha1: e }), true);

  const v3 = await job(write("v3.txt", [b, d, f]), "plain", true);
  assert.equal(v3.unlisted, 2, "c and e are no longer listed");
  assert.deepEqual([v3.result.version, v3.result.added, v3.result.removed], [3, 1, 2]);
  assert.equal(v3.result.exactEntries, 3);
  for (const m of [b, d, f]) assert.equal(await gateHits(store, { md5: m }), true, `${m} listed`);
  for (const m of [a, c]) assert.equal(await gateHits(store, { md5: m }), false, `${m} not listed`);
  assert.equal(await gateHits(store, { sha1: e }), false, "replace removed the unlisted SHA-1 too");
});
