/**
 * Benchmark of the upload gate (issue 2): uploads straight to a loopback origin versus through
 * hashgate running in workerd (Miniflare, local KV/R2/D1/Queues) in front of the same origin.
 * Prints median latencies, throughput ratios and workerd CPU per MiB, and PASS/MISS for the
 * targets. Exits non-zero only when something breaks, never for a missed target.
 *
 *   npx node bench/gate.ts [--breakdown]      (or: npm run bench -- gate --breakdown)
 *
 * After the gate as configured it runs reference configurations of the same Worker: always a
 * pass-through (nothing scanned: what workerd's proxying alone costs), and with --breakdown
 * also one without the R2 spool and one without digests, to show where the time goes.
 */
import { join } from "node:path";
import { BENCH_LIST_ID, type BenchAlgo, publishBenchList } from "./lib/bench-list.ts";
import { BLOCKED_PATH, cleanCase, floorCases, gateCases, LISTED, referenceCases } from "./lib/gate-cases.ts";
import {
  environmentLines,
  floorLines,
  loadLine,
  resultTable,
  targetLines,
  versusReferences,
} from "./lib/gate-report.ts";
import {
  type BuiltWorker,
  buildWorker,
  type GateRuntime,
  removeBuild,
  type Served,
  startFloor,
  startGate,
} from "./lib/gate-runtime.ts";
import { newAgent } from "./lib/http-client.ts";
import { type CaseResult, type CaseSpec, idleCpuRate, type Probe, runCase } from "./lib/measure.ts";
import { type Origin, startOrigin } from "./lib/origin.ts";
import { rawPayload } from "./lib/payloads.ts";
import { fixed, KiB, MiB } from "./lib/stats.ts";

const REPO_ROOT = join(import.meta.dirname, "..");
/** Random entries per algorithm in the benchmark list (besides the listed payload). */
const LIST_RANDOM_ENTRIES = 300;
/** Hard stop for the whole run, inside the 5-minute bound. */
const WATCHDOG_MS = 280_000;
/** After this, cases stop at their minimum count and reference configurations are skipped. */
const SOFT_DEADLINE_MS = 200_000;
const started = performance.now();

interface Variant {
  name: string;
  why: string;
  vars: Record<string, string>;
  seedList: boolean;
  /** Run lib/floor-worker.js instead of the gate (the cases pick its mode by path). */
  floor?: boolean;
  /** The algorithms of the bench list (default all three). */
  listAlgos?: BenchAlgo[];
}

const CONFIGURED: Variant = { name: "gate", why: "as configured in wrangler.toml", vars: {}, seedList: true };
const PASS_THROUGH: Variant = {
  name: "pass-through",
  why: "SCAN_PATHS=/not-scanned, so these POSTs are proxied unscanned: workerd's own cost, a ceiling for any gate",
  // Not SCAN_METHODS: a body on a scanned path is scanned whatever its method (README).
  vars: { SCAN_PATHS: "/not-scanned" },
  seedList: true,
};
const FLOOR: Variant = {
  name: "floor",
  why: "lib/floor-worker.js, the least any gate does: read (body read in blocks), digests (+ MD5, SHA-1, SHA-256), hold (+ forward from memory), stream (forward while digesting, last block withheld)",
  vars: {},
  seedList: false,
  floor: true,
};
/** The same gate with a list of one algorithm: what each digest costs (the gate computes only what lists use). */
const ONE_ALGORITHM: Variant[] = (["md5", "sha256"] as const).map((algo) => ({
  name: `${algo} list`,
  why: `the bench list holds ${algo.toUpperCase()} digests only, so the gate computes that digest alone`,
  vars: {},
  seedList: true,
  listAlgos: [algo],
}));
const BREAKDOWN: Variant[] = [
  {
    name: "memory hold",
    why: "HOLD_MEMORY_BYTES=100 MiB, HOLD_ISOLATE_BYTES=96 MiB (its maximum): as configured but a 50 MiB body is not spooled to R2",
    vars: { HOLD_MEMORY_BYTES: String(100 * MiB), HOLD_ISOLATE_BYTES: String(96 * MiB) },
    seedList: true,
  },
  {
    name: "no list",
    why: "no active list: body held as configured (R2 spool included) but no digests, no KV lookups",
    vars: {},
    seedList: false,
  },
];

const cleanups: (() => Promise<void> | void)[] = [];
async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch((e) => console.error(e));
}

interface Bench {
  build: BuiltWorker;
  origin: Origin;
  /** The floor Worker, running through the main run so the target cases interleave with it. */
  floor: Served;
}

/** Starts the gate as `variant`, runs the cases `specsFor` gives, stops the gate. */
async function runVariant(
  bench: Bench,
  variant: Variant,
  specsFor: (gate: GateRuntime | null, seeded: number) => CaseSpec[],
): Promise<{ results: CaseResult[]; idleCpuPerMs: number }> {
  const runtime = variant.floor
    ? null
    : await startGate(REPO_ROOT, bench.build, { ORIGIN_URL: bench.origin.url, ...variant.vars });
  const gate: Served = runtime ?? (await startFloor(bench.origin.url));
  const agents = [newAgent(), newAgent(), newAgent()] as const;
  const stop = async () => {
    for (const a of agents) a.destroy();
    await gate.stop();
  };
  cleanups.push(stop);
  try {
    const seeded =
      runtime && variant.seedList
        ? await publishBenchList(runtime.kv, LISTED.body, LIST_RANDOM_ENTRIES, variant.listAlgos)
        : 0;
    const specs = specsFor(runtime, seeded);
    const probe: Probe = {
      direct: { url: bench.origin.url, agent: agents[0] },
      gate: { url: gate.url, agent: agents[1] },
      ...(variant === CONFIGURED ? { floor: { url: bench.floor.url, agent: agents[2] } } : {}),
      workerdPids: gate.workerdPids,
      idleCpuPerMs: 0,
      deadline: started + SOFT_DEADLINE_MS,
    };
    // The first requests compile the Worker and load the manifest; idle CPU is sampled after them.
    await runCase(
      cleanCase("warm-up", rawPayload(KiB), `${variant.floor ? "/hold" : ""}/bench/warm-up`, 0, 3),
      probe,
    );
    probe.idleCpuPerMs = await idleCpuRate(gate.workerdPids, 1_000);
    const results: CaseResult[] = [];
    for (const spec of specs) {
      process.stderr.write(`bench/gate: ${spec.name}\n`);
      results.push(await runCase(spec, probe));
    }
    return { results, idleCpuPerMs: probe.idleCpuPerMs };
  } finally {
    const i = cleanups.indexOf(stop);
    if (i >= 0) cleanups.splice(i, 1);
    await stop();
  }
}

async function main(): Promise<void> {
  const breakdown = process.argv.includes("--breakdown");
  const build = buildWorker(REPO_ROOT);
  cleanups.push(() => removeBuild(build));
  const origin = await startOrigin();
  cleanups.push(origin.stop);
  const floor = await startFloor(origin.url);
  cleanups.push(floor.stop);
  const bench = { build, origin, floor };

  const configured = await runVariant(bench, CONFIGURED, (gate, seeded) => {
    if (!gate) throw new Error("the configured gate has no runtime");
    console.log(environmentLines({ build, gate, origin, seeded, listId: BENCH_LIST_ID }).join("\n"));
    return gateCases(Number(gate.vars.BLOCK_STATUS || "451"));
  });
  const reached = (await origin.stats())[BLOCKED_PATH];
  if (reached) throw new Error(`blocked uploads reached the origin: ${JSON.stringify(reached)}`);
  console.log(resultTable(configured.results));
  console.log(`  workerd idle CPU subtracted: ${fixed(configured.idleCpuPerMs * 1000, 1)} ms per s`);
  console.log(`  blocked uploads seen by the origin: 0\n${loadLine("end of main run")}\n`);
  console.log(targetLines(configured.results).join("\n"));

  const references = [PASS_THROUGH, FLOOR, ...ONE_ALGORITHM, ...(breakdown ? BREAKDOWN : [])];
  const refResults: CaseResult[] = [];
  const ran: Variant[] = [];
  for (const v of references) {
    if (performance.now() > started + SOFT_DEADLINE_MS) {
      console.log(`\n  ${v.name}: skipped, the run is near its time bound`);
      continue;
    }
    const cases = v.floor ? floorCases() : referenceCases(v.name);
    refResults.push(...(await runVariant(bench, v, () => cases)).results);
    ran.push(v);
  }
  console.log("\nReference configurations of the same Worker (not targets):");
  for (const v of ran) console.log(`  ${v.name}: ${v.why}`);
  console.log(`\n${resultTable(refResults)}`);
  console.log(versusReferences([...configured.results, ...refResults]).join("\n"));
  console.log(floorLines(refResults).join("\n"));
  console.log(loadLine("end"));
}

const watchdog = setTimeout(() => {
  console.error(`bench/gate: still running after ${WATCHDOG_MS / 1000} s, stopping`);
  void cleanup().finally(() => process.exit(2));
}, WATCHDOG_MS);
// Ctrl-C reaches this process twice (from the terminal and forwarded by bench/run.ts): the
// first one cleans up, later ones must not kill the process before that is done.
let stopping = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    void cleanup().finally(() => process.exit(130));
  });
}
try {
  await main();
} catch (e) {
  console.error("bench/gate: failed:", e);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await cleanup();
}
