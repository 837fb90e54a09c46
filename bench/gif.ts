/**
 * GIF decode + PDQ hash as the gate does it (LZW rows streamed into the area-average downscaler,
 * gif.ts; animations composited per frame) against the baseline measured in the same run: a
 * full decode of the same file by omggif (a well-kept JS GIF decoder, devDependency of the
 * bench only), every frame blitted onto a full-size RGBA canvas. GIFs are made from a benign
 * fixture photo (lib/gif-files.ts, TEST DATA): stills at 2 and 12 MP, an interlaced 12 MP, an
 * animation on a canvas the gate composites at full size and one on a screen it composites at
 * the PDQ size (reduced-canvas.ts). Also the gate's PDQ hash per frame alone.
 *
 *   npm run bench -- gif          (or: npx node bench/gif.ts; GIF_ROUNDS=7 for more rounds)
 *
 * Small cases get more rounds (up to MAX_ROUNDS, about CASE_MS of omggif per case), so their
 * medians are not a handful of few-millisecond runs on a loaded machine.
 */
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { GifReader } from "omggif";
import { decodeImageFrames, releasePixels, withDecodedFrames } from "../src/image/decode.ts";
import { downscaleImage } from "../src/image/downscale.ts";
import type { DecodedImage } from "../src/image/types.ts";
import { PdqHasher } from "../src/pdq/core.ts";
import { hamming } from "../test/helpers/pdq-distance.ts";
import { loadPhoto, panGif, stillGif } from "./lib/gif-files.ts";
import { fixed, median, renderTable } from "./lib/stats.ts";

const ROUNDS = Number(process.env.GIF_ROUNDS ?? 5);
const MAX_ROUNDS = 25;
const CASE_MS = 1500;
const LIMITS = { maxPixels: 2 ** 28 };

const hasher = PdqHasher.fromModule(
  new WebAssembly.Module(readFileSync(new URL("../wasm/build/core.wasm", import.meta.url))),
);

interface Timing {
  wall: number[];
  cpu: number[];
}

/** Runs `work` once, adding its wall and CPU time (user + system, this process) in ms. */
async function timed(into: Timing, work: () => Promise<unknown> | unknown): Promise<void> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  into.wall.push(wall);
  into.cpu.push((c.user + c.system) / 1000);
}

/** omggif's full decode: every frame blitted onto one full-size RGBA canvas; `each` sees the canvas after each frame. */
function omggifDecode(bytes: Uint8Array, each?: (canvas: DecodedImage) => void): number {
  const reader = new GifReader(bytes);
  const { width, height } = reader;
  const pixels = new Uint8Array(width * height * 4);
  for (let i = 0; i < reader.numFrames(); i++) {
    reader.decodeAndBlitFrameRGBA(i, pixels);
    each?.({ width, height, channels: 4, pixels });
  }
  return reader.numFrames();
}

/** The gate's decode, frames freed as they come (no hash). */
async function gateDecode(bytes: Uint8Array): Promise<void> {
  for await (const { image } of decodeImageFrames(bytes, LIMITS)) releasePixels(image);
}

async function gateDecodeHash(bytes: Uint8Array): Promise<string[]> {
  const { frames, error } = await withDecodedFrames(bytes, LIMITS, (image) => hasher.hash(image).hash);
  if (error) throw error;
  return frames.map((f) => f.value);
}

interface Case {
  name: string;
  bytes: Uint8Array;
}

async function cases(): Promise<Case[]> {
  const photo = await loadPhoto();
  const out: Case[] = [
    { name: "still 1632x1224 (2 MP)", bytes: stillGif(photo, 1632, 1224, false) },
    { name: "still 4032x3024 (12 MP)", bytes: stillGif(photo, 4032, 3024, false) },
    { name: "interlaced 4032x3024 (12 MP)", bytes: stillGif(photo, 4032, 3024, true) },
    { name: "animation 20 x 1024x768", bytes: panGif(photo, 1024, 768, 20) },
    { name: "animation 8 x 3024x2268 (reduced canvas)", bytes: panGif(photo, 3024, 2268, 8) },
  ];
  releasePixels(photo);
  return out;
}

async function main(): Promise<void> {
  const startLoad = loadavg()[0]!;
  const all = await cases();
  const rows: string[][] = [];
  const pdqRows: string[][] = [];
  let worst = 0;
  for (const { name, bytes } of all) {
    const t = {
      omggif: { wall: [], cpu: [] } as Timing,
      omggifHash: { wall: [], cpu: [] } as Timing,
      gate: { wall: [], cpu: [] } as Timing,
      gateHash: { wall: [], cpu: [] } as Timing,
    };
    // Warm-up of each path, and the hashes compared: the gate's frames against omggif's
    // canvases reduced the way the gate reduces a full-size frame (frames.ts).
    const gateHashes = await gateDecodeHash(bytes);
    const refHashes: string[] = [];
    const frames = omggifDecode(bytes, (c) => refHashes.push(hasher.hash(downscaleImage(c)).hash));
    const once = performance.now();
    omggifDecode(bytes);
    const rounds = Math.max(ROUNDS, Math.min(MAX_ROUNDS, Math.ceil(CASE_MS / (performance.now() - once))));
    await gateDecode(bytes);
    if (gateHashes.length !== frames)
      throw new Error(`${name}: gate hashed ${gateHashes.length} of ${frames} frames`);
    const distance = Math.max(...gateHashes.map((h, i) => hamming(h, refHashes[i]!)));
    for (let r = 0; r < rounds; r++) {
      // Rotate the order each round, so none always runs after another's garbage.
      const work: [Timing, () => unknown][] = [
        [t.omggif, () => omggifDecode(bytes)],
        [t.omggifHash, () => omggifDecode(bytes, (c) => hasher.hash(downscaleImage(c)))],
        [t.gate, () => gateDecode(bytes)],
        [t.gateHash, () => gateDecodeHash(bytes)],
      ];
      for (let k = 0; k < work.length; k++) {
        const [into, fn] = work[(r + k) % work.length]!;
        await timed(into, fn);
      }
    }
    // The hash alone, per frame: the gate's own frames, decoded once and kept.
    const kept: DecodedImage[] = [];
    for await (const { image } of decodeImageFrames(bytes, LIMITS)) kept.push(image);
    const hashOnly: Timing = { wall: [], cpu: [] };
    const hashAll = () => {
      for (const im of kept) hasher.hash(im);
    };
    for (let r = 0; r < rounds; r++) await timed(hashOnly, hashAll);
    const ratio = median(t.gateHash.cpu) / median(t.omggif.cpu);
    worst = Math.max(worst, ratio);
    rows.push([
      name,
      String(frames),
      String(rounds),
      fixed(bytes.length / 1e6, 1),
      fixed(median(t.omggif.cpu), 0),
      fixed(median(t.omggifHash.cpu), 0),
      fixed(median(t.gate.cpu), 0),
      fixed(median(t.gateHash.cpu), 0),
      `${fixed(ratio, 2)}x`,
      `${fixed(median(t.gateHash.cpu) / median(t.omggifHash.cpu), 2)}x`,
      `${fixed(median(t.gateHash.wall) / median(t.omggif.wall), 2)}x`,
      String(distance),
    ]);
    pdqRows.push([
      name,
      `${kept[0]!.width}x${kept[0]!.height}x${kept[0]!.channels}`,
      fixed(median(hashOnly.cpu) / kept.length, 2),
      fixed(median(t.gateHash.cpu) / frames, 1),
    ]);
    for (const im of kept) releasePixels(im);
    process.stderr.write(`bench/gif: ${name}\n`);
  }
  console.log(
    `GIF decode (+ PDQ hash of every frame), CPU ms (user + system), median of the rounds (interleaved, after a warm-up) (Node 22, the Worker's decoding code)`,
  );
  console.log(
    renderTable(
      [
        "image",
        "frames",
        "rounds",
        "MB",
        "omggif decode (baseline)",
        "omggif + hash",
        "gate decode",
        "gate decode + hash",
        "ratio",
        "vs omggif + hash",
        "ratio (wall)",
        "bits",
      ],
      rows,
    ),
  );
  console.log(
    "  ratio: gate decode + hash / omggif decode (CPU); vs omggif + hash: against omggif's frames reduced and hashed the gate's way;\n" +
      "  bits: largest Hamming distance, over the frames, between the gate's hash and that of omggif's frame",
  );
  console.log(`\nThe gate's PDQ hash per frame (its frames, decoded once and kept), CPU ms`);
  console.log(renderTable(["image", "frame hashed", "hash ms/frame", "decode + hash ms/frame"], pdqRows));
  console.log(
    `\n  ${worst <= 1 ? "PASS" : "MISS"}  gate decode + hash at most 1.0x omggif's decode alone: worst ${fixed(worst, 2)}x`,
  );
  const end = loadavg()[0]!;
  const busy =
    Math.max(startLoad, end) > cpus().length - 0.5 ? " (busy: wall times include waiting for a core)" : "";
  console.log(`  load average ${fixed(startLoad, 1)} -> ${fixed(end, 1)} on ${cpus().length} cores${busy}`);
}

await main();
