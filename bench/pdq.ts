/**
 * PDQ benchmark (Node 22, same WASM core as the Worker): ms per fixture image for hash only at
 * full resolution and for decode + hash, by the size classes of the fixtures README, against
 * the C++ reference figures quoted there; query time of PdqIndex for 10k/100k/1M hashes; and the
 * core's memory for a 50-megapixel image. Run: `npx node bench/pdq.ts`.
 * Images are the benign PDQ fixtures; the index holds random 256-bit values (test data).
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { decodeImage } from "../src/image/decode.ts";
import type { DecodedImage } from "../src/image/types.ts";
import { bytesToHex, PdqHasher } from "../src/pdq/core.ts";
import { PdqIndex } from "../src/pdq/index.ts";
import { FIXTURES_DIR } from "../test/node/fixtures-dir.ts";
import { workerdQueryMs } from "./lib/pdq-workerd.ts";
import { fixed, median, renderTable } from "./lib/stats.ts";

const FIXTURES = pathToFileURL(`${join(FIXTURES_DIR, "pdq")}/`);
const CORE = new WebAssembly.Module(readFileSync(new URL("../wasm/build/core.wasm", import.meta.url)));
const LIMITS = { maxPixels: 50_000_000 };
const TARGET_MS = 300; // per measurement: enough runs for a stable median

/** Reference figures (fixtures README, one Zen 3 core, C++ -O3): [hash only, CLI decode+resize+hash]. */
const REFERENCE: Record<string, [string, string]> = {
  "1600x1004": ["49-61", "82-121"],
  "256x256": ["1.1", "24-29"],
  "4032x3024": ["527", "430"],
  "all 34 (mean)": ["44", "97"],
};

async function timeIt(f: () => unknown): Promise<number> {
  const t = performance.now();
  await f();
  const once = Math.max(0.005, performance.now() - t);
  const runs = Math.max(3, Math.min(200, Math.round(TARGET_MS / once)));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return median(times);
}

function sizeClass(w: number, h: number): string | null {
  const k = `${Math.max(w, h)}x${Math.min(w, h)}`;
  return k === "1600x1004" || k === "4032x3024" ? k : k === "256x256" ? k : null;
}

/** Target lines collected while measuring, printed at the end. */
const targets: string[] = [];
function target(ok: boolean, what: string, measured: string): void {
  targets.push(`  ${ok ? "PASS" : "MISS"}  ${what}: measured ${measured}`);
}

async function images(): Promise<void> {
  const hasher = PdqHasher.fromModule(CORE);
  const [head, ...lines] = readFileSync(new URL("manifest_ext.tsv", FIXTURES), "utf8").trim().split("\n");
  const cols = head!.split("\t");
  const byClass = new Map<string, { hash: number[]; full: number[] }>();
  const add = (k: string, hash: number, full: number) => {
    const e = byClass.get(k) ?? { hash: [], full: [] };
    e.hash.push(hash);
    e.full.push(full);
    byClass.set(k, e);
  };
  for (const line of lines) {
    const r = Object.fromEntries(line.split("\t").map((v, i) => [cols[i], v]));
    const bytes = new Uint8Array(readFileSync(new URL(r.file!, FIXTURES)));
    const img: DecodedImage = await decodeImage(bytes, LIMITS);
    const hash = await timeIt(() => hasher.hash(img));
    const full = await timeIt(async () => hasher.hash(await decodeImage(bytes, LIMITS)));
    const k = sizeClass(img.width, img.height);
    if (k) add(k, hash, full);
    add("all 34 (mean)", hash, full);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows = [...Object.keys(REFERENCE)].map((k) => {
    const e = byClass.get(k)!;
    const [refHash, refFull] = REFERENCE[k]!;
    const refMid = (s: string) => {
      const [a, b] = s.split("-").map(Number);
      return (a! + (b ?? a!)) / 2;
    };
    return [
      `${k} (${e.hash.length})`,
      fixed(mean(e.hash), 2),
      refHash,
      fixed(refMid(refHash) / mean(e.hash), 1),
      fixed(mean(e.full), 2),
      refFull,
      fixed(refMid(refFull) / mean(e.full), 1),
    ];
  });
  const meanFull = mean(byClass.get("all 34 (mean)")!.full);
  target(
    meanFull < 97,
    "decode + hash faster than the reference tool (97 ms mean)",
    `${fixed(meanFull, 1)} ms mean`,
  );
  console.log("PDQ per image, ms (median of runs; mean over the images of a class)");
  console.log(
    renderTable(
      ["size class (images)", "hash", "ref hash", "speed-up", "decode+hash", "ref CLI", "speed-up"],
      rows,
    ),
  );
  console.log(
    "  ref CLI = reference tool: decode + 512x512 resize + hash; ours hashes at full resolution.\n",
  );
}

async function queries(): Promise<void> {
  const REF_US: Record<number, number> = { 10000: 26, 100000: 230, 1000000: 2300 };
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
    rows.push([
      String(n),
      us(t1),
      us(t8),
      us(w1),
      us(w8),
      String(REF_US[n]),
      fixed(REF_US[n]! / (w1 * 1000), 2),
    ]);
  }
  console.log("PdqIndex query, µs (random test hashes, threshold 31; 8 = the dihedral hashes of one image)");
  const head = ["hashes", "node 1", "node 8", "workerd 1", "workerd 8", "ref 1", "ref/workerd"];
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
await images();
await queries();
bigImage();
console.log(`\ntargets (issue 3):\n${targets.join("\n")}`);
