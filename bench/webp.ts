/**
 * WebP decode + PDQ hash per image, as the gate does it (libwebp's scaled decoding, webp.ts)
 * against the baseline measured in the same run: a full-size decode of the same file by
 * jSquash's libwebp build (@jsquash/webp, the gate's WebP decoder before issue 12) hashed the
 * same way. Images are generated here: a smooth gradient with noise, benign TEST DATA. Also an
 * animated WebP (20 frames of 1600x1200) through decodeImageFrames, every frame hashed.
 *
 *   npx node bench/webp.ts       (or: npm run bench -- webp)
 *   WEBP_MP=2,12 npx node bench/webp.ts
 */
import { readFileSync } from "node:fs";
import webpDecoderFactory from "@jsquash/webp/codec/dec/webp_dec.js";
import webpEncoderFactory from "@jsquash/webp/codec/enc/webp_enc.js";
import { defaultOptions as webpDefaults } from "@jsquash/webp/meta.js";
import { decodeImage, decodeImageFrames } from "../src/image/decode.ts";
import { PdqHasher } from "../src/pdq/core.ts";
import { buildAnimatedWebp } from "../test/image/webp-anim-builder.ts";
import { emscriptenCodec } from "./lib/emscripten.ts";
import { fixed, median, renderTable } from "./lib/stats.ts";

const MEGAPIXELS = (process.env.WEBP_MP ?? "2,12").split(",").map(Number);
const LIMITS = { maxPixels: 2 ** 28 };
const RUNS = 3;

interface Encoder {
  encode(data: Uint8Array, width: number, height: number, opts: Record<string, unknown>): Uint8Array;
}

interface FullDecoder {
  decode(data: Uint8Array): { width: number; height: number; data: Uint8ClampedArray } | null;
}

function pattern(width: number, height: number, seed: number): Uint8Array {
  const px = new Uint8Array(width * height * 4);
  let x = seed;
  for (let i = 0; i < width * height; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const c = i % width;
    const r = Math.floor(i / width);
    px[i * 4] = (c * 255) / width;
    px[i * 4 + 1] = (r * 255) / height;
    px[i * 4 + 2] = (((c >> 5) + (r >> 5) + seed) & 1) * 128 + ((x >>> 24) & 63);
    px[i * 4 + 3] = 255;
  }
  return px;
}

const hasher = PdqHasher.fromModule(
  new WebAssembly.Module(readFileSync(new URL("../wasm/build/core.wasm", import.meta.url))),
);

async function medianMs(work: () => Promise<unknown>): Promise<number> {
  await work();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await work();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function main(): Promise<void> {
  const enc = await emscriptenCodec<Encoder>("@jsquash/webp/codec/enc/webp_enc.wasm", webpEncoderFactory);
  // The full-size decoder the gate used before issue 12: the baseline.
  const fullDecoder = await emscriptenCodec<FullDecoder>(
    "@jsquash/webp/codec/dec/webp_dec.wasm",
    webpDecoderFactory,
  );
  const rows: string[][] = [];
  const cases = MEGAPIXELS.flatMap((mp) => [
    { mp, lossless: false },
    ...(mp <= 12 ? [{ mp, lossless: true }] : []),
  ]);
  for (const { mp, lossless } of cases) {
    const w = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
    const h = Math.round((w * 3) / 4);
    const webp = enc.encode(pattern(w, h, 1), w, h, {
      ...webpDefaults,
      quality: 80,
      method: 0,
      lossless: lossless ? 1 : 0,
    });
    const gateMs = await medianMs(async () => hasher.hash(await decodeImage(webp, LIMITS)));
    const fullMs = await medianMs(async () => {
      const image = fullDecoder.decode(webp);
      if (!image) throw new Error("jSquash decode failed");
      return hasher.hash({
        width: image.width,
        height: image.height,
        channels: 4,
        pixels: new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length),
      });
    });
    rows.push([
      `${lossless ? "lossless" : "lossy"} ${w}x${h}`,
      fixed(mp, 0),
      fixed(fullMs, 1),
      fixed(gateMs, 1),
      fixed(gateMs / fullMs, 2),
    ]);
    process.stderr.write(`bench/webp: ${mp} MP ${lossless ? "lossless" : "lossy"}\n`);
  }
  console.log("WebP decode + PDQ hash, median of 3 after a warm-up (Node 22, the Worker's decoding code)");
  console.log(
    renderTable(["image", "MP", "full-size jSquash ms (baseline)", "gate scaled ms", "ratio"], rows),
  );

  const frames = [];
  for (let i = 0; i < 20; i++) {
    const still = enc.encode(pattern(1600, 1200, i), 1600, 1200, { ...webpDefaults, quality: 80, method: 0 });
    frames.push({ webp: still, x: 0, y: 0, blend: false });
  }
  const anim = buildAnimatedWebp(1600, 1200, frames);
  const animMs = await medianMs(async () => {
    for await (const f of decodeImageFrames(anim, LIMITS)) hasher.hash(f.image);
  });
  console.log(
    `\nanimated WebP, 20 frames of 1600x1200, every frame composited and hashed: ${fixed(animMs, 0)} ms (${fixed(animMs / 20, 1)} ms per frame)`,
  );
}

await main();
