/**
 * Benchmark of origin signing (issue 10): the gate as configured against the same gate with
 * ORIGIN_SIGNING_KEY set, which also hashes each scanned body with SHA-256 (in the scan's one
 * pass) and signs every forwarded request. Two workerd instances from one build, the same
 * list; rounds alternate between them so drift in machine load hits both alike. Prints median
 * latency and workerd CPU per MiB for each, and the signed gate's ratios.
 *
 *   npx node bench/signing.ts        (or: npm run bench -- signing)
 */
import { join } from "node:path";
import { publishBenchList } from "./lib/bench-list.ts";
import { cleanCase } from "./lib/gate-cases.ts";
import { loadLine } from "./lib/gate-report.ts";
import { buildWorker, type GateRuntime, removeBuild, startGate } from "./lib/gate-runtime.ts";
import { newAgent } from "./lib/http-client.ts";
import { type CaseResult, idleCpuRate, type Probe, runCase } from "./lib/measure.ts";
import { type Origin, startOrigin } from "./lib/origin.ts";
import { rawPayload } from "./lib/payloads.ts";
import { fixed, MiB, median, renderTable } from "./lib/stats.ts";

const REPO_ROOT = join(import.meta.dirname, "..");
const KEY = "bench-origin-signing-key-0123456789abcdef";
/** Alternating rounds per size; each round is one case on each gate. */
const ROUNDS = 3;
const SIZES = [
  { name: "1 MiB raw", bytes: MiB, iterations: 6 },
  { name: "20 MiB raw", bytes: 20 * MiB, iterations: 3 },
];
const WATCHDOG_MS = 280_000;
/** What main started, stopped by main or by the watchdog. */
const running: { stop: () => Promise<void> }[] = [];

interface Pooled {
  ms: number[];
  cpuMs: number;
  mib: number;
}

async function probeFor(gate: GateRuntime, origin: Origin): Promise<Probe> {
  const probe: Probe = {
    direct: { url: origin.url, agent: newAgent() },
    gate: { url: gate.url, agent: newAgent() },
    workerdPids: gate.workerdPids,
    idleCpuPerMs: 0,
    deadline: Number.POSITIVE_INFINITY,
  };
  await runCase({ ...cleanCase("warm-up", rawPayload(MiB), "/bench/warm-up", 0, 3), direct: false }, probe);
  probe.idleCpuPerMs = await idleCpuRate(gate.workerdPids, 1_000);
  return probe;
}

function pool(into: Pooled, r: CaseResult): void {
  into.ms.push(...r.gateMs);
  into.cpuMs += r.gateCpuMs;
  into.mib += (r.gateMs.length * r.bytes) / MiB;
}

async function main(): Promise<void> {
  const build = buildWorker(REPO_ROOT);
  const origin = await startOrigin();
  running.push(origin);
  const gates: GateRuntime[] = [];
  try {
    for (const vars of [{}, { ORIGIN_SIGNING_KEY: KEY }] as Record<string, string>[]) {
      const gate = await startGate(REPO_ROOT, build, { ORIGIN_URL: origin.url, ...vars });
      gates.push(gate);
      running.push(gate);
      await publishBenchList(gate.kv, rawPayload(MiB).body, 300);
    }
    const probes = [await probeFor(gates[0]!, origin), await probeFor(gates[1]!, origin)];
    console.log(loadLine("start"));
    const rows: string[][] = [];
    for (const size of SIZES) {
      const payload = rawPayload(size.bytes);
      const pooled: Pooled[] = [0, 1].map(() => ({ ms: [], cpuMs: 0, mib: 0 }));
      for (let round = 0; round < ROUNDS; round++) {
        // Alternate which gate goes first in a round.
        for (const g of round % 2 === 0 ? [0, 1] : [1, 0]) {
          const spec = {
            ...cleanCase(size.name, payload, `/bench/signing-${g}`, size.iterations, 1, 60_000),
            direct: false,
          };
          process.stderr.write(
            `bench/signing: ${size.name}, ${g === 0 ? "unsigned" : "signed"}, round ${round + 1}\n`,
          );
          pool(pooled[g]!, await runCase(spec, probes[g]!));
        }
      }
      const [plain, signed] = pooled as [Pooled, Pooled];
      const perMiB = (p: Pooled) => p.cpuMs / p.mib;
      rows.push([
        size.name,
        String(plain.ms.length),
        fixed(median(plain.ms), 2),
        fixed(median(signed.ms), 2),
        `${fixed(median(signed.ms) / median(plain.ms), 2)}x`,
        fixed(perMiB(plain), 1),
        fixed(perMiB(signed), 1),
        `${fixed(perMiB(signed) / perMiB(plain), 2)}x`,
      ]);
    }
    console.log(
      renderTable(
        ["case", "n", "gate ms", "signed ms", "time ratio", "CPU ms/MiB", "signed CPU ms/MiB", "CPU ratio"],
        rows,
      ),
    );
    console.log(loadLine("end"));
  } finally {
    for (const g of gates) await g.stop().catch(() => undefined);
    await origin.stop();
    removeBuild(build);
  }
}

const watchdog = setTimeout(async () => {
  console.error(`bench/signing: still running after ${WATCHDOG_MS / 1000} s, stopping`);
  for (const r of running) await r.stop().catch(() => undefined);
  process.exit(2);
}, WATCHDOG_MS);
main()
  .then(() => clearTimeout(watchdog))
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
