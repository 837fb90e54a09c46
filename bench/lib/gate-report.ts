/** The gate benchmark's printed output: environment, results table, targets. */
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import type { BuiltWorker, GateRuntime } from "./gate-runtime.ts";
import type { CaseResult } from "./measure.ts";
import type { Origin } from "./origin.ts";
import { fixed, MiB, median, percentile, renderTable } from "./stats.ts";

/** Issue 2's targets. */
export const TARGET_ADDED_MS_1MIB = 5;
export const TARGET_THROUGHPUT_RATIO_50MIB = 0.7;

export interface EnvInfo {
  build: BuiltWorker;
  gate: GateRuntime;
  origin: Origin;
  seeded: number;
  listId: string;
}

function miniflareVersions(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(join(import.meta.dirname, "../../node_modules/miniflare/package.json"), "utf8"),
    );
    return `miniflare ${pkg.version}, workerd ${pkg.dependencies?.workerd ?? "?"}`;
  } catch {
    return "miniflare ?";
  }
}

export function environmentLines(e: EnvInfo): string[] {
  const v = e.gate.vars;
  return [
    "hashgate gate benchmark (loopback; sizes in KiB/MiB; throughput in MiB/s)",
    `  node ${process.version}, ${miniflareVersions()}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}`,
    loadLine("start"),
    `  worker bundled by wrangler deploy --dry-run in ${(e.build.buildMs / 1000).toFixed(1)} s`,
    `  gate ${e.gate.url} (workerd pid ${e.gate.workerdPids.join(",")}) → origin ${e.origin.url} (node pid ${e.origin.pid})`,
    `  HOLD_MEMORY_BYTES=${v.HOLD_MEMORY_BYTES ?? "(default)"} MAX_BODY_BYTES=${v.MAX_BODY_BYTES ?? "(default)"} FAIL_MODE=${v.FAIL_MODE ?? "(default)"}`,
    `  list "${e.listId}": ${e.seeded} digests (md5, sha1, sha256; random test digests + the listed payload), published with its prefilter as \`hashgate lists\` does`,
    "",
  ];
}

function mibPerS(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}

function row(r: CaseResult): string[] {
  const d = median(r.directMs);
  const g = median(r.gateMs);
  const hasDirect = r.directMs.length > 0;
  const mib = (r.bytes * r.gateMs.length) / MiB;
  return [
    r.name,
    String(r.gateMs.length),
    hasDirect ? fixed(d, 2) : "-",
    fixed(g, 2),
    fixed(percentile(r.gateMs, 90), 2),
    hasDirect ? fixed(g - d, 2) : "-",
    hasDirect ? fixed(mibPerS(r.bytes, d), 1) : "-",
    fixed(mibPerS(r.bytes, g), 1),
    hasDirect ? `${fixed(d / g, 2)}x` : "-",
    fixed(r.gateCpuMs / mib, 1),
    fixed(r.gateCpuMs / r.gateMs.length, 2),
  ];
}

const HEADER = [
  "case",
  "n",
  "direct ms",
  "gate ms",
  "gate p90",
  "added ms",
  "direct MiB/s",
  "gate MiB/s",
  "thr ratio",
  "CPU ms/MiB",
  "CPU ms/req",
];

/** The results table (one row per case). */
export function resultTable(results: CaseResult[]): string {
  return renderTable(HEADER, results.map(row));
}

/** PASS/MISS lines for issue 2's targets, from the main run's "1 MiB raw" and "50 MiB raw". */
export function targetLines(results: CaseResult[]): string[] {
  const lines: string[] = [];
  const byName = new Map(results.map((r) => [r.name, r]));
  const oneMiB = byName.get("1 MiB raw");
  const fifty = byName.get("50 MiB raw");
  if (oneMiB) {
    const added = median(oneMiB.gateMs) - median(oneMiB.directMs);
    lines.push(
      target(
        `clean 1 MiB upload: added median latency ≤ ${TARGET_ADDED_MS_1MIB} ms`,
        `${fixed(added, 2)} ms`,
        added <= TARGET_ADDED_MS_1MIB,
      ),
    );
    if (oneMiB.floorMs.length > 0) {
      const floorAdded = median(oneMiB.floorMs) - median(oneMiB.directMs);
      lines.push(
        `        floor hold, interleaved with these uploads: adds ${fixed(floorAdded, 2)} ms; ` +
          `the gate adds ${fixed(added - floorAdded, 2)} ms more than the floor`,
      );
    }
  }
  if (fifty) {
    const ratio = median(fifty.directMs) / median(fifty.gateMs);
    lines.push(
      target(
        `50 MiB upload: throughput ≥ ${TARGET_THROUGHPUT_RATIO_50MIB}x direct`,
        `${fixed(ratio, 2)}x`,
        ratio >= TARGET_THROUGHPUT_RATIO_50MIB,
      ),
    );
    if (fifty.floorMs.length > 0) {
      lines.push(
        `        floor hold (in memory), interleaved with these uploads: ` +
          `${fixed(median(fifty.directMs) / median(fifty.floorMs), 2)}x direct`,
      );
    }
  }
  return lines;
}

/**
 * The gate against a Worker that only proxies, both in workerd: what scanning itself costs,
 * apart from workerd's own overhead (which no gate design can remove).
 */
export function versusReferences(results: CaseResult[]): string[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  const lines: string[] = [];
  for (const size of ["1 MiB raw", "50 MiB raw"]) {
    const gate = byName.get(size);
    if (!gate) continue;
    const g = median(gate.gateMs);
    for (const [ref, label] of [
      ["pass-through", "pass-through Worker"],
      ["memory hold", "memory hold"],
    ] as const) {
      const other = byName.get(`${ref}: ${size}`);
      if (!other) continue;
      const o = median(other.gateMs);
      const diff = g - o;
      lines.push(
        `  ${size}: gate vs ${label}: ${diff >= 0 ? "+" : ""}${fixed(diff, 2)} ms median, throughput ${fixed(o / g, 2)}x`,
      );
    }
  }
  return lines;
}

/**
 * What the floor Worker says about the targets: the least added latency any hold-mode gate
 * computing the three digests can reach at 1 MiB, and the most throughput any gate computing
 * them (holding or streaming) can reach at 50 MiB, both measured in this run.
 */
export function floorLines(results: CaseResult[]): string[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  const lines: string[] = [];
  const hold = byName.get("floor hold: 1 MiB raw");
  if (hold) {
    const added = median(hold.gateMs) - median(hold.directMs);
    lines.push(
      `  1 MiB: a hold-mode gate doing nothing but read, digest and forward adds ${fixed(added, 2)} ms ` +
        `(target ≤ ${TARGET_ADDED_MS_1MIB} ms: ${added <= TARGET_ADDED_MS_1MIB ? "within reach" : "out of reach for any hold-mode gate here"})`,
    );
  }
  for (const size of ["1 MiB raw", "50 MiB raw"]) {
    const h = byName.get(`floor hold: ${size}`);
    const st = byName.get(`floor stream: ${size}`);
    if (h && st) {
      lines.push(
        `  ${size}: streaming instead of holding would save ${fixed(median(h.gateMs) - median(st.gateMs), 2)} ms ` +
          `of ${fixed(median(h.gateMs), 2)} (floor stream vs floor hold)`,
      );
    }
  }
  const digests = byName.get("floor digests: 50 MiB raw");
  if (digests) {
    const ratio = median(digests.directMs) / median(digests.gateMs);
    lines.push(
      `  50 MiB: reading and digesting alone, with no forwarding, reaches ${fixed(ratio, 2)}x direct ` +
        `(target ≥ ${TARGET_THROUGHPUT_RATIO_50MIB}x: ${ratio >= TARGET_THROUGHPUT_RATIO_50MIB ? "within reach" : "out of reach for any gate computing these digests here, holding or streaming"})`,
    );
  }
  return lines;
}

/** The load average, flagged when other processes compete for the cores the benchmark uses. */
export function loadLine(when: string): string {
  const load = loadavg();
  const busy = load[0]! > cpus().length - 0.5 ? " (busy: other processes compete, figures are noisy)" : "";
  return `  load average at ${when}: ${load.map((x) => x.toFixed(2)).join(" ")}${busy}`;
}

function target(what: string, measured: string, ok: boolean): string {
  return `  ${ok ? "PASS" : "MISS"}  ${what}: measured ${measured}`;
}
