/**
 * The sharded PDQ search through real Durable Objects in workerd (Miniflare), for
 * bench/pdq-scale.ts --workerd: the repository's PdqShardObject and the gate's own shard
 * calls (src/match/pdq-remote.ts: buildShardsBeforeSwitch, queryShards), bundled by esbuild
 * into a small bench Worker. Shards are sealed and stored in Miniflare's KV exactly as a
 * publish stores them. workerd's clocks stand still while code runs, so every time is taken
 * from Node, around a dispatchFetch; workerd's CPU time is read from /proc.
 */
import { build } from "esbuild";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { listKeyring } from "../../src/lists/env-keyring.ts";
import type { ListMeta } from "../../src/lists/manifest.ts";
import { SHARD_HEADER_BYTES, SHARD_MAGIC, SHARD_VERSION } from "../../src/pdq/shard.ts";
import type { PdqShardHit, PdqShardStats } from "../../src/pdq-shards/protocol.ts";
import { cpuMs, descendantsNamed } from "./proc-cpu.ts";

const REPO_ROOT = new URL("../..", import.meta.url).pathname;
/** A bench-only secret for sealing the test shards (random test hashes, not a real list). */
const LIST_KEY = "pdq-scale-bench-secret-not-a-real-list-key-0123";

const ENTRY = `
import { buildShardsBeforeSwitch, queryShards } from "./src/match/pdq-remote.ts";
import { shardObjectName } from "./src/pdq-shards/protocol.ts";
export { PdqShardObject } from "./src/pdq-shards/object.ts";
export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === "/noop") return Response.json(null);
    const b = await req.json();
    const routing = { namespace: env.PDQ_SHARDS, threshold: 0, queryTimeoutMs: 120000, loadTimeoutMs: 600000 };
    if (path === "/build") return Response.json(await buildShardsBeforeSwitch(routing, b.list));
    if (path === "/query") return Response.json(await queryShards(routing, b.list, b.hashes));
    if (path === "/one") {
      // k queries of one shard object, one after another: what one object costs per query.
      const stub = env.PDQ_SHARDS.get(env.PDQ_SHARDS.idFromName(shardObjectName(b.list, b.shard)));
      let hit = null;
      // ping: the same number of round trips to the object, doing nothing there (the RPC's own cost).
      if (b.ping) {
        for (let i = 0; i < b.k; i++) hit = await stub.held();
        return Response.json(hit);
      }
      for (let i = 0; i < b.k; i++)
        hit = await stub.query({ list: b.list, shard: b.shard, hashes: b.hashes, threshold: b.list.pdqThreshold });
      return Response.json(hit);
    }
    if (path === "/load") {
      const stub = env.PDQ_SHARDS.get(env.PDQ_SHARDS.idFromName(shardObjectName(b.list, b.shard)));
      return Response.json(await stub.load(b.list, b.shard));
    }
    if (path === "/held") {
      const stub = env.PDQ_SHARDS.get(env.PDQ_SHARDS.idFromName(shardObjectName(b.list, b.shard)));
      return Response.json(await stub.held());
    }
    return new Response("no such bench path", { status: 404 });
  },
};
`;

export interface ShardWorkerd {
  list: ListMeta;
  /** Node-side wall time of one POST, ms, and its JSON answer. */
  call<T>(path: string, body: unknown): Promise<{ ms: number; answer: T }>;
  /** CPU ms used by the workerd processes so far. */
  cpuMs(): number;
  /** Resident memory of the workerd processes, bytes. */
  rssBytes(): number;
  dispose(): Promise<void>;
}

/** A shard as a publish stores it (src/pdq/shard.ts layout), from raw hashes and ids. */
function shardBytes(hashes: Uint8Array, firstId: number): Uint8Array {
  const n = hashes.length / 32;
  const out = new Uint8Array(SHARD_HEADER_BYTES + 36 * n);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = SHARD_MAGIC.charCodeAt(i);
  dv.setUint16(4, SHARD_VERSION, true);
  dv.setUint32(8, n, true);
  out.set(hashes, SHARD_HEADER_BYTES);
  for (let i = 0; i < n; i++) dv.setUint32(SHARD_HEADER_BYTES + 32 * n + 4 * i, firstId + i, true);
  return out;
}

/**
 * Starts workerd with the shard objects, stores `hashes` (n × 32 bytes) sealed as a list
 * version of `perShard`-entry shards, and returns a handle. The objects load nothing yet.
 */
export async function startShardWorkerd(hashes: Uint8Array, perShard: number): Promise<ShardWorkerd> {
  const bundle = await build({
    stdin: { contents: ENTRY, resolveDir: REPO_ROOT, loader: "js" },
    bundle: true,
    format: "esm",
    write: false,
    platform: "neutral",
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*", "node:*"],
    plugins: [
      {
        name: "wasm-module",
        setup(b) {
          b.onResolve({ filter: /\.wasm$/ }, () => ({ path: "./core.wasm", external: true }));
        },
      },
    ],
  });
  const fs = await import("node:fs");
  const before = new Set(descendantsNamed(process.pid, "workerd"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      cf: false,
      log: new Log(LogLevel.WARN),
      modules: [
        { type: "ESModule", path: "worker.mjs", contents: bundle.outputFiles[0]!.text },
        {
          type: "CompiledWasm",
          path: "core.wasm",
          contents: fs.readFileSync(new URL("../../wasm/build/core.wasm", import.meta.url)),
        },
      ],
      compatibilityDate: "2026-10-01",
      compatibilityFlags: ["nodejs_compat"],
      kvNamespaces: ["HASHES"],
      durableObjects: { PDQ_SHARDS: "PdqShardObject" },
      bindings: { LIST_KEY },
    }),
  );
  await mf.ready;
  const pids = descendantsNamed(process.pid, "workerd").filter((p) => !before.has(p));
  const key = (await listKeyring({ LIST_KEY })).current;
  const n = hashes.length / 32;
  const shards = Math.ceil(n / perShard);
  const list: ListMeta = {
    id: "pdq-scale-bench",
    provider: "hashgate benchmark",
    category: "test",
    licenceRef: "test data: random hashes",
    licensedUntil: "2099-12-31",
    allowedUses: ["block"],
    action: "block",
    pdqThreshold: 31,
    enabled: true,
    version: 1,
    algorithms: ["md5"],
    keyId: key.id,
    pdqShards: shards,
    pdqEntries: n,
  };
  const kv = await mf.getKVNamespace("HASHES");
  for (let s = 0; s < shards; s++) {
    const from = s * perShard;
    const part = hashes.subarray(from * 32, Math.min(n, from + perShard) * 32);
    const k = `lists/${list.id}/v/${list.version}/pdq/${s}`;
    await kv.put(k, await key.sealBlob(list.id, list.version, shardBytes(part, from), k));
  }
  return {
    list,
    async call<T>(path: string, body: unknown) {
      const t = performance.now();
      const res = await mf.dispatchFetch(`http://bench${path}`, {
        method: "POST",
        body: JSON.stringify(body),
      });
      const text = await res.text();
      const ms = performance.now() - t;
      if (!res.ok) throw new Error(`bench worker ${path}: ${res.status} ${text.slice(0, 300)}`);
      return { ms, answer: JSON.parse(text) as T };
    },
    cpuMs: () => cpuMs(pids),
    rssBytes: () =>
      pids.reduce((s, pid) => {
        const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
        return s + (m ? Number(m[1]) * 1024 : 0);
      }, 0),
    dispose: () => mf.dispose(),
  };
}

export type { PdqShardHit, PdqShardStats };
