/**
 * Runs hashgate in workerd for the benchmark: bundles the Worker exactly as a deploy would
 * (`wrangler deploy --dry-run --outdir`, which also proves the config builds), then serves the
 * bundle with Miniflare on loopback with local KV, R2, D1 and a queue producer, the
 * wrangler.toml [vars] and ORIGIN_URL pointing at the benchmark origin.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  convertV4MiniflareOptions,
  Log,
  LogLevel,
  Miniflare,
  type V4MiniflareOptions,
  type V4SharedOptions,
  type V4WorkerOptions,
} from "miniflare";
import type { KvBinding } from "../../src/lists/store.ts";
import { BENCH_LIST_KEY } from "./bench-list.ts";
import { descendantsNamed, HAVE_PROC } from "./proc-cpu.ts";
import { readWorkerSettings } from "./wrangler-config.ts";

/** A Worker served by its own workerd: the gate, or the floor Worker. */
export interface Served {
  url: string;
  /** The workerd process(es) serving it. */
  workerdPids: number[];
  stop(): Promise<void>;
}

export interface GateRuntime extends Served {
  /** The settings the Worker runs with (wrangler.toml vars plus overrides). */
  vars: Record<string, string>;
  kvPut(key: string, value: string): Promise<void>;
  /** The gate's KV namespace, for the list publisher. */
  kv: KvBinding;
}

export interface BuiltWorker {
  dir: string;
  entry: string;
  /** Milliseconds the dry-run bundle took. */
  buildMs: number;
}

/** Bundles the Worker with wrangler into a fresh temporary directory. */
export function buildWorker(repoRoot: string): BuiltWorker {
  const dir = mkdtempSync(join(tmpdir(), "hashgate-bench-"));
  // Removed on any exit, even one while the synchronous build below blocks signal handlers.
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const started = performance.now();
  execFileSync(
    process.execPath,
    [join(repoRoot, "node_modules/wrangler/bin/wrangler.js"), "deploy", "--dry-run", "--outdir", dir],
    {
      cwd: repoRoot,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return { dir, entry: join(dir, "index.js"), buildMs: performance.now() - started };
}

/** The bundle's modules, entry first (Miniflare does not follow imports of a prebuilt bundle). */
function bundleModules(
  build: BuiltWorker,
): { type: "ESModule" | "CompiledWasm" | "Data" | "Text"; path: string }[] {
  const others = readdirSync(build.dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(build.dir, f))
    .filter((p) => p !== build.entry && statSync(p).isFile());
  const typed = others.flatMap((path) => {
    const type = MODULE_TYPES.find(([re]) => re.test(path))?.[1];
    return type ? [{ type, path }] : [];
  });
  return [{ type: "ESModule", path: build.entry }, ...typed];
}

/** Module types by file name, as wrangler's default module rules (maps and READMEs are skipped). */
const MODULE_TYPES: [RegExp, "ESModule" | "CompiledWasm" | "Data" | "Text"][] = [
  [/\.m?js$/, "ESModule"],
  [/\.wasm$/, "CompiledWasm"],
  [/\.bin$/, "Data"],
  [/\.(txt|html|sql)$/, "Text"],
];

export function removeBuild(build: BuiltWorker): void {
  rmSync(build.dir, { recursive: true, force: true });
}

/**
 * Serves one Worker in its own workerd on loopback, with what every benchmark Worker shares
 * (wrangler.toml's compatibility settings, no network, its own socket), plus `options`.
 */
async function serve(
  options: Partial<V4WorkerOptions & V4SharedOptions>,
): Promise<{ mf: Miniflare; served: Omit<Served, "stop"> }> {
  const settings = readWorkerSettings(join(import.meta.dirname, "../../wrangler.toml"));
  // Other workerd children (an earlier instance still exiting) must not be charged to this one.
  const before = new Set(descendantsNamed(process.pid, "workerd"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      // No network: the default would fetch the Request.cf object from the internet.
      cf: false,
      // Requests go straight to the Worker's own socket, not through Miniflare's routing
      // Worker in front of it (a development-only hop; a deployed gate has no such Worker).
      unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
      log: new Log(LogLevel.WARN),
      compatibilityDate: settings.compatibilityDate,
      compatibilityFlags: settings.compatibilityFlags,
      ...options,
    } as V4MiniflareOptions),
  );
  try {
    await mf.ready;
    const url = (await mf.unsafeGetDirectURL()).href.replace(/\/$/, "");
    const workerdPids = descendantsNamed(process.pid, "workerd").filter((pid) => !before.has(pid));
    if (workerdPids.length === 0 && HAVE_PROC) throw new Error("no workerd process found under this process");
    return { mf, served: { url, workerdPids } };
  } catch (e) {
    await mf.dispose().catch(() => undefined);
    throw e;
  }
}

/** Starts the gate; `overrides` replace wrangler.toml vars (e.g. ORIGIN_URL). */
export async function startGate(
  repoRoot: string,
  build: BuiltWorker,
  overrides: Record<string, string>,
): Promise<GateRuntime> {
  const vars = {
    ...readWorkerSettings(join(repoRoot, "wrangler.toml")).vars,
    LIST_KEY: BENCH_LIST_KEY,
    ...overrides,
  };
  const { mf, served } = await serve({
    modules: bundleModules(build),
    modulesRoot: build.dir,
    bindings: vars,
    kvNamespaces: { HASHES: "hashes" },
    r2Buckets: { EVIDENCE: "evidence" },
    d1Databases: { DB: "db" },
    // Producer only: the consumer's D1 writes happen after the response, off the path measured.
    queueProducers: { MATCHES: { queueName: "hashgate-matches" } },
    // BENCH_PERSIST_DIR keeps KV, R2 and D1 on disk instead of in memory, so a soak's memory
    // figure is the gate's and not the simulators' stored data.
    ...(process.env.BENCH_PERSIST_DIR ? { defaultPersistRoot: process.env.BENCH_PERSIST_DIR } : {}),
    // BENCH_INSPECTOR_PORT opens workerd's inspector (bench/lib/load-heap.ts reads the heap through it).
    ...(process.env.BENCH_INSPECTOR_PORT ? { inspectorPort: Number(process.env.BENCH_INSPECTOR_PORT) } : {}),
  });
  try {
    const kv = await mf.getKVNamespace("HASHES");
    await applyMigrations(await mf.getD1Database("DB"));
    return {
      ...served,
      vars,
      kvPut: async (key, value) => {
        await kv.put(key, value);
      },
      kv: kv as unknown as KvBinding,
      stop: () => mf.dispose(),
    };
  } catch (e) {
    await mf.dispose().catch(() => undefined);
    throw e;
  }
}

/** The lower-bound Worker (floor-worker.js), alone in its own workerd, forwarding to `originUrl`. */
export async function startFloor(originUrl: string): Promise<Served> {
  const { mf, served } = await serve({
    modules: [{ type: "ESModule", path: join(import.meta.dirname, "floor-worker.js") }],
    bindings: { ORIGIN_URL: originUrl },
  });
  return { ...served, stop: () => mf.dispose() };
}

/** Applies migrations/*.sql in order, as `wrangler d1 migrations apply` does for a deployment. */
async function applyMigrations(db: { exec(sql: string): Promise<unknown> }): Promise<void> {
  const dir = fileURLToPath(new URL("../../migrations/", import.meta.url));
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    const sql = readFileSync(join(dir, file), "utf8")
      .split("\n")
      .filter((l) => !l.trim().startsWith("--"))
      .join("\n");
    // D1's exec takes one statement per line: fold each statement onto its own line.
    const statements = sql
      .split(";")
      .map((st) => st.replace(/\s+/g, " ").trim())
      .filter(Boolean);
    for (const st of statements) await db.exec(`${st};`);
  }
}
