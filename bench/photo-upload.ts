/**
 * A 12 MP phone photo through the gate as `npm start` runs it (issue 12), against Meta's native
 * PDQ tool on the same file, in ONE run:
 *
 *   PDQ_REFERENCE_BIN=/path/to/pdq-photo-hasher npm run bench -- photo-upload [--n=15] [--file=X.jpg] [--no-floor]
 *
 * - starts `npm start` (scripts/dev.ts: wrangler dev + the demo origin) on free loopback ports,
 *   with its local state in a temporary directory (HASHGATE_STATE_DIR) so the bench's cases and
 *   evidence never reach the developer's .wrangler/state; only SCAN_PATHS is changed
 *   (HASHGATE_DEV_VARS), to leave one path unscanned for the floor (--no-floor: defaults only);
 * - uploads the 4032x3024 fixture JPEG (raw image/jpeg POST) N times through the gate on a
 *   scanned path, N times through the gate on an unscanned path (the floor: wrangler dev's
 *   proxy and workerd without the scan) and N times straight to the demo origin, interleaved in
 *   rotating order; each must reach the origin byte-identical (its SHA-256 record);
 * - runs the reference tool on the same file in each round (one process hashing it 3 times,
 *   minus one hashing a tiny file: its start-up), as bench/pdq.ts does;
 * - proves the uploads were PDQ-hashed: afterwards the file's own full-resolution PDQ hash (the
 *   fixtures' manifest, TEST DATA) is imported into a bench list with the CLI, and one more
 *   upload of the file must answer BLOCK_STATUS with a case id (only PDQ can match: the list
 *   holds no digest); no upload may be logged unscanned or failed.
 * Prints median and p90 of gate - direct, floor - direct, the reference's time per image and
 * the ratio (gate - direct) / reference (target <= 1.0x, moonshot 0.5x). Whatever happens,
 * every process it started is stopped and checked gone (a watchdog ends the run after 900 s).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FIXTURES_DIR } from "../test/node/fixtures-dir.ts";
import { newAgent, type Timed, timedPost } from "./lib/http-client.ts";
import { cpuMs } from "./lib/proc-cpu.ts";
import { ProcessTree } from "./lib/process-tree.ts";
import { fixed, median, percentile, renderTable } from "./lib/stats.ts";

const ROOT = resolve(import.meta.dirname, "..");
const PDQ_DIR = join(FIXTURES_DIR, "pdq");
const TWELVE_MP = "images/reg-test-input/exif-rotn/exif-rotn-6.jpg";
const TINY = "images/misc-images/wee.jpg";
const REFERENCE_BIN = process.env.PDQ_REFERENCE_BIN ?? "";
const HAVE_REFERENCE = REFERENCE_BIN !== "" && existsSync(REFERENCE_BIN);
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
/** Rounds; at most 20 (a shared machine). */
const N = Math.min(20, Math.max(3, Number(arg("n") ?? 15)));
const WITH_FLOOR = !process.argv.includes("--no-floor");
const FILE = arg("file") ?? join(PDQ_DIR, TWELVE_MP);
const SCANNED = "/photos/upload";
const UNSCANNED = "/unscanned/upload";
const LIST_ID = "bench-photo";
const READY_TIMEOUT_MS = 240_000;
const WATCHDOG_MS = 900_000;
/** The gate keeps the list manifest this long per isolate (src/lists/manifest.ts MANIFEST_TTL_MS). */
const MANIFEST_TTL_MS = 30_000;

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

const stateDir = mkdtempSync(join(tmpdir(), "hashgate-photo-bench-"));
let npm: ChildProcess | null = null;
let tree: ProcessTree | null = null;
/** Every line `npm start` printed (wrangler, the Worker's log lines, the demo origin). */
const output: string[] = [];

/** Stops `npm start` as Ctrl-C would, then kills whatever of its tree is left; checks none is. */
async function stopAll(): Promise<void> {
  if (npm?.pid !== undefined && tree) {
    tree.record();
    try {
      process.kill(-npm.pid, "SIGTERM"); // npm's group: npm, sh, scripts/dev.ts (which stops wrangler's group)
    } catch {}
    const deadline = Date.now() + 12_000;
    while (tree.alive().length > 0 && Date.now() < deadline) await sleep(200);
    const killed = tree.signal("SIGKILL");
    if (killed > 0) await sleep(500);
    const left = tree.alive();
    if (left.length > 0) {
      console.error(
        `photo-upload: processes left running: ${left.map((p) => `${p.pid} ${p.comm}`).join(", ")}`,
      );
      process.exitCode = 1;
    } else {
      console.log(
        `stopped npm start: every process it started is gone${killed ? ` (${killed} needed SIGKILL)` : ""}`,
      );
    }
  }
  npm = null;
  rmSync(stateDir, { recursive: true, force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Failures and interruptions still stop everything.
process.on("exit", () => tree?.signal("SIGKILL"));
for (const sig of ["SIGINT", "SIGTERM"] as const)
  process.on(sig, () => void stopAll().finally(() => process.exit(130)));
setTimeout(() => {
  console.error(`photo-upload: watchdog: still running after ${WATCHDOG_MS / 1000} s, stopping`);
  void stopAll().finally(() => process.exit(1));
}, WATCHDOG_MS).unref();

function hashgateCli(args: string[]): string {
  return execFileSync("npx", ["hashgate", ...args, "--local", "--persist-to", stateDir], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Starts `npm start` and resolves with the gate's and the origin's URLs once it says it is running. */
async function startGate(): Promise<{ gate: string; origin: string }> {
  const [gatePort, originPort] = [await freePort(), await freePort()];
  npm = spawn("npm", ["start"], {
    cwd: ROOT,
    detached: true, // its own process group, signalled whole on stop
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      PORT: String(gatePort),
      DEMO_ORIGIN_PORT: String(originPort),
      HASHGATE_STATE_DIR: stateDir,
      HASHGATE_DEV_VARS: WITH_FLOOR ? `SCAN_PATHS=${SCANNED.replace(/[^/]*$/, "*")}` : "",
    },
  });
  tree = new ProcessTree(npm.pid!);
  let pending = "";
  const onData = (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split("\n");
    pending = lines.pop()!;
    output.push(...lines);
  };
  npm.stdout!.on("data", onData);
  npm.stderr!.on("data", onData);
  const started = Date.now();
  while (!output.some((l) => l.includes("hashgate is running"))) {
    if (npm.exitCode !== null)
      throw new Error(`npm start exited (${npm.exitCode}):\n${output.slice(-30).join("\n")}`);
    if (Date.now() - started > READY_TIMEOUT_MS)
      throw new Error(`npm start not ready after ${READY_TIMEOUT_MS / 1000} s`);
    tree.record();
    await sleep(250);
  }
  tree.record();
  console.log(
    `npm start ready in ${((Date.now() - started) / 1000).toFixed(1)} s (gate :${gatePort}, origin :${originPort})`,
  );
  return { gate: `http://127.0.0.1:${gatePort}`, origin: `http://127.0.0.1:${originPort}` };
}

/** The file's full-resolution PDQ hash from the fixtures' manifest (or `hashgate hash` for another file). */
function fullResolutionPdq(file: string): string {
  const manifest = readFileSync(join(PDQ_DIR, "manifest_ext.tsv"), "utf8").trim().split("\n");
  const cols = manifest[0]!.split("\t");
  for (const line of manifest.slice(1)) {
    const r = Object.fromEntries(line.split("\t").map((v, i) => [cols[i], v]));
    if (resolve(PDQ_DIR, r.file!) === resolve(file)) return r.fullres_hex!;
  }
  const out = execFileSync("npx", ["hashgate", "hash", file], { cwd: ROOT, encoding: "utf8" });
  const m = /\bpdq\b\W+([0-9a-f]{64})/i.exec(out);
  if (!m) throw new Error(`no PDQ hash for ${file} in: ${out}`);
  return m[1]!;
}

/** CPU time (user + system) of this process's waited-for children, in ms (/proc/self/stat cutime, cstime). */
function childrenCpuMs(): number {
  const raw = readFileSync("/proc/self/stat", "utf8");
  const fields = raw.slice(raw.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/**
 * Per-image wall and CPU ms of the reference tool on `file`: one process hashing it 3 times,
 * minus one hashing a tiny file (its start-up).
 */
function referenceMs(file: string): { wall: number; cpu: number } {
  const once = (paths: string[]) => {
    const c = childrenCpuMs();
    const t = performance.now();
    execFileSync(REFERENCE_BIN, paths, { cwd: PDQ_DIR, stdio: ["ignore", "ignore", "inherit"] });
    return { wall: performance.now() - t, cpu: childrenCpuMs() - c };
  };
  const reps = 3;
  const all = once(Array(reps).fill(file));
  const startup = once([TINY]);
  return { wall: (all.wall - startup.wall) / reps, cpu: (all.cpu - startup.cpu) / reps };
}

interface OriginRecord {
  size: number;
  sha256: string;
  path: string;
}

/** An upload that must reach the origin byte-identical. */
function forwarded(r: Timed, body: Buffer, sha: string, where: string): void {
  let rec: OriginRecord | null = null;
  try {
    rec = JSON.parse(r.text) as OriginRecord;
  } catch {}
  if (r.status !== 200 || rec?.size !== body.length || rec.sha256 !== sha)
    throw new Error(`${where}: not forwarded intact (status ${r.status}): ${r.text.slice(0, 300)}`);
}

/** The Worker's log lines for unscanned uploads and errors (a clean upload logs nothing). */
const troubleLines = () => output.filter((l) => /"hashgate":"(unscanned|error|refused)"/.test(l));

/** The bench list: created before the gate starts, holding nothing until the scan proof. */
function createBenchList(): void {
  hashgateCli([
    "lists",
    "create",
    LIST_ID,
    "--provider",
    "hashgate bench (benign test data)",
    "--licence-ref",
    "none: benign test data",
    "--licensed-until",
    "2099-12-31",
    "--allowed-uses",
    "block,review",
    "--action",
    "block",
    "--name",
    "photo-upload bench (TEST DATA: a benign fixture photo)",
  ]);
}

type Kind = "gate" | "bytes" | "floor" | "direct";

interface Measured {
  kinds: Kind[];
  times: Record<Kind, number[]>;
  /** workerd CPU ms summed over the measured uploads of each kind. */
  cpu: Record<Kind, number>;
  reference: number[];
  referenceCpu: number[];
}

/** The interleaved rounds: each kind of upload once per round, then the reference tool. */
async function measure(gate: string, origin: string, body: Buffer, sha: string): Promise<Measured> {
  const agents = { gate: newAgent(), bytes: newAgent(), floor: newAgent(), direct: newAgent() };
  const upload = { body, contentType: "image/jpeg" };
  // The breakdown: random bytes of the same size on the scanned path are held, digested and
  // looked up like the photo, but not decoded: what the image costs beyond that.
  const noise = randomBytes(body.length);
  const noiseSha = createHash("sha256").update(noise).digest("hex");
  const url: Record<Kind, string> = {
    gate: `${gate}${SCANNED}`,
    bytes: `${gate}${SCANNED}`,
    floor: `${gate}${UNSCANNED}`,
    direct: `${origin}${SCANNED}`,
  };
  const m: Measured = {
    kinds: WITH_FLOOR ? ["gate", "bytes", "floor", "direct"] : ["gate", "bytes", "direct"],
    times: { gate: [], bytes: [], floor: [], direct: [] },
    cpu: { gate: 0, bytes: 0, floor: 0, direct: 0 },
    reference: [],
    referenceCpu: [],
  };
  for (let round = -2; round < N; round++) {
    // Rotate the order so that none is always first after the reference tool ran.
    const order = m.kinds.map((_, i) => m.kinds[(i + Math.max(round, 0)) % m.kinds.length]!);
    for (const kind of order) {
      const workerd = tree!.named("workerd");
      const c0 = cpuMs(workerd);
      const r = await timedPost(
        agents[kind],
        url[kind],
        kind === "bytes" ? { body: noise, contentType: "application/octet-stream" } : upload,
      );
      if (kind === "bytes") forwarded(r, noise, noiseSha, "random-bytes upload");
      else forwarded(r, body, sha, `${kind} upload`);
      if (round < 0) continue; // warm-up: compile, tier up, first list reads
      m.times[kind].push(r.ms);
      m.cpu[kind] += cpuMs(workerd) - c0;
    }
    if (round >= 0 && HAVE_REFERENCE) {
      const ref = referenceMs(FILE);
      m.reference.push(ref.wall);
      m.referenceCpu.push(ref.cpu);
    }
  }
  const trouble = troubleLines();
  if (trouble.length > 0)
    throw new Error(`the gate logged unscanned or failed uploads:\n${trouble.join("\n")}`);
  return m;
}

/**
 * Proof that the timed path hashed the photo: once the file's own PDQ hash is listed, an upload
 * of it must be blocked and reach nothing; on the floor's path it must still be forwarded.
 */
async function scanProof(gate: string, body: Buffer, sha: string, pdq: string): Promise<void> {
  const upload = { body, contentType: "image/jpeg" };
  const listFile = join(stateDir, "bench-photo.pdq.csv");
  writeFileSync(listFile, `hash,quality,file\n${pdq},100,benign fixture photo (TEST DATA)\n`);
  const t0 = Date.now();
  hashgateCli(["lists", "import", "--list", LIST_ID, "--format", "pdq-csv", listFile]);
  await sleep(Math.max(0, MANIFEST_TTL_MS + 1_000 - (Date.now() - t0)));
  const originLines = () => output.filter((l) => l.includes("[origin]")).length;
  const before = originLines();
  const blocked = await timedPost(newAgent(), `${gate}${SCANNED}?listed`, upload);
  await sleep(500);
  const reachedOrigin = originLines() !== before;
  if (WITH_FLOOR) {
    const passed = await timedPost(newAgent(), `${gate}${UNSCANNED}?listed`, upload);
    forwarded(passed, body, sha, "listed file on the unscanned path (the floor must not scan)");
  }
  const caseId = blocked.headers["x-hashgate-case"];
  const scanned = blocked.status === 451 && typeof caseId === "string" && !reachedOrigin;
  console.log(
    `\nscan proof: the same file, once its own PDQ hash is listed (PDQ only, TEST DATA): ${blocked.status}` +
      `${caseId ? ` case ${caseId}` : ""}, origin ${reachedOrigin ? "RECEIVED IT" : "received nothing"}` +
      ` -> ${scanned ? "PDQ ran on the 12 MP upload" : "NOT BLOCKED"}`,
  );
  if (!scanned) process.exitCode = 1;
}

async function main(): Promise<void> {
  console.log(`load average at start: ${load()} (2 cores; figures are noisy above ~1)`);
  const body = readFileSync(FILE);
  const sha = createHash("sha256").update(body).digest("hex");
  const pdq = fullResolutionPdq(FILE);
  console.log(`file: ${FILE} (${body.length} bytes)`);
  console.log(
    HAVE_REFERENCE
      ? `reference: ${REFERENCE_BIN} (measured in this run)`
      : "reference: PDQ_REFERENCE_BIN not set or not found; hashgate's figures alone",
  );
  createBenchList();
  const { gate, origin } = await startGate();
  const measured = await measure(gate, origin, body, sha);
  await scanProof(gate, body, sha, pdq);
  report(measured);
}

function report({ kinds, times, cpu, reference, referenceCpu }: Measured): void {
  const diff = (a: Kind, b: Kind) => times[a].map((t, i) => t - times[b][i]!);
  const rows: string[][] = [];
  const row = (what: string, xs: number[], cpuTotal?: number) =>
    rows.push([
      what,
      String(xs.length),
      fixed(median(xs), 1),
      fixed(percentile(xs, 90), 1),
      cpuTotal === undefined ? "" : fixed(cpuTotal / xs.length, 1),
    ]);
  row("direct to the demo origin", times.direct, cpu.direct);
  row("gate, scanned path", times.gate, cpu.gate);
  row("gate, scanned path, random bytes", times.bytes, cpu.bytes);
  if (kinds.includes("floor")) row("gate, unscanned path (floor)", times.floor, cpu.floor);
  const added = diff("gate", "direct");
  row("gate - direct (added by the gate)", added);
  if (kinds.includes("floor")) {
    row("floor - direct (wrangler dev proxy)", diff("floor", "direct"));
    row("gate - floor (the scan itself)", diff("gate", "floor"));
    row("  random bytes - floor (hold, digests, lookups)", diff("bytes", "floor"));
  }
  row("  gate - random bytes (decode, PDQ hash, PDQ lookup)", diff("gate", "bytes"));
  if (reference.length > 0) {
    row(
      "reference tool, per image",
      reference,
      referenceCpu.reduce((a, b) => a + b, 0),
    );
  }
  console.log(`\n12 MP JPEG upload, ms (${N} interleaved rounds after 2 warm-up rounds)`);
  console.log(renderTable(["measure", "n", "median", "p90", "workerd CPU ms/upload"], rows));
  console.log(
    "  pairs are per round (gate and direct of the same round); CPU: workerd's user+system time per upload",
  );
  console.log(`load average at end: ${load()}`);
  if (reference.length > 0) {
    const ratio = median(added) / median(reference);
    console.log(`\ntargets (issue 12):`);
    console.log(
      `  ${ratio <= 1 ? "PASS" : "MISS"}  12 MP JPEG through the gate (gate - direct) <= 1.0x the reference tool: measured ${fixed(ratio, 2)}x`,
    );
    console.log(`  ${ratio <= 0.5 ? "PASS" : "MISS"}  moonshot <= 0.5x: measured ${fixed(ratio, 2)}x`);
    if (kinds.includes("floor")) {
      const scanRatio = median(diff("gate", "floor")) / median(reference);
      console.log(`  (the scan alone, gate - floor: ${fixed(scanRatio, 2)}x the reference)`);
    }
    // CPU is the steadier figure on a loaded machine: wall times there include waiting for a core.
    if (loadavg()[0]! > 2)
      console.log(
        "  (load average above 2: the wall-time ratios above depend on scheduling; quote the CPU line)",
      );
    const refCpu = referenceCpu.reduce((a, b) => a + b, 0) / referenceCpu.length;
    const gateCpu = (cpu.gate - cpu.direct) / times.gate.length;
    const floorCpu = kinds.includes("floor") ? cpu.floor / times.floor.length : Number.NaN;
    console.log(
      `  CPU: the gate's workerd ${fixed(gateCpu, 1)} ms per upload (${fixed(gateCpu - floorCpu, 1)} above the floor)` +
        ` against the reference's ${fixed(refCpu, 1)} ms per image: ${fixed(gateCpu / refCpu, 2)}x` +
        ` (${fixed((gateCpu - floorCpu) / refCpu, 2)}x above the floor)`,
    );
  } else {
    console.log(
      "\nratio not measured: set PDQ_REFERENCE_BIN to a pdq-photo-hasher build (../shared/fixtures/pdq/README.md)",
    );
  }
}

try {
  await main();
} catch (e) {
  console.error(`photo-upload: ${(e as Error).stack ?? e}`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
