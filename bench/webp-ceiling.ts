/**
 * libwebp's allocation ceiling (wasm/libwebp/hashgate_webp.c) against the same module without
 * one (the limit at its maximum), in the same run:
 * - memory: the growth of a fresh instance decoding hostile lossless WebPs whose meta-Huffman
 *   image names 65 536 groups (test/image/webp-huffman-bomb.ts), with and without a colour
 *   cache, to the PDQ size;
 * - speed: CPU time of scaled decodes of benign generated WebPs (TEST DATA: a gradient with
 *   noise), lossless and lossy, with the gate's ceiling and without.
 *
 *   npx node bench/webp-ceiling.ts       (or: npm run bench -- webp-ceiling)
 */
import webpEncoderFactory from "@jsquash/webp/codec/enc/webp_enc.js";
import { defaultOptions as webpDefaults } from "@jsquash/webp/meta.js";
import { planScale } from "../src/image/downscale.ts";
import { webpWorkBytes } from "../src/image/webp.ts";
import { dropWebpCodec, type WebpCodec, webpCodec } from "../src/image/webp-codec.ts";
import { huffmanBombWebp } from "../test/image/webp-huffman-bomb.ts";
import { emscriptenCodec } from "./lib/emscripten.ts";
import { fixed, median, renderTable } from "./lib/stats.ts";

const UNBOUNDED = 0xffffffff;
const MiB = 2 ** 20;
const RUNS = 7;

interface Encoder {
  encode(data: Uint8Array, width: number, height: number, opts: Record<string, unknown>): Uint8Array;
}

function encoder(): Promise<Encoder> {
  return emscriptenCodec<Encoder>("@jsquash/webp/codec/enc/webp_enc.wasm", webpEncoderFactory);
}

function pattern(width: number, height: number): Uint8Array {
  const px = new Uint8Array(width * height * 4);
  let x = 1;
  for (let i = 0; i < width * height; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    px[i * 4] = ((i % width) * 255) / width;
    px[i * 4 + 1] = (Math.floor(i / width) * 255) / height;
    px[i * 4 + 2] = (x >>> 24) & 63;
    px[i * 4 + 3] = 255;
  }
  return px;
}

/** One scaled decode of a still VP8L/VP8 file as the gate makes it, with `limit` for libwebp. */
function decodeOnce(codec: WebpCodec, file: Uint8Array, limit: number): { status: string; cpuMs: number } {
  return codec.withInput(file, (ptr) => {
    const f = codec.features(ptr, file.length);
    const plan = planScale(f.width, f.height, false);
    const t0 = process.cpuUsage();
    let status = "ok";
    try {
      codec.decode(ptr, file.length, plan.width, plan.height, 3, limit);
    } catch (err) {
      status = (err as { code?: string }).code ?? String(err);
    }
    const t = process.cpuUsage(t0);
    return { status, cpuMs: (t.user + t.system) / 1000 };
  });
}

async function main(): Promise<void> {
  const memRows: string[][] = [];
  for (const cacheBits of [0, 11]) {
    const bomb = huffmanBombWebp(1024, 1024, 65536, cacheBits);
    const growth: number[] = [];
    const statuses: string[] = [];
    for (const limit of [UNBOUNDED, webpWorkBytes(1024, 1024, true, false)]) {
      dropWebpCodec();
      const codec = await webpCodec();
      const before = codec.memoryBytes();
      statuses.push(decodeOnce(codec, bomb, limit).status);
      growth.push(codec.memoryBytes() - before);
    }
    memRows.push([
      `1024x1024, 65 536 groups, cache bits ${cacheBits} (${fixed(bomb.length / 1000, 0)} KB)`,
      `${fixed(growth[0]! / MiB, 1)} (${statuses[0]})`,
      `${fixed(growth[1]! / MiB, 1)} (${statuses[1]})`,
      fixed(growth[1]! / growth[0]!, 4),
    ]);
  }
  dropWebpCodec();
  console.log("Hostile lossless WebP: growth of a fresh instance's memory, MiB (decode status)");
  console.log(renderTable(["file", "no ceiling (baseline)", "gate's ceiling", "ratio"], memRows));

  const enc = await encoder();
  const speedRows: string[][] = [];
  for (const [w, h, lossless] of [
    [1600, 1000, true],
    [3000, 2000, true],
    [3000, 2000, false],
  ] as const) {
    const file = enc.encode(pattern(w, h), w, h, {
      ...webpDefaults,
      lossless: lossless ? 1 : 0,
      quality: 75,
    });
    const codec = await webpCodec();
    const times: [number[], number[]] = [[], []];
    decodeOnce(codec, file, UNBOUNDED);
    for (let r = 0; r < RUNS; r++) {
      times[0].push(decodeOnce(codec, file, UNBOUNDED).cpuMs);
      times[1].push(decodeOnce(codec, file, webpWorkBytes(w, h, lossless, false)).cpuMs);
    }
    const [base, gate] = [median(times[0]), median(times[1])];
    speedRows.push([
      `${lossless ? "lossless" : "lossy"} ${w}x${h}`,
      fixed(base, 1),
      fixed(gate, 1),
      fixed(gate / base, 3),
    ]);
  }
  console.log(`\nBenign WebP scaled decode, CPU ms, median of ${RUNS} alternating after a warm-up`);
  console.log(renderTable(["image", "no ceiling (baseline)", "gate's ceiling", "ratio"], speedRows));
}

await main();
