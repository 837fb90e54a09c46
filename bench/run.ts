/**
 * `npm run bench`: runs every benchmark in bench/ (each `bench/<name>.ts` except this runner),
 * one after another, each in its own Node process so that one's servers, workerd instances
 * and memory cannot skew the next. Name benchmarks to run only those:
 *
 *   npm run bench                 every bench/*.ts
 *   npm run bench -- gate pdq     bench/gate.ts, then bench/pdq.ts
 *   npm run bench -- gate --breakdown   options (words starting with "-") go to every benchmark
 *   npm run bench -- photo-upload       a 12 MP photo through `npm start` against Meta's PDQ tool
 *
 * Each benchmark prints its own table. Exits non-zero if any benchmark crashed (a missed
 * target is printed as MISS by the benchmark itself and is not a crash).
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { basename, join } from "node:path";

const BENCH_DIR = import.meta.dirname;
const SELF = basename(import.meta.filename);

function available(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((f) => f.endsWith(".ts") && f !== SELF && !f.endsWith(".d.ts"))
    .map((f) => f.slice(0, -".ts".length))
    .sort();
}

function runOne(name: string, options: string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(BENCH_DIR, `${name}.ts`), ...options], {
      stdio: "inherit",
      env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    });
    // Pass Ctrl-C on to the benchmark so it stops what it started; then stop waiting for it.
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward).on("SIGTERM", forward);
    child.on("exit", (code, signal) => {
      process.off("SIGINT", forward).off("SIGTERM", forward);
      resolve(code ?? (signal ? 128 : 1));
    });
    child.on("error", (e) => {
      console.error(`bench: cannot start ${name}:`, e);
      resolve(1);
    });
  });
}

async function main(): Promise<void> {
  const all = available();
  const args = process.argv.slice(2);
  const options = args.filter((a) => a.startsWith("-"));
  const asked = args.filter((a) => !a.startsWith("-")).map((a) => basename(a).replace(/\.ts$/, ""));
  const unknown = asked.filter((a) => !all.includes(a));
  if (unknown.length > 0) {
    console.error(`bench: no such benchmark: ${unknown.join(", ")} (available: ${all.join(", ")})`);
    process.exitCode = 2;
    return;
  }
  const names = asked.length > 0 ? asked : all;
  const failed: string[] = [];
  for (const name of names) {
    console.log(`\n=== bench/${name}.ts ===`);
    const started = performance.now();
    const code = await runOne(name, options);
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`=== bench/${name}.ts: ${code === 0 ? "done" : `FAILED (exit ${code})`} in ${secs} s ===`);
    if (code !== 0) failed.push(name);
  }
  if (failed.length > 0) {
    console.error(`\nbench: crashed: ${failed.join(", ")}`);
    process.exitCode = 1;
  }
}

await main();
