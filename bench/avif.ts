/**
 * AVIF decode + PDQ hash per image, as the gate does it (hashgate's dav1d build, avif.ts: each
 * picture converted straight into the PDQ working size) against the baseline measured in the
 * same run: a full-size RGBA decode of the same file by jSquash's libavif + libaom build
 * (@jsquash/avif, the gate's AVIF decoder before issue 12), area-averaged to the same working
 * size (downscale.ts) and hashed the same way. Also the PDQ distance between the two hashes,
 * per image: how much the different chroma upsampling (and decoder) moves the hash.
 *
 * Images: generated patterns (a smooth gradient with noise, benign TEST DATA) at the given
 * megapixels in three layouts, and the fixture photos of ../shared/fixtures/pdq re-encoded as
 * AVIF (quality 80).
 *
 *   npx node bench/avif.ts       (or: npm run bench -- avif)
 *   AVIF_MP=2,12,24 npx node bench/avif.ts
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import avifDecoderFactory from "@jsquash/avif/codec/dec/avif_dec.js";
import avifEncoderFactory from "@jsquash/avif/codec/enc/avif_enc.js";
import { defaultOptions as avifDefaults } from "@jsquash/avif/meta.js";
import { decodeImage } from "../src/image/decode.ts";
import { downscaleImage } from "../src/image/downscale.ts";
import type { DecodedImage } from "../src/image/types.ts";
import { PdqHasher } from "../src/pdq/core.ts";
import { fixed, median, renderTable } from "./lib/stats.ts";

const MEGAPIXELS = (process.env.AVIF_MP ?? "2,12").split(",").map(Number);
const LIMITS = { maxPixels: 2 ** 28 };
const RUNS = 3;
const FIXTURES = join(import.meta.dirname, "../../shared/fixtures/pdq/images/reg-test-input");
const PHOTOS = [
  "dih/bridge-1-original.jpg",
  "labelme-subset/q0122.jpg",
  "labelme-subset/q0291.jpg",
  "labelme-subset/q0746.jpg",
  "pen-and-coaster.png",
];

interface Encoder {
  encode(data: Uint8Array, width: number, height: number, opts: Record<string, unknown>): Uint8Array | null;
}

interface FullDecoder {
  decode(
    data: Uint8Array,
    bitDepth: number,
  ): { width: number; height: number; data: Uint8ClampedArray } | null;
  HEAPU8: Uint8Array;
}

/** jSquash's Emscripten build (encoder, or the full-size decoder the gate used before issue 12). */
async function emscripten<T>(file: string, codecFactory: unknown): Promise<T> {
  const wasm = join(import.meta.dirname, "../node_modules/@jsquash/avif/codec", file);
  const module = await WebAssembly.compile(readFileSync(wasm));
  const factory = codecFactory as (o: Record<string, unknown>) => Promise<T>;
  return factory({
    noInitialRun: true,
    instantiateWasm(imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) {
      const instance = new WebAssembly.Instance(module, imports);
      done(instance);
      return instance.exports;
    },
  });
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

function hamming(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = (Number.parseInt(a.slice(i, i + 8), 16) ^ Number.parseInt(b.slice(i, i + 8), 16)) >>> 0;
    for (; x; x &= x - 1) d++;
  }
  return d;
}

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

function encode(enc: Encoder, rgba: Uint8Array, w: number, h: number, depth: number, subsample: number) {
  let samples = rgba;
  if (depth > 8) {
    const deep = new Uint16Array(rgba.length);
    for (let i = 0; i < rgba.length; i++) deep[i] = (rgba[i]! * ((1 << depth) - 1)) / 255;
    samples = new Uint8Array(deep.buffer);
  }
  const out = enc.encode(samples, w, h, {
    ...avifDefaults,
    quality: 80,
    speed: 10,
    bitDepth: depth,
    subsample,
  });
  if (!out) throw new Error("AVIF encoder failed");
  return new Uint8Array(out);
}

/** The baseline: jSquash's full-size RGBA, area-averaged to the gate's working size. */
function fullDecode(decoder: FullDecoder, avif: Uint8Array): DecodedImage {
  const image = decoder.decode(avif, 8);
  if (!image) throw new Error("jSquash decode failed");
  const pixels = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.length);
  return downscaleImage({ width: image.width, height: image.height, channels: 4, pixels });
}

async function main(): Promise<void> {
  const enc = await emscripten<Encoder>("enc/avif_enc.wasm", avifEncoderFactory);
  let fullDecoder = await emscripten<FullDecoder>("dec/avif_dec.wasm", avifDecoderFactory);
  const rows: string[][] = [];
  const cases: { name: string; avif: Uint8Array; mp: number }[] = [];
  for (const mp of MEGAPIXELS) {
    const w = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
    const h = Math.round((w * 3) / 4);
    const px = pattern(w, h, 1);
    cases.push({ name: `8-bit 4:2:0 ${w}x${h}`, avif: encode(enc, px, w, h, 8, 1), mp });
    if (mp <= 12) {
      cases.push({ name: `10-bit 4:2:0 ${w}x${h}`, avif: encode(enc, px, w, h, 10, 1), mp });
      cases.push({ name: `8-bit 4:4:4 ${w}x${h}`, avif: encode(enc, px, w, h, 8, 3), mp });
    }
    process.stderr.write(`bench/avif: encoded ${mp} MP\n`);
  }
  for (const file of PHOTOS) {
    const img = await decodeImage(readFileSync(join(FIXTURES, file)), { ...LIMITS, fullResolution: true });
    const rgba = new Uint8Array(img.width * img.height * 4).fill(255);
    for (let i = 0; i < img.width * img.height; i++)
      for (let c = 0; c < 3; c++)
        rgba[i * 4 + c] = img.pixels[i * img.channels + (img.channels >= 3 ? c : 0)]!;
    const mp = (img.width * img.height) / 1e6;
    cases.push({
      name: `${file} ${img.width}x${img.height}`,
      avif: encode(enc, rgba, img.width, img.height, 8, 1),
      mp,
    });
  }
  for (const { name, avif, mp } of cases) {
    const gateMs = await medianMs(async () => hasher.hash(await decodeImage(avif, LIMITS)));
    const fullMs = await medianMs(async () => {
      const image = fullDecode(fullDecoder, avif);
      // A fresh instance per decode once its heap has grown, as the gate's jSquash slot did.
      if (fullDecoder.HEAPU8.length > 64 * 1024 * 1024)
        fullDecoder = await emscripten<FullDecoder>("dec/avif_dec.wasm", avifDecoderFactory);
      return hasher.hash(image);
    });
    const ours = hasher.hash(await decodeImage(avif, LIMITS)).hash;
    const theirs = hasher.hash(fullDecode(fullDecoder, avif)).hash;
    rows.push([
      name,
      fixed(mp, 1),
      fixed(fullMs, 1),
      fixed(gateMs, 1),
      fixed(gateMs / fullMs, 2),
      String(hamming(ours, theirs)),
    ]);
    process.stderr.write(`bench/avif: ${name}\n`);
  }
  console.log("AVIF decode + PDQ hash, median of 3 after a warm-up (Node 22, the Worker's decoding code)");
  console.log(
    renderTable(
      ["image", "MP", "full-size jSquash ms (baseline)", "gate dav1d ms", "ratio", "PDQ distance (bits)"],
      rows,
    ),
  );
}

await main();
