/**
 * Load test of the gate (issue 6), loopback only: hashgate in workerd (Miniflare, as
 * bench/gate.ts starts it) in front of a loopback origin, a mix of clean and listed uploads
 * (1 KiB to 50 MiB, random bytes: TEST DATA) at rising concurrency. Prints p50/p95/p99
 * latency, errors and workerd RSS per stage. The bar: 0 errors, every listed upload blocked
 * with a case id, the origin never sees a listed body.
 *
 *   npx node bench/load.ts [--stages 10,100,250,500,1000] [--soak <minutes>] [--seed N]
 *     [--soak-max <bytes>] [--listed-share 0.2]   (soak: largest clean upload; share of listed)
 *   npm run bench -- load [--soak 10]
 *   BENCH_INSPECTOR_PORT=9339 adds the gate isolate's JS heap after a forced GC to the soak table.
 *
 * `npm run bench` (every benchmark) skips this one unless `--load` is given: it takes minutes.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { seedBenchList } from "./lib/bench-list.ts";
import { buildWorker, removeBuild, startGate } from "./lib/gate-runtime.ts";
import { type Outcome, runAtConcurrency } from "./lib/load-client.ts";
import { HeapProbe } from "./lib/load-heap.ts";
import { UploadMix } from "./lib/load-mix.ts";
import { type RssSample, rssMiB, sampleRss } from "./lib/load-rss.ts";
import { type Origin, startOrigin } from "./lib/origin.ts";
import { fixed, MiB, percentile, renderTable } from "./lib/stats.ts";

const REPO_ROOT = join(import.meta.dirname, "..");
/** Hard stop for the stages (the soak adds its own minutes). */
const STAGES_BUDGET_MS = 12 * 60_000;

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Run by `npm run bench` without naming this benchmark and without --load: skip. */
function skippedByRunner(): boolean {
  if (process.argv.includes("--load") || process.argv.includes("--soak")) return false;
  try {
    const parent = readFileSync(`/proc/${process.ppid}/cmdline`, "utf8").split("\0");
    const runner = parent.findIndex((a) => a.endsWith("bench/run.ts"));
    if (runner < 0) return false; // started directly
    return !parent.slice(runner + 1).some((a) => a.replace(/\.ts$/, "").endsWith("load"));
  } catch {
    return false;
  }
}

/** Clean uploads at most this big at a concurrency (bytes in flight stay around 1 GiB). */
function maxSizeAt(concurrency: number): number {
  return concurrency <= 100 ? 50 * MiB : concurrency <= 250 ? 6 * MiB : MiB;
}

interface StageRow {
  name: string;
  outcomes: Outcome[];
  secs: number;
  rss: RssSample[];
}

function summarize(r: StageRow): string[] {
  const ms = r.outcomes.map((o) => o.ms);
  const listed = r.outcomes.filter((o) => o.upload.kind === "listed");
  const blocked = listed.filter((o) => o.error === null && o.caseId).length;
  const bytes = r.outcomes.reduce((n, o) => n + o.upload.body.length, 0);
  return [
    r.name,
    String(r.outcomes.length),
    `${listed.length}/${blocked}`,
    fixed(bytes / MiB, 0),
    fixed(percentile(ms, 50), 0),
    fixed(percentile(ms, 95), 0),
    fixed(percentile(ms, 99), 0),
    fixed(Math.max(...ms), 0),
    fixed(bytes / MiB / r.secs, 1),
    String(r.outcomes.filter((o) => o.error !== null).length),
    fixed(Math.max(...r.rss.map((s) => s.mib)), 0),
    fixed(r.rss.at(-1)?.mib ?? 0, 0),
  ];
}

const HEADER = [
  "stage",
  "uploads",
  "listed/blocked",
  "MiB",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "max ms",
  "MiB/s",
  "errors",
  "RSS max",
  "RSS end",
];

async function listedSeen(origin: Origin): Promise<number> {
  const stats = await origin.stats();
  return Object.entries(stats)
    .filter(([p]) => p.startsWith("/load/listed/"))
    .reduce((n, [, s]) => n + s.requests, 0);
}

async function main(): Promise<void> {
  if (skippedByRunner()) {
    console.log("bench/load: skipped (minutes long): run `npm run bench -- load` or pass --load");
    return;
  }
  const stages = (option("--stages") ?? "10,100,250,500,1000")
    .split(",")
    .map(Number)
    .filter((c) => c > 0);
  const soakMin = Number(option("--soak") ?? "0");
  const mix = new UploadMix(Number(option("--seed") ?? "6"), Number(option("--listed-share") ?? "0.2"));
  const build = buildWorker(REPO_ROOT);
  const origin = await startOrigin();
  const gate = await startGate(REPO_ROOT, build, { ORIGIN_URL: origin.url });
  const block = Number(gate.vars.BLOCK_STATUS || "451");
  try {
    for (const f of mix.listedFiles) await seedBenchList(gate.kvPut, f, 0);
    console.log(`gate ${gate.url} (workerd pids ${gate.workerdPids.join(",")}), origin ${origin.url}`);
    console.log(`mix: 20% listed (1 KiB, 128 KiB, 1 MiB, 6 MiB), clean 1 KiB-50 MiB, half multipart`);
    await runAtConcurrency(gate.url, 4, 20, () => mix.next(64 * 1024), block); // warm-up
    console.log(`workerd RSS after warm-up: ${fixed(rssMiB(gate.workerdPids), 0)} MiB`);
    const rows: StageRow[] = [];
    const deadline = performance.now() + STAGES_BUDGET_MS;
    const errors: string[] = [];
    for (const c of stages) {
      if (performance.now() > deadline) break;
      let forced = c <= 100; // one 50 MiB upload in each stage that allows it
      const make = () => {
        const u = mix.next(maxSizeAt(c), forced ? 50 * MiB : undefined);
        forced = false;
        return u;
      };
      const rss = sampleRss(gate.workerdPids, 500);
      const t0 = performance.now();
      const outcomes = await runAtConcurrency(gate.url, c, Math.max(2 * c, 200), make, block, deadline);
      const row = { name: `c=${c}`, outcomes, secs: (performance.now() - t0) / 1000, rss: rss.stop() };
      rows.push(row);
      errors.push(...outcomes.flatMap((o) => (o.error ? [`c=${c} ${o.upload.path}: ${o.error}`] : [])));
      process.stderr.write(`bench/load: ${summarize(row).join(" ")}\n`);
    }
    console.log(`\n${renderTable(HEADER, rows.map(summarize))}`);
    const seen = await listedSeen(origin);
    const ids = rows.flatMap((r) => r.outcomes.flatMap((o) => (o.caseId ? [o.caseId] : [])));
    console.log(
      `listed bodies seen by the origin: ${seen}; distinct case ids: ${new Set(ids).size} of ${ids.length}`,
    );
    for (const e of errors.slice(0, 20)) console.log(`  error: ${e}`);
    const soakMax = Number(option("--soak-max") ?? String(6 * MiB));
    if (soakMin > 0) await soak(gate.url, gate.workerdPids, mix, block, soakMin, soakMax);
    const seenAfter = await listedSeen(origin);
    const pass = errors.length === 0 && seenAfter === 0 && new Set(ids).size === ids.length;
    console.log(`\n${pass ? "PASS" : "MISS"}: 0 errors, no listed body forwarded, one case id per block`);
    if (seenAfter > 0) process.exitCode = 1; // a listed body forwarded is a failure, not a miss
  } finally {
    await gate.stop();
    await origin.stop();
    removeBuild(build);
  }
}

/** Constant load for `minutes`; prints RSS per minute to show whether memory stays flat. */
async function soak(
  base: string,
  pids: number[],
  mix: UploadMix,
  block: number,
  minutes: number,
  maxSize: number,
) {
  const concurrency = 50;
  console.log(
    `\nsoak: ${minutes} min at concurrency ${concurrency}, clean uploads up to ${fixed(maxSize / MiB, 2)} MiB`,
  );
  const rows: string[][] = [];
  const first = rssMiB(pids);
  const inspector = Number(process.env.BENCH_INSPECTOR_PORT ?? 0);
  const heap = inspector > 0 ? await HeapProbe.connect(inspector) : null;
  const heapAtStart = heap ? await heap.usedAfterGcMiB() : null;
  for (let m = 1; m <= minutes; m++) {
    const rss = sampleRss(pids, 2_000);
    const t0 = performance.now();
    const out = await runAtConcurrency(base, concurrency, 1e9, () => mix.next(maxSize), block, t0 + 60_000);
    const s = rss.stop();
    const ms = out.map((o) => o.ms);
    const errs = out.filter((o) => o.error !== null);
    for (const e of errs.slice(0, 3)) console.log(`  error: ${e.upload.path}: ${e.error}`);
    rows.push([
      `minute ${m}`,
      String(out.length),
      String(errs.length),
      fixed(percentile(ms, 50), 0),
      fixed(percentile(ms, 99), 0),
      fixed(Math.min(...s.map((x) => x.mib)), 0),
      fixed(Math.max(...s.map((x) => x.mib)), 0),
      fixed(s.at(-1)!.mib, 0),
      heap ? fixed(await heap.usedAfterGcMiB(), 1) : "-",
    ]);
    process.stderr.write(`bench/load soak: ${rows.at(-1)!.join(" ")}\n`);
  }
  heap?.close();
  const header = [
    "soak",
    "uploads",
    "errors",
    "p50 ms",
    "p99 ms",
    "RSS min",
    "RSS max",
    "RSS end",
    "heap after GC",
  ];
  console.log(renderTable(header, rows));
  if (heapAtStart !== null)
    console.log(`gate isolate JS heap after GC at soak start: ${fixed(heapAtStart, 1)} MiB`);
  console.log(`workerd RSS before soak ${fixed(first, 0)} MiB, after ${fixed(rssMiB(pids), 0)} MiB`);
}

await main();
