/**
 * The benchmark's hash list, written into the gate's KV in the layout of docs/storage.md
 * (`lists/manifest` + `h/<algo>/<hex>` membership records). TEST DATA: random digests that
 * match nothing real, plus the digests of one random "listed" payload so a block can be timed.
 */
import { createHash, randomBytes } from "node:crypto";
import { cliKeyring, type NodeListKey } from "../../src/cli/node-list-key.ts";
import { createList } from "../../src/lists/govern.ts";
import { type ListKeyring, tagInput } from "../../src/lists/keyring.ts";
import { recordKey } from "../../src/lists/membership.ts";
import type { ListOp } from "../../src/lists/ops.ts";
import { publishDelta } from "../../src/lists/publish.ts";
import { type KvBinding, KvListStore } from "../../src/lists/store.ts";

export const BENCH_LIST_ID = "bench";
const ALGOS = ["md5", "sha1", "sha256"] as const;
export type BenchAlgo = (typeof ALGOS)[number];
const NODE_ALGO = { md5: "md5", sha1: "sha1", sha256: "sha256" } as const;
const HEX_BYTES = { md5: 16, sha1: 20, sha256: 32 } as const;
/**
 * The benchmark gate's LIST_KEY (bench/lib/gate-runtime.ts binds it): TEST ONLY, public. The
 * bench lists are random digests, keyed like a deployment's so the gate pays the HMAC per digest.
 */
export const BENCH_LIST_KEY = "hashgate-bench-only-list-key-public-0001";

export function benchKeys(): Promise<ListKeyring<NodeListKey>> {
  return cliKeyring("remote", { HASHGATE_LIST_KEY: BENCH_LIST_KEY });
}

/** Puts in flight at once while seeding (Miniflare's KV takes them over one local socket). */
const SEED_CONCURRENCY = 32;

export function benchManifest(algos: readonly BenchAlgo[] = ALGOS, keyId?: string): string {
  return JSON.stringify({
    revision: 1,
    updatedAt: new Date().toISOString(),
    lists: [
      {
        id: BENCH_LIST_ID,
        name: "Benchmark list (random digests: test data)",
        provider: "hashgate bench",
        category: "test",
        licenceRef: "test data: random digests",
        licensedUntil: "2099-12-31",
        allowedUses: ["block"],
        action: "block",
        pdqThreshold: 31,
        enabled: true,
        version: 1,
        algorithms: [...algos],
        ...(keyId ? { keyId } : {}),
      },
    ],
  });
}

/**
 * Publishes the list the way `hashgate lists` does (src/lists: membership records, prefilter,
 * then the manifest), so the gate reads it exactly as in a deployment: `randomPerAlgo` random
 * digests per algorithm of `algos` (so the gate computes those digests) plus the digests of
 * `listed`. Returns the number of digests.
 */
export async function publishBenchList(
  kv: KvBinding,
  listed: Buffer,
  randomPerAlgo: number,
  algos: readonly BenchAlgo[] = ALGOS,
): Promise<number> {
  const store = new KvListStore(kv);
  const meta = JSON.parse(benchManifest(algos)).lists[0];
  await createList(store, meta);
  const ops: ListOp[] = [];
  for (const algo of algos) {
    ops.push({ op: "add", hash: { algo, hex: createHash(NODE_ALGO[algo]).update(listed).digest("hex") } });
    for (let i = 0; i < randomPerAlgo; i++) {
      ops.push({ op: "add", hash: { algo, hex: randomBytes(HEX_BYTES[algo]).toString("hex") } });
    }
  }
  await publishDelta(store, BENCH_LIST_ID, ops, { actor: "bench", keys: await benchKeys() });
  return ops.length;
}

/**
 * Seeds `randomPerAlgo` random entries per algorithm plus every digest of `listed` straight into
 * KV (membership records, then the manifest), without a prefilter: the gate then reads KV for
 * every digest. For harnesses that call it repeatedly to add listed files.
 */
export async function seedBenchList(
  put: (key: string, value: string) => Promise<void>,
  listed: Buffer,
  randomPerAlgo: number,
): Promise<number> {
  const membership = JSON.stringify({ a: 1 });
  const key = (await benchKeys()).current;
  const keys: string[] = [];
  const recordOf = async (algo: BenchAlgo, hex: string) =>
    recordKey(BENCH_LIST_ID, key.id, await key.tag(tagInput(algo, hex)));
  for (const algo of ALGOS) {
    keys.push(await recordOf(algo, createHash(NODE_ALGO[algo]).update(listed).digest("hex")));
    for (let i = 0; i < randomPerAlgo; i++)
      keys.push(await recordOf(algo, randomBytes(HEX_BYTES[algo]).toString("hex")));
  }
  for (let i = 0; i < keys.length; i += SEED_CONCURRENCY) {
    await Promise.all(keys.slice(i, i + SEED_CONCURRENCY).map((k) => put(k, membership)));
  }
  // The manifest last, as a publish does: the gate then sees the whole list at once.
  await put("lists/manifest", benchManifest(ALGOS, key.id));
  return keys.length;
}
