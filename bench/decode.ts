/**
 * Decode benchmark: ms per fixture image through decodeImage (JPEG via libjpeg-turbo WASM,
 * PNG via png.ts), per image, mean, and by size class; plus decode + full-resolution PDQ
 * hash (wasm/build/core.wasm), the figure the reference CLI's 97 ms compares with.
 * Then AVIF against JPEG in the same run: fixture JPEGs re-encoded as AVIF (libaom, quality 80)
 * from their decoded pixels, decode + hash of the AVIF (dav1d into the PDQ size: avif.ts)
 * over decode + hash of the JPEG file it came from (scaled luma decode), both as the gate runs them.
 * Run: `npx node bench/decode.ts`. Each figure is the median of several runs after a
 * warm-up; the fixtures are benign test images.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import avifEncoderFactory from "@jsquash/avif/codec/enc/avif_enc.js";
import { defaultOptions as avifDefaults } from "@jsquash/avif/meta.js";
import { decodeImage } from "../src/image/decode.ts";
import { PdqHasher } from "../src/pdq/core.ts";
import { FIXTURES_DIR } from "../test/node/fixtures-dir.ts";
import { emscriptenCodec } from "./lib/emscripten.ts";
import { fixed, median, renderTable } from "./lib/stats.ts";

const FIXTURES = pathToFileURL(`${join(FIXTURES_DIR, "pdq")}/`);
const LIMITS = { maxPixels: 50_000_000 };
// Enough repetitions for a stable median without making the 12-megapixel image take a minute.
const TARGET_MS_PER_IMAGE = 400;

function sizeClass(pixels: number): string {
  if (pixels < 100_000) return "small (<0.1 MP)";
  if (pixels < 1_000_000) return "medium (0.1-1 MP)";
  if (pixels < 4_000_000) return "large (1-4 MP)";
  return "huge (>=4 MP)";
}

const hasher = PdqHasher.fromModule(
  new WebAssembly.Module(readFileSync(new URL("../wasm/build/core.wasm", import.meta.url))),
);

/** Median ms of `work` over enough runs to take about TARGET_MS_PER_IMAGE. */
async function timeIt(work: () => Promise<unknown>): Promise<number> {
  const first = performance.now();
  await work(); // warm-up (and instantiation on the first image)
  const once = Math.max(0.01, performance.now() - first);
  const runs = Math.max(3, Math.min(50, Math.round(TARGET_MS_PER_IMAGE / once)));
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function main(): Promise<void> {
  const [head, ...lines] = readFileSync(new URL("manifest_ext.tsv", FIXTURES), "utf8").trim().split("\n");
  const cols = head!.split("\t");
  const rows: string[][] = [];
  // Per group: [decode ms, decode + hash ms] per image.
  const byClass = new Map<string, number[][]>();
  const byFormat = new Map<string, number[][]>();
  for (const line of lines) {
    const f = line.split("\t");
    const file = f[cols.indexOf("file")]!;
    const format = f[cols.indexOf("format")]!;
    const width = Number(f[cols.indexOf("width")]);
    const height = Number(f[cols.indexOf("height")]);
    const bytes = new Uint8Array(readFileSync(new URL(file, FIXTURES)));
    const decodeMs = await timeIt(() => decodeImage(bytes, LIMITS));
    const bothMs = await timeIt(async () => hasher.hash(await decodeImage(bytes, LIMITS)));
    const cls = sizeClass(width * height);
    for (const [map, key] of [
      [byClass, cls],
      [byFormat, format],
      [byFormat, "all"],
    ] as const) {
      map.set(key, [...(map.get(key) ?? []), [decodeMs, bothMs]]);
    }
    rows.push([
      file.replace(/^images\//, ""),
      format,
      `${width}x${height}`,
      fixed(decodeMs, 2),
      fixed(bothMs, 2),
    ]);
  }
  console.log(renderTable(["image", "format", "size", "decode ms", "decode+hash ms"], rows));
  const mean = (xs: number[][], col: number) => xs.reduce((a, b) => a + b[col]!, 0) / xs.length;
  const summary = [...byFormat, ...byClass].map(([k, xs]) => [
    k,
    String(xs.length),
    fixed(mean(xs, 0), 2),
    fixed(mean(xs, 1), 2),
  ]);
  console.log(`\n${renderTable(["group", "images", "mean decode ms", "mean decode+hash ms"], summary)}`);
  console.log("\nReference (fixtures README): 97 ms mean for the C++ CLI's decode + 512 resize + hash.");
  await avifAgainstJpeg();
}

/** Fixture JPEGs of several sizes (benign test images) for the AVIF comparison. */
const AVIF_FROM = [
  "images/reg-test-input/labelme-subset/q0122.jpg",
  "images/bridge-mods/square-512x512.jpg",
  "images/bridge-mods/shrink-a-little.jpg",
  "images/reg-test-input/dih/bridge-1-original.jpg",
];

interface AvifEncoder {
  encode(data: Uint8Array, width: number, height: number, opts: Record<string, unknown>): Uint8Array | null;
}

function avifEncoder(): Promise<AvifEncoder> {
  return emscriptenCodec("@jsquash/avif/codec/enc/avif_enc.wasm", avifEncoderFactory);
}

async function avifAgainstJpeg(): Promise<void> {
  const encoder = await avifEncoder();
  const gate = { maxPixels: 250_000_000 };
  const rows: string[][] = [];
  const ratios: number[] = [];
  for (const file of AVIF_FROM) {
    const jpeg = new Uint8Array(readFileSync(new URL(file, FIXTURES)));
    const rgba = await decodeImage(jpeg, { ...gate, fullResolution: true });
    const avif = encoder.encode(rgba.pixels, rgba.width, rgba.height, {
      ...avifDefaults,
      quality: 80,
      speed: 10,
    });
    if (!avif) throw new Error(`AVIF encoder failed on ${file}`);
    const jpegMs = await timeIt(async () => hasher.hash(await decodeImage(jpeg, gate)));
    const avifMs = await timeIt(async () => hasher.hash(await decodeImage(avif, gate)));
    ratios.push(avifMs / jpegMs);
    rows.push([
      file.replace(/^images\//, ""),
      `${rgba.width}x${rgba.height}`,
      fixed(jpeg.length / 1024, 0),
      fixed(avif.length / 1024, 0),
      fixed(jpegMs, 1),
      fixed(avifMs, 1),
      `${fixed(avifMs / jpegMs, 1)}x`,
    ]);
  }
  console.log("\nAVIF vs JPEG, decode + PDQ hash as the gate runs them (same run, same pixels)");
  console.log(
    renderTable(["image", "size", "JPEG KiB", "AVIF KiB", "JPEG ms", "AVIF ms", "AVIF/JPEG"], rows),
  );
  console.log(`mean AVIF/JPEG: ${fixed(ratios.reduce((a, b) => a + b, 0) / ratios.length, 1)}x`);
}

await main();
