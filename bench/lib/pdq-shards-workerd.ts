/**
 * The sharded PDQ search through real Durable Objects in workerd (Miniflare), for
 * bench/pdq-scale.ts --workerd: the repository's PdqShardObject and the gate's own shard
 * calls (src/match/pdq-remote.ts: buildShardsBeforeSwitch, queryShards), bundled by esbuild
 * into a small bench Worker. Shards are sealed and stored in Miniflare's KV exactly as a
 * publish stores them. workerd's clocks stand still while code runs, so every time is taken
 * from Node, around a POST to the bench Worker's own loopback socket; workerd's CPU time is
 * read from /proc.
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
import { hexToBytes } from "./src/pdq/core.ts";
import { pdqShardList, shardObjectName } from "./src/pdq-shards/protocol.ts";
export { PdqShardObject } from "./src/pdq-shards/object.ts";
export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === "/put") {
      await env.HASHES.put(new URL(req.url).searchParams.get("key"), await req.arrayBuffer());
      return Response.json(null);
    }
    if (path === "/noop") {
      await req.text();
      return Response.json(null);
    }
    const b = await req.json();
    // The gate makes a routing per upload, and the routing keeps that upload's stubs.
    const newRouting = () => ({
      namespace: env.PDQ_SHARDS,
      threshold: 0,
      queryTimeoutMs: 120000,
      loadTimeoutMs: 600000,
    });
    const routing = newRouting();
    // A stub per call, as the gate makes one (stubs cannot outlive the request that made them).
    const stub = (shard) => env.PDQ_SHARDS.get(env.PDQ_SHARDS.idFromName(shardObjectName(b.list, shard)));
    // The query one object gets from queryShards (src/pdq-shards/protocol.ts: PdqShardQuery).
    const bytes = (hashes) => {
      const out = new Uint8Array(32 * hashes.length);
      hashes.forEach((h, i) => out.set(hexToBytes(h), 32 * i));
      return out;
    };
    const query = (shard, hashes) =>
      stub(shard).query({ list: pdqShardList(b.list), shard, hashes: bytes(hashes), threshold: b.list.pdqThreshold });
    if (path === "/build") return Response.json(await buildShardsBeforeSwitch(routing, b.list));
    // One gate query per request, as the gate makes one per upload.
    if (path === "/query") return Response.json(await queryShards(routing, b.list, b.hashes));
    // queries.length gate queries (distinct hashes) one after another in one request: no dispatch.
    if (path === "/gate-batch") {
      let hits = 0;
      for (const hashes of b.queries) hits += (await queryShards(newRouting(), b.list, hashes)) ? 1 : 0;
      return Response.json(hits);
    }
    // The same queries as the frames of one upload: one routing, so its stubs serve every query.
    if (path === "/frames-batch") {
      let hits = 0;
      for (const hashes of b.queries) hits += (await queryShards(routing, b.list, hashes)) ? 1 : 0;
      return Response.json(hits);
    }
    // The same fan-out with each object awaited before the next is asked: if locally no slower
    // than the parallel one above, workerd is running the objects one after another anyway.
    if (path === "/serial-batch") {
      let hits = 0;
      for (const hashes of b.queries)
        for (let s = 0; s < b.list.pdqShards; s++) hits += (await query(s, hashes)) ? 1 : 0;
      return Response.json(hits);
    }
    // One object: one query per request, or queries.length distinct queries in one request.
    if (path === "/one") return Response.json(await query(b.shard, b.hashes));
    if (path === "/one-batch") {
      let hits = 0;
      for (const hashes of b.queries) hits += (await query(b.shard, hashes)) ? 1 : 0;
      return Response.json(hits);
    }
    // Per query, one held() on every object at once: the fan-out's RPC round trips, nothing else.
    if (path === "/fanout-ping-batch") {
      for (const _ of b.queries)
        await Promise.all(Array.from({ length: b.list.pdqShards }, (_, s) => stub(s).held()));
      return Response.json(null);
    }
    // times round trips per query to the object, doing nothing there (the RPC's own cost).
    if (path === "/ping-batch") {
      for (let i = 0; i < b.queries.length * b.times; i++) await stub(b.shard).held();
      return Response.json(null);
    }
    if (path === "/load") return Response.json(await stub(b.shard).load(b.list, b.shard));
    if (path === "/held") return Response.json(await stub(b.shard).held());
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
      // workerd evicts an object idle for about 10 s and the next call rebuilds it (0.57-0.70 s,
      // and ~70 MB more RSS each time: the evicted index is not given back). While 15 objects
      // build one another's idle time passes that, and a 10 M run rebuilt objects without end
      // (past 11 GB). The bench measures loaded objects, so it keeps them; eviction is measured
      // apart (README, "Large PDQ lists").
      durableObjects: { PDQ_SHARDS: { className: "PdqShardObject", unsafePreventEviction: true } },
      bindings: { LIST_KEY },
      // Node talks to the bench Worker on its own socket: Miniflare's dispatchFetch passes
      // through Miniflare's entry worker, which cost 3-4x the workerd CPU of this path.
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
    }),
  );
  await mf.ready;
  const direct = await mf.unsafeGetDirectURL();
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
  // Through the bench Worker's own KV binding: Miniflare's Node-side KV proxy took 5-9 s and
  // ~120 MB of Node's memory per 25 MB shard.
  for (let s = 0; s < shards; s++) {
    const from = s * perShard;
    const part = hashes.subarray(from * 32, Math.min(n, from + perShard) * 32);
    const k = `lists/${list.id}/v/${list.version}/pdq/${s}`;
    const sealed = await key.sealBlob(list.id, list.version, shardBytes(part, from), k);
    const res = await fetch(new URL(`/put?key=${encodeURIComponent(k)}`, direct), {
      method: "POST",
      body: new Uint8Array(sealed),
    });
    if (!res.ok) throw new Error(`bench worker /put: ${res.status} ${await res.text()}`);
  }
  return {
    list,
    async call<T>(path: string, body: unknown) {
      const t = performance.now();
      const res = await fetch(new URL(path, direct), { method: "POST", body: JSON.stringify(body) });
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
