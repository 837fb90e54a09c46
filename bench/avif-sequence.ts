/**
 * AVIF image sequences (`avis`) frame by frame, as the gate does it (avif-sequence.ts: the colour
 * track's samples fed in order to one dav1d context, each frame drawn into the PDQ working size
 * and hashed), against the baseline measured in the same run: each frame decoded and hashed as a
 * still AVIF of its own (avif.ts). Also the decoder instance's linear memory after a sequence,
 * from a fresh instance, against what the gate reserves for it (trackDecodeBytes: a still's
 * decode with AV1's 8 reference slots full): reserved / measured must stay >= 1.
 *
 * Sequences: key frames only, assembled from stills encoded by jSquash's libavif + libaom
 * (test/image/avif-boxes.ts; generated benign patterns), and, when Debian's `avifenc` is on the
 * PATH, inter-coded sequences it writes from the same patterns (one key frame, then frames
 * predicted from earlier ones: what holds reference frames; 8-bit 4:2:0 like the stills).
 * Without avifenc those rows are skipped and say so.
 *
 *   npx node bench/avif-sequence.ts       (or: npm run bench -- avif-sequence)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import avifEncoderFactory from "@jsquash/avif/codec/enc/avif_enc.js";
import { defaultOptions as avifDefaults } from "@jsquash/avif/meta.js";
import { av1Codec, dropAv1Codec } from "../src/image/av1-codec.ts";
import { readAvifHeader } from "../src/image/avif-header.ts";
import { trackDecodeBytes } from "../src/image/avif-sequence.ts";
import { decodeImage, withDecodedFrames } from "../src/image/decode.ts";
import { PdqHasher } from "../src/pdq/core.ts";
import { buildAvifSequence } from "../test/image/avif-boxes.ts";
import { encodePng } from "../test/image/png-encoder.ts";
import { emscriptenCodec } from "./lib/emscripten.ts";
import { fixed, MiB, medianCpuMs, renderTable } from "./lib/stats.ts";

const LIMITS = { maxPixels: 2 ** 28 };
const RUNS = 3;
const FRAMES = 10;
const SIZES: [number, number][] = [
  [640, 480],
  [1280, 720],
  [1920, 1080],
];

interface Encoder {
  encode(data: Uint8Array, width: number, height: number, opts: Record<string, unknown>): Uint8Array | null;
}

function jsquashEncoder(): Promise<Encoder> {
  return emscriptenCodec<Encoder>("@jsquash/avif/codec/enc/avif_enc.wasm", avifEncoderFactory);
}

/** Frame `i` of a moving pattern (a gradient with blocks that shift each frame), RGBA. */
function frame(width: number, height: number, i: number): Uint8Array {
  const px = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      px[o] = (x * 255) / width;
      px[o + 1] = (y * 255) / height;
      px[o + 2] = ((((x + i * 8) >> 5) + (y >> 5)) & 1) * 160 + 40;
      px[o + 3] = 255;
    }
  }
  return px;
}

function hasAvifenc(): boolean {
  try {
    execFileSync("avifenc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** An inter-coded sequence written by avifenc from the frames (as PNGs). */
async function avifencSequence(width: number, height: number): Promise<Uint8Array> {
  const dir = mkdtempSync(join(tmpdir(), "hashgate-avis-"));
  try {
    const files: string[] = [];
    for (let i = 0; i < FRAMES; i++) {
      const rgba = frame(width, height, i);
      const samples = Array.from(rgba.filter((_, k) => k % 4 !== 3));
      const png = await encodePng({ width, height, colorType: 2, depth: 8, samples });
      files.push(join(dir, `f${i}.png`));
      writeFileSync(files.at(-1)!, png);
    }
    const out = join(dir, "seq.avif");
    execFileSync("avifenc", ["-s", "10", "-y", "420", "--min", "20", "--max", "40", ...files, out], {
      stdio: "ignore",
    });
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true });
  }
}

async function main(): Promise<void> {
  const enc = await jsquashEncoder();
  const hasher = PdqHasher.fromModule(
    new WebAssembly.Module(readFileSync(new URL("../wasm/build/core.wasm", import.meta.url))),
  );
  const hash = (img: Parameters<typeof hasher.hash>[0]) => hasher.hash(img).hash;
  const avifenc = hasAvifenc();
  const rows: string[][] = [];
  for (const [w, h] of SIZES) {
    const stills = Array.from({ length: FRAMES }, (_, i) => {
      const out = enc.encode(frame(w, h, i), w, h, { ...avifDefaults, quality: 70, speed: 10 });
      if (!out) throw new Error("AVIF encoder failed");
      return new Uint8Array(out);
    });
    const sequences: [string, Uint8Array | null][] = [
      ["key frames (jSquash stills)", buildAvifSequence(stills)],
      ["inter frames (avifenc)", avifenc ? await avifencSequence(w, h) : null],
    ];
    const baseline = await medianCpuMs(async () => {
      for (const s of stills) hash(await decodeImage(s, LIMITS));
    }, RUNS);
    for (const [kind, file] of sequences) {
      if (!file) {
        rows.push([`${w}x${h}`, kind, "skipped: no avifenc on the PATH", "", "", "", "", ""]);
        continue;
      }
      const header = readAvifHeader(file);
      if (!header.ok || !header.tracks) throw new Error(`${kind}: ${header.ok ? "no track" : header.detail}`);
      let frames = 0;
      const gate = await medianCpuMs(async () => {
        const result = await withDecodedFrames(file, LIMITS, hash);
        if (result.error) throw result.error;
        frames = result.frames.length;
      }, RUNS);
      // A fresh instance; its memory only grows, so after the sequence it shows the peak (the
      // instance may be dropped for the next decode, but this reference still reads it).
      dropAv1Codec();
      const codec = await av1Codec();
      const before = codec.memoryBytes();
      await withDecodedFrames(file, LIMITS, hash);
      const grown = codec.memoryBytes();
      const reserved = trackDecodeBytes(header.tracks.color);
      rows.push([
        `${w}x${h}`,
        kind,
        `${frames} (${file.length} B)`,
        fixed(gate / frames, 1),
        fixed(baseline / FRAMES, 1),
        fixed(gate / baseline, 2),
        `${fixed(grown / MiB, 1)} (${fixed(before / MiB, 1)} at start)`,
        `${fixed(reserved / MiB, 1)} (${fixed(reserved / grown, 2)}x)`,
      ]);
    }
  }
  console.log(
    renderTable(
      [
        "size",
        "sequence",
        "frames",
        "CPU ms/frame (gate)",
        "CPU ms/frame (stills)",
        "gate / stills",
        "instance MiB",
        "reserved MiB (/ instance)",
      ],
      rows,
    ),
  );
  console.log(
    `CPU time, median of ${RUNS} runs after a warm-up; baseline: each frame as a still AVIF, same run`,
  );
}

await main();
