/**
 * Hash-list import (issue 4): streams N random MD5 hashes (TEST DATA, default 10M) through the
 * CLI's import path (parse → membership records → prefilter → key set → manifest) into the
 * bulk-file sink (wrangler bulk files, each deleted once written: the sink, not KV itself,
 * whose local bulk put costs ~4 s of wrangler start-up per 10,000 pairs). Reports throughput,
 * elapsed time and peak RSS against the targets (< 5 min, < 1.5 GB for 10M), prefilter
 * bits/hash and its false-positive rate measured on 1M random MD5 hashes not in the list.
 * Baseline, same run: only reading the file's lines.
 *
 *   npx node bench/lists.ts [--n 10000000]
 */
import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BulkFileStore } from "../src/cli/bulk-file-store.ts";
import { runImport } from "../src/cli/lists-import.ts";
import { cliKeyring } from "../src/cli/node-list-key.ts";
import { foldDigest } from "../src/lists/fold.ts";
import { createList } from "../src/lists/govern.ts";
import { numberedLines } from "../src/lists/import/lines.ts";
import { Prefilter } from "../src/lists/prefilter.ts";
import { fixed, renderTable } from "./lib/stats.ts";

const { values } = parseArgs({ options: { n: { type: "string", default: "10000000" } }, strict: false });
const N = Number(values.n);
const TARGET_MS = 5 * 60_000;
const TARGET_RSS = 1.5e9;
const FPR_PROBES = 1_000_000;

function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

async function writeList(file: string): Promise<void> {
  const out = createWriteStream(file);
  const PER = 100_000;
  for (let done = 0; done < N; done += PER) {
    const n = Math.min(PER, N - done);
    const bytes = randomBytes(16 * n).toString("hex");
    let chunk = "";
    for (let i = 0; i < n; i++) chunk += `${bytes.slice(32 * i, 32 * i + 32)}\n`;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
  }
  await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
}

const dir = mkdtempSync(join(tmpdir(), "hashgate-bench-lists-"));
try {
  console.log(
    `lists: ${N.toLocaleString("en")} random MD5 hashes (test data); load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`,
  );
  const file = join(dir, "list.txt");
  await writeList(file);

  let t = performance.now();
  let lines = 0;
  for await (const _ of numberedLines(createReadStream(file))) lines++;
  const readMs = performance.now() - t;

  const store = new BulkFileStore(join(dir, "bulk"), async (f) => unlinkSync(f));
  await createList(store, {
    id: "bench",
    provider: "bench",
    licenceRef: "test data",
    licensedUntil: "2099-12-31",
    allowedUses: ["block"],
    action: "block",
  });
  t = performance.now();
  const { result, tally } = await runImport({
    store,
    listId: "bench",
    format: "plain",
    file,
    options: {},
    actor: "bench",
    keys: await cliKeyring("local", {}),
    target: "bench",
    checkpointPath: join(dir, "checkpoint.json"),
  });
  const importMs = performance.now() - t;
  const peak = peakRssBytes();

  const blob = (await store.getBytes("lists/bench/v/1/prefilter"))!;
  const filter = Prefilter.parse(blob);
  const probes = randomBytes(16 * FPR_PROBES).toString("hex");
  let fp = 0;
  for (let i = 0; i < FPR_PROBES; i++) {
    const k = foldDigest("md5", probes.slice(32 * i, 32 * i + 32));
    if (filter.has(k[0]!, k[1]!)) fp++;
  }
  const fpr = fp / FPR_PROBES;
  const bits = (blob.length * 8) / (result.exactEntries ?? 1);

  const rate = (n: number, ms: number) => `${Math.round((n * 1000) / ms).toLocaleString("en")}/s`;
  console.log(
    renderTable(
      ["step", "time", "rate", "vs read"],
      [
        ["read lines (baseline)", `${fixed(readMs / 1000, 1)} s`, rate(lines, readMs), "1.00×"],
        [
          "import + publish",
          `${fixed(importMs / 1000, 1)} s`,
          rate(tally.adds, importMs),
          `${fixed(importMs / readMs, 2)}×`,
        ],
      ],
    ),
  );
  console.log(
    renderTable(
      ["measure", "value", "target", ""],
      [
        [
          "import time",
          `${fixed(importMs / 1000, 1)} s`,
          "< 300 s (10M)",
          N < 10_000_000 ? "n/a" : importMs < TARGET_MS ? "PASS" : "MISS",
        ],
        [
          "peak RSS",
          `${fixed(peak / 1e6, 0)} MB`,
          "< 1500 MB (10M)",
          N < 10_000_000 ? "n/a" : peak < TARGET_RSS ? "PASS" : "MISS",
        ],
        [
          "prefilter",
          `${fixed(bits, 2)} bits/hash, ${fixed(blob.length / 1e6, 1)} MB`,
          "≤ 10",
          bits <= 10 ? "PASS" : "MISS",
        ],
        [
          "false positives",
          `${fixed(fpr * 100, 3)}% of ${FPR_PROBES.toLocaleString("en")}`,
          "≤ 0.5%",
          fpr <= 0.005 ? "PASS" : "MISS",
        ],
        [
          "bulk files",
          `${store.writer.filesWritten} (${store.writer.pairsWritten.toLocaleString("en")} pairs)`,
          "≤ 10,000 pairs each",
          "",
        ],
      ],
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
