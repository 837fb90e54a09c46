/**
 * Hash-list import (issues 4 and 14): streams N random MD5 hashes (TEST DATA, default 10M) through
 * the CLI's import path (parse → membership records → prefilter → key set → entry shards →
 * manifest) into the bulk-file sink (wrangler bulk files, each deleted once written: the sink,
 * not KV itself, whose local bulk put costs ~4 s of wrangler start-up per 10,000 pairs).
 *
 * Same run, same file, each import in its own Node process (so peak RSS is its own):
 * - **unkeyed**: the import path as it was before list keying (`src/` of BASELINE_REF, extracted
 *   from git into a temporary directory), the baseline of issue 14's "within 1.5×" target;
 * - **keyed**: today's path (HMAC tag per digest, sealed entry shards).
 * Prints throughput, time, peak RSS, the keyed/unkeyed ratio, prefilter bits/hash and its
 * false-positive rate on 1M random MD5 hashes not in the list (keyed: probed by their tags).
 *
 *   npx node bench/lists.ts [--n 10000000] [--baseline-ref a1f1f26] [--rounds 1]
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  createReadStream,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  unlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BulkFileStore } from "../src/cli/bulk-file-store.ts";
import { runImport } from "../src/cli/lists-import.ts";
import { cliKeyring } from "../src/cli/node-list-key.ts";
import { createList } from "../src/lists/govern.ts";
import { numberedLines } from "../src/lists/import/lines.ts";
import { tagInput } from "../src/lists/keyring.ts";
import { tagKeyPair } from "../src/lists/membership.ts";
import { Prefilter } from "../src/lists/prefilter.ts";
import { fixed, renderTable } from "./lib/stats.ts";

/** The last commit before list keying (issue 14): its import path is the unkeyed baseline. */
const BASELINE_REF = "a1f1f26";
const REPO = join(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    n: { type: "string", default: "10000000" },
    "baseline-ref": { type: "string", default: BASELINE_REF },
    rounds: { type: "string", default: "1" },
    child: { type: "string" },
    file: { type: "string" },
    src: { type: "string" },
  },
  strict: false,
});
const N = Number(values.n);
const TARGET_MS = 5 * 60_000;
const TARGET_RSS = 1.5e9;
const TARGET_RATIO = 1.5;
const FPR_PROBES = 1_000_000;

interface ChildResult {
  ms: number;
  /** CPU time (user + system) of the import: steadier than wall time on a shared machine. */
  cpuMs: number;
  peak: number;
  adds: number;
  exact: number;
  prefilterBytes: number;
  fpr: number | null;
  files: number;
  pairs: number;
}

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

const NEW_LIST = {
  id: "bench",
  provider: "bench",
  licenceRef: "test data",
  licensedUntil: "2099-12-31",
  allowedUses: ["block"],
  action: "block",
};

/** One import in this process: `keyed` with today's code, `unkeyed` with the baseline's src/. */
async function child(kind: string, file: string, dir: string): Promise<ChildResult> {
  const old = kind === "unkeyed" ? values.src : undefined;
  const mod = (p: string) => import(old ? join(String(old), p) : join(REPO, "src", p));
  const { BulkFileStore: Store } = old ? await mod("cli/bulk-file-store.ts") : { BulkFileStore };
  const { runImport: run } = old ? await mod("cli/lists-import.ts") : { runImport };
  const { createList: create } = old ? await mod("lists/govern.ts") : { createList };
  const store = new Store(join(dir, "bulk"), async (f: string) => unlinkSync(f));
  await create(store, NEW_LIST);
  const keys = await cliKeyring("local", {});
  const t = performance.now();
  const cpu = process.cpuUsage();
  const { result, tally } = await run({
    store,
    listId: "bench",
    format: "plain",
    file,
    options: {},
    actor: "bench",
    keys,
    target: "bench",
    checkpointPath: join(dir, "checkpoint.json"),
  });
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  const peak = peakRssBytes();
  const blob = (await store.getBytes("lists/bench/v/1/prefilter")) as Uint8Array;
  let fpr: number | null = null;
  if (!old) {
    const filter = Prefilter.parse(blob);
    const probes = randomBytes(16 * FPR_PROBES).toString("hex");
    const inputs = Array.from({ length: FPR_PROBES }, (_, i) =>
      tagInput("md5", probes.slice(32 * i, 32 * i + 32)),
    );
    const tags = await keys.current.tags(inputs);
    let fp = 0;
    for (let i = 0; i < FPR_PROBES; i++) {
      const [lo, hi] = tagKeyPair(tags, 16 * i);
      if (filter.has(lo, hi)) fp++;
    }
    fpr = fp / FPR_PROBES;
  }
  return {
    ms,
    cpuMs,
    peak,
    adds: tally.adds,
    exact: result.exactEntries ?? 0,
    prefilterBytes: blob.length,
    fpr,
    files: store.writer.filesWritten,
    pairs: store.writer.pairsWritten,
  };
}

function runChild(kind: string, file: string, src: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const args = [import.meta.filename, "--child", kind, "--file", file, "--src", src, "--n", String(N)];
    const p = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
    });
    p.on("exit", (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split("\n").at(-1)!))
        : reject(new Error(`${kind} import failed`)),
    );
  });
}

if (values.child) {
  const dir = mkdtempSync(join(String(values.file), "..", `child-${values.child}-`));
  try {
    console.log(JSON.stringify(await child(String(values.child), String(values.file), dir)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
} else {
  const dir = mkdtempSync(join(tmpdir(), "hashgate-bench-lists-"));
  try {
    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    const ref = String(values["baseline-ref"]);
    console.log(
      `lists: ${N.toLocaleString("en")} random MD5 hashes (test data); baseline ${ref}; load ${load}`,
    );
    // The baseline's src/ (its import path needs no package from node_modules).
    const src = join(dir, "baseline");
    mkdirSync(src);
    execFileSync("sh", ["-c", `git -C "${REPO}" archive ${ref} src | tar -x -C "${src}"`]);
    const file = join(dir, "list.txt");
    await writeList(file);
    let t = performance.now();
    let lines = 0;
    for await (const _ of numberedLines(createReadStream(file))) lines++;
    const readMs = performance.now() - t;

    const unkeyed: ChildResult[] = [];
    const keyed: ChildResult[] = [];
    // Alternated, so a change in the machine's load hits both alike.
    for (let r = 0; r < Number(values.rounds); r++) {
      unkeyed.push(await runChild("unkeyed", file, join(src, "src")));
      keyed.push(await runChild("keyed", file, join(src, "src")));
    }
    t = performance.now();
    // The fastest round of each: load from other processes only ever adds time.
    const best = (xs: ChildResult[]) => xs.reduce((a, b) => (b.ms < a.ms ? b : a));
    const [u, k] = [best(unkeyed), best(keyed)];
    const rate = (n: number, ms: number) => `${Math.round((n * 1000) / ms).toLocaleString("en")}/s`;
    const row = (name: string, c: ChildResult) => [
      name,
      `${fixed(c.ms / 1000, 1)} s`,
      `${fixed(c.cpuMs / 1000, 1)} s`,
      rate(c.adds, c.ms),
      `${fixed(c.peak / 1e6, 0)} MB`,
      `${fixed(c.ms / u.ms, 2)}×`,
      `${fixed(c.cpuMs / u.cpuMs, 2)}×`,
    ];
    console.log(
      renderTable(
        ["step", "wall", "CPU", "rate", "peak RSS", "wall vs unkeyed", "CPU vs unkeyed"],
        [
          [
            "read lines",
            `${fixed(readMs / 1000, 1)} s`,
            "",
            rate(lines, readMs),
            "",
            `${fixed(readMs / u.ms, 2)}×`,
            "",
          ],
          row(`unkeyed import (${ref})`, u),
          row("keyed import", k),
        ],
      ),
    );
    const bits = (k.prefilterBytes * 8) / (k.exact || 1);
    const big = N >= 10_000_000;
    console.log(
      renderTable(
        ["measure", "value", "target", ""],
        [
          [
            "keyed / unkeyed wall time",
            `${fixed(k.ms / u.ms, 2)}×`,
            `≤ ${TARGET_RATIO}×`,
            k.ms / u.ms <= TARGET_RATIO ? "PASS" : "MISS",
          ],
          [
            "keyed / unkeyed CPU time",
            `${fixed(k.cpuMs / u.cpuMs, 2)}×`,
            `≤ ${TARGET_RATIO}×`,
            k.cpuMs / u.cpuMs <= TARGET_RATIO ? "PASS" : "MISS",
          ],
          [
            "keyed import time",
            `${fixed(k.ms / 1000, 1)} s`,
            "< 300 s (10M)",
            big ? (k.ms < TARGET_MS ? "PASS" : "MISS") : "n/a",
          ],
          [
            "keyed peak RSS",
            `${fixed(k.peak / 1e6, 0)} MB`,
            "< 1500 MB (10M)",
            big ? (k.peak < TARGET_RSS ? "PASS" : "MISS") : "n/a",
          ],
          [
            "prefilter",
            `${fixed(bits, 2)} bits/hash, ${fixed(k.prefilterBytes / 1e6, 1)} MB`,
            "≤ 10",
            bits <= 10 ? "PASS" : "MISS",
          ],
          [
            "false positives",
            `${fixed((k.fpr ?? 0) * 100, 3)}% of ${FPR_PROBES.toLocaleString("en")}`,
            "≤ 0.5%",
            (k.fpr ?? 1) <= 0.005 ? "PASS" : "MISS",
          ],
          [
            "bulk files (keyed)",
            `${k.files} (${k.pairs.toLocaleString("en")} pairs)`,
            "≤ 10,000 pairs each",
            "",
          ],
        ],
      ),
    );
    if (unkeyed.length > 1)
      console.log(
        `all rounds (s): unkeyed ${unkeyed.map((c) => fixed(c.ms / 1000, 1)).join(", ")}; keyed ${keyed.map((c) => fixed(c.ms / 1000, 1)).join(", ")}`,
      );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
