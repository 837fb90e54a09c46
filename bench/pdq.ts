/**
 * PDQ benchmark (Node 22, same WASM core and decoders as the Worker), against Meta's native
 * reference tool measured IN THE SAME RUN:
 * - decode + hash per image over the 34 fixtures, the gate's way (JPEG luma decoded reduced,
 *   src/image/jpeg-scaled.ts), vs `pdq-photo-hasher` (libjpeg-turbo, 512x512 shrink, hash);
 *   also per format: the 29 JPEGs and the 5 PNGs (inflated and unfiltered in the core, png-rows.ts);
 * - the same for the 12 MP fixture JPEG (4032x3024);
 * - per image: PDQ distance of the gate's hash to the full-resolution reference hash;
 * - query time of PdqIndex for 10k/100k/1M hashes; the core's memory for a 50 MP image.
 * The reference is found through PDQ_REFERENCE_BIN (a build of ThreatExchange's pdq/cpp with
 * -Dcimg_use_jpeg -Dcimg_use_png, kept outside the repository: ../shared/fixtures/pdq/README.md).
 * Without it hashgate's figures are printed alone. Its time per image is taken the way the
 * tool runs: one process hashing every file ROUNDS times, minus a process hashing one tiny file.
 *
 *   PDQ_REFERENCE_BIN=/path/to/pdq-photo-hasher npx node bench/pdq.ts [--images]   (or npm run bench -- pdq)
 * Images are the benign PDQ fixtures; the index holds random 256-bit values (test data).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { decodeImage } from "../src/image/decode.ts";
import { coreHasher } from "../src/image/jpeg-scaled.ts";
import { bytesToHex, PdqHasher } from "../src/pdq/core.ts";
import { PdqIndex } from "../src/pdq/index.ts";
import { hamming } from "../test/helpers/pdq-distance.ts";
import { FIXTURES_DIR } from "../test/node/fixtures-dir.ts";
import { workerdQueryMs } from "./lib/pdq-workerd.ts";
import { fixed, median, renderTable } from "./lib/stats.ts";

const FIXTURES = pathToFileURL(`${join(FIXTURES_DIR, "pdq")}/`);
const CORE = new WebAssembly.Module(readFileSync(new URL("../wasm/build/core.wasm", import.meta.url)));
const LIMITS = { maxPixels: 250_000_000 };
const REFERENCE_BIN = process.env.PDQ_REFERENCE_BIN ?? "";
const HAVE_REFERENCE = REFERENCE_BIN !== "" && existsSync(REFERENCE_BIN);
/** Interleaved rounds of (hashgate, reference); medians are reported. */
const ROUNDS = 5;
const TWELVE_MP = "images/reg-test-input/exif-rotn/exif-rotn-6.jpg";
const TINY = "images/misc-images/wee.jpg";

/** Target lines collected while measuring, printed at the end. */
const targets: string[] = [];
function target(ok: boolean, what: string, measured: string): void {
  targets.push(`  ${ok ? "PASS" : "MISS"}  ${what}: measured ${measured}`);
}

interface Fixture {
  file: string;
  bytes: Uint8Array;
  width: number;
  height: number;
  fullres: string;
  quality: number;
  cli: string;
}

function fixtures(): Fixture[] {
  const [head, ...lines] = readFileSync(new URL("manifest_ext.tsv", FIXTURES), "utf8").trim().split("\n");
  const cols = head!.split("\t");
  return lines.map((line) => {
    const r = Object.fromEntries(line.split("\t").map((v, i) => [cols[i], v]));
    return {
      file: r.file!,
      bytes: new Uint8Array(readFileSync(new URL(r.file!, FIXTURES))),
      width: Number(r.width),
      height: Number(r.height),
      fullres: r.fullres_hex!,
      quality: Number(r.fullres_quality),
      cli: r.cli_hex!,
    };
  });
}

/**
 * CPU time of the last hashgateOnce / referencePerImage call (ms, per image for the reference):
 * on a loaded machine wall time also counts waiting for a core, CPU time does not.
 */
let lastCpu = 0;

/** Wall time of hashgate's decode + hash of every file once, in ms (its CPU time in lastCpu). */
async function hashgateOnce(hasher: PdqHasher, files: Fixture[]): Promise<number> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (const f of files) hasher.hash(await decodeImage(f.bytes, LIMITS));
  const used = process.cpuUsage(cpu);
  lastCpu = (used.user + used.system) / 1000;
  return performance.now() - t;
}

/** CPU ms used by this process's finished children (Linux /proc; NaN elsewhere). */
function childrenCpuMs(): number {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // cutime and cstime (fields 16 and 17 of stat(5)), in clock ticks of 10 ms.
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** Wall time of one reference process over `paths`, in ms (its CPU time in lastCpu). */
function referenceOnce(paths: string[]): number {
  const cpu = childrenCpuMs();
  const t = performance.now();
  execFileSync(REFERENCE_BIN, paths, {
    cwd: fileURLToPath(FIXTURES),
    stdio: ["ignore", "ignore", "inherit"],
  });
  lastCpu = childrenCpuMs() - cpu;
  return performance.now() - t;
}

/** Per-image ms of the reference over `files`: one process hashing them `repeat` times, minus start-up. */
function referencePerImage(files: Fixture[], repeat: number): number {
  const paths = Array.from({ length: repeat }, () => files.map((f) => f.file)).flat();
  const all = referenceOnce(paths);
  const allCpu = lastCpu;
  const startup = referenceOnce([TINY]);
  lastCpu = (allCpu - lastCpu) / paths.length;
  return (all - startup) / paths.length;
}

async function images(): Promise<void> {
  const set = fixtures();
  const hasher = await coreHasher(); // the instance the JPEG decoder uses, as in the Worker
  const twelve = set.filter((f) => f.file === TWELVE_MP);
  // JPEG alone: the part of the set this decoder handles (PNG, GIF, WebP decode elsewhere).
  const jpegs = set.filter((f) => !f.file.endsWith(".png"));
  // PNG alone: streamed through the core's inflater and unfilter (src/image/png-rows.ts).
  const pngs = set.filter((f) => f.file.endsWith(".png"));
  await hashgateOnce(hasher, set); // warm-up: compile, tier up
  const ours: number[] = [];
  const oursJpeg: number[] = [];
  const oursPng: number[] = [];
  const oursTwelve: number[] = [];
  const ref: number[] = [];
  const refJpeg: number[] = [];
  const refPng: number[] = [];
  const refTwelve: number[] = [];
  // CPU ms per image, [hashgate, reference] per set: all, JPEGs, PNGs.
  const cpu = { all: [[], []], jpeg: [[], []], png: [[], []] } as Record<string, [number[], number[]]>;
  for (let round = 0; round < ROUNDS; round++) {
    ours.push((await hashgateOnce(hasher, set)) / set.length);
    cpu.all![0].push(lastCpu / set.length);
    oursJpeg.push((await hashgateOnce(hasher, jpegs)) / jpegs.length);
    cpu.jpeg![0].push(lastCpu / jpegs.length);
    oursPng.push((await hashgateOnce(hasher, pngs)) / pngs.length);
    cpu.png![0].push(lastCpu / pngs.length);
    const reps = 3;
    let t = 0;
    for (let i = 0; i < reps; i++) t += await hashgateOnce(hasher, twelve);
    oursTwelve.push(t / reps);
    if (HAVE_REFERENCE) {
      ref.push(referencePerImage(set, 3));
      cpu.all![1].push(lastCpu);
      refJpeg.push(referencePerImage(jpegs, 3));
      cpu.jpeg![1].push(lastCpu);
      refPng.push(referencePerImage(pngs, 3));
      cpu.png![1].push(lastCpu);
      refTwelve.push(referencePerImage(twelve, reps));
    }
  }
  const rows: string[][] = [];
  const row = (what: string, a: number, b: number) =>
    rows.push([
      what,
      fixed(a, 1),
      HAVE_REFERENCE ? fixed(b, 1) : "-",
      HAVE_REFERENCE ? `${fixed(a / b, 2)}x` : "-",
    ]);
  row(`decode + hash, mean per image over the ${set.length} fixtures`, median(ours), median(ref));
  row(`  of which the ${jpegs.length} JPEGs, mean per image`, median(oursJpeg), median(refJpeg));
  row(`  of which the ${pngs.length} PNGs, mean per image`, median(oursPng), median(refPng));
  row("decode + hash, 12 MP JPEG (4032x3024)", median(oursTwelve), median(refTwelve));
  console.log(`PDQ decode + hash, ms (median of ${ROUNDS} interleaved rounds)`);
  console.log(renderTable(["measure", "hashgate", "reference", "hashgate/reference"], rows));
  const cpuRows = Object.entries(cpu).map(([what, [a, b]]) => [
    what === "all"
      ? `all ${set.length} fixtures`
      : `the ${what === "jpeg" ? jpegs.length : pngs.length} ${what.toUpperCase()}s`,
    fixed(median(a), 1),
    HAVE_REFERENCE ? fixed(median(b), 1) : "-",
    HAVE_REFERENCE ? `${fixed(median(a) / median(b), 2)}x` : "-",
  ]);
  console.log("CPU time per image, ms (hashgate: this process; reference: its processes, minus start-up)");
  console.log(renderTable(["set", "hashgate", "reference", "hashgate/reference"], cpuRows));
  if (HAVE_REFERENCE) {
    const r1 = median(ours) / median(ref);
    const r2 = median(oursTwelve) / median(refTwelve);
    target(r1 <= 1, "decode + hash per fixture image <= 1.0x the reference tool", `${fixed(r1, 2)}x`);
    target(r2 <= 1, "decode + hash of a 12 MP JPEG <= 1.0x the reference tool", `${fixed(r2, 2)}x`);
    const r3 = median(oursJpeg) / median(refJpeg);
    target(r3 <= 1, "decode + hash per fixture JPEG <= 1.0x the reference tool", `${fixed(r3, 2)}x`);
    const r4 = median(oursPng) / median(refPng);
    target(r4 <= 1, "decode + hash per fixture PNG <= 1.0x the reference tool", `${fixed(r4, 2)}x`);
  } else {
    console.log(
      "  reference not measured: set PDQ_REFERENCE_BIN to a pdq-photo-hasher build (../shared/fixtures/pdq/README.md); hashgate's figures alone",
    );
  }
  await distances(set, hasher);
}

async function distancesOf(set: Fixture[], hasher: PdqHasher): Promise<string[][]> {
  const rows: string[][] = [];
  for (const f of set) {
    const img = await decodeImage(f.bytes, LIMITS);
    const d = hamming(hasher.hash(img).hash, f.fullres);
    const bound = f.quality >= 80 && Math.min(f.width, f.height) >= 512;
    rows.push([
      f.file.replace(/^images\//, ""),
      `${f.width}x${f.height}`,
      `${img.width}x${img.height}`,
      String(f.quality),
      String(d),
      String(hamming(f.cli, f.fullres)),
      bound ? (d <= 8 ? "<= 8 ok" : "OVER 8") : "-",
    ]);
  }
  return rows;
}

function distances(set: Fixture[], hasher: PdqHasher): Promise<void> {
  return distancesOf(set, hasher).then((rows) => {
    console.log("\nPDQ distance to the full-resolution reference hash (fullres_hex), per fixture");
    console.log(
      renderTable(["image", "stored", "decoded as", "quality", "hashgate", "reference tool", "bound"], rows),
    );
    console.log(
      "  reference tool = cli_hex of the manifest (its 512x512 shrink); bound: quality >= 80 and shorter side >= 512\n",
    );
    const bounded = rows.filter((r) => r[6] !== "-");
    const worst = Math.max(...bounded.map((r) => Number(r[4])));
    target(
      worst <= 8,
      `distance <= 8 bits on the ${bounded.length} fixtures of quality >= 80, shorter side >= 512`,
      `max ${worst}`,
    );
  });
}

async function queries(): Promise<void> {
  const sizes = [10_000, 100_000, 1_000_000];
  const inWorkerd = await workerdQueryMs(sizes, [1, 8]);
  const rows: string[][] = [];
  for (const n of sizes) {
    const hashes = new Uint8Array(n * 32);
    for (let i = 0; i < hashes.length; i += 65536) crypto.getRandomValues(hashes.subarray(i, i + 65536));
    const index = PdqIndex.fromModule(CORE);
    index.load([{ hashes, ids: new Uint32Array(n) }]);
    const probe = Array.from({ length: 8 }, () => bytesToHex(crypto.getRandomValues(new Uint8Array(32))));
    const one = probe[0]!;
    for (let i = 0; i < 5; i++) index.query(probe); // tier-up
    const t1 = medianOf(() => index.query(one), n);
    const t8 = medianOf(() => index.query(probe), n);
    const w1 = inWorkerd.get(`${n}:1`)!;
    const w8 = inWorkerd.get(`${n}:8`)!;
    if (n === 1_000_000) {
      target(w1 < 5, "one query against 1M hashes in workerd < 5 ms", `${fixed(w1, 2)} ms`);
      const mb = index.memoryBytes() / 1e6;
      target(mb <= 40, "index memory <= 40 MB per million hashes", `${fixed(mb, 1)} MB`);
    }
    const us = (ms: number) => fixed(ms * 1000, 0);
    rows.push([String(n), us(t1), us(t8), us(w1), us(w8)]);
  }
  console.log("PdqIndex query, µs (random test hashes, threshold 31; 8 = the dihedral hashes of one image)");
  const head = ["hashes", "node 1", "node 8", "workerd 1", "workerd 8"];
  console.log(renderTable(head, rows));
  console.log("  index memory: 32 bytes per hash in WASM + 4 bytes per entry id in JS\n");
}

function medianOf(f: () => unknown, n: number): number {
  const runs = n >= 1_000_000 ? 30 : 200;
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    f();
    t.push(performance.now() - t0);
  }
  return median(t);
}

function bigImage(): void {
  const w = 8660;
  const h = 5774; // 50.0 megapixels
  const pixels = new Uint8Array(w * h * 3);
  for (let i = 0; i < pixels.length; i += 4096) pixels[i] = i & 255;
  const hasher = PdqHasher.fromModule(CORE);
  const t = performance.now();
  hasher.hash({ width: w, height: h, channels: 3, pixels });
  const ms = performance.now() - t;
  const mem = hasher.memoryBytes() / 2 ** 20;
  target(
    mem < 64,
    "50-megapixel image hashed without copying it into WASM",
    `${fixed(mem, 1)} MiB of WASM memory`,
  );
  console.log(
    `50-megapixel RGB image (${w}x${h}): hash ${fixed(ms, 0)} ms; WASM memory ${fixed(mem, 1)} MiB`,
  );
  console.log(
    `  (pixels are streamed in 1 MiB strips; the ${fixed(pixels.length / 2 ** 20, 0)} MiB image stays on the JS side)`,
  );
}

console.log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(" ")} (2 cores; figures are noisy above ~1)\n`,
);
console.log(
  HAVE_REFERENCE
    ? `reference: ${REFERENCE_BIN} (measured in this run)\n`
    : "reference: PDQ_REFERENCE_BIN not set or not found; hashgate's figures alone\n",
);
await images();
// --images: decode + hash and distances only (the index and 50 MP figures take minutes more).
if (!process.argv.includes("--images")) {
  await queries();
  bigImage();
}
console.log(`\ntargets (issues 3 and 12):\n${targets.join("\n")}`);
