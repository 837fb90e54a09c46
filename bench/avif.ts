/**
 * AVIF decode + PDQ hash per image, as the gate does it (hashgate's dav1d build, avif.ts: each
 * picture converted straight into the PDQ working size) against the baseline measured in the
 * same run: a full-size RGBA decode of the same file by jSquash's libavif + libaom build
 * (@jsquash/avif, the gate's AVIF decoder before issue 12), area-averaged to the same working
 * size (downscale.ts) and hashed the same way. Also the PDQ distance between the two hashes,
 * per image: how much the different chroma upsampling (and decoder) moves the hash.
 *
 * Images: a benign fixture photo (../shared/fixtures/pdq's bridge) enlarged to the given
 * megapixels in three layouts, and five fixture photos re-encoded as AVIF (quality 80). Times
 * are CPU time of this process (user + system), the median of 3 after a warm-up: the machine is
 * shared, and wall time under load says little.
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
import { hamming } from "../test/helpers/pdq-distance.ts";
import { emscriptenCodec } from "./lib/emscripten.ts";
import { fixed, medianCpuMs, renderTable } from "./lib/stats.ts";

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

const hasher = PdqHasher.fromModule(
  new WebAssembly.Module(readFileSync(new URL("../wasm/build/core.wasm", import.meta.url))),
);

/** Mean absolute difference of two same-sized images' luminance (PDQ's weights), in levels. */
function meanLumaDiff(a: DecodedImage, b: DecodedImage): number {
  const luma = (img: DecodedImage, i: number) => {
    const p = img.pixels;
    const o = i * img.channels;
    return img.channels < 3 ? p[o]! : 0.299 * p[o]! + 0.587 * p[o + 1]! + 0.114 * p[o + 2]!;
  };
  if (a.width !== b.width || a.height !== b.height) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < a.width * a.height; i++) sum += Math.abs(luma(a, i) - luma(b, i));
  return sum / (a.width * a.height);
}

/** A fixture photo's RGBA, enlarged (nearest neighbour) to `w`×`h`. */
function enlarged(photo: DecodedImage, w: number, h: number): Uint8Array {
  const px = new Uint8Array(w * h * 4).fill(255);
  for (let y = 0; y < h; y++) {
    const sy = Math.floor((y * photo.height) / h);
    for (let x = 0; x < w; x++) {
      const s = (sy * photo.width + Math.floor((x * photo.width) / w)) * photo.channels;
      for (let c = 0; c < 3; c++) px[(y * w + x) * 4 + c] = photo.pixels[s + (photo.channels >= 3 ? c : 0)]!;
    }
  }
  return px;
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
  const enc = await emscriptenCodec<Encoder>("@jsquash/avif/codec/enc/avif_enc.wasm", avifEncoderFactory);
  let fullDecoder = await emscriptenCodec<FullDecoder>(
    "@jsquash/avif/codec/dec/avif_dec.wasm",
    avifDecoderFactory,
  );
  const rows: string[][] = [];
  const cases: { name: string; avif: Uint8Array; mp: number }[] = [];
  const photo = async (file: string) =>
    decodeImage(readFileSync(join(FIXTURES, file)), { ...LIMITS, fullResolution: true });
  const bridge = await photo(PHOTOS[0]!);
  for (const mp of MEGAPIXELS) {
    const w = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
    const h = Math.round((w * 3) / 4);
    const px = enlarged(bridge, w, h);
    cases.push({ name: `bridge 8-bit 4:2:0 ${w}x${h}`, avif: encode(enc, px, w, h, 8, 1), mp });
    if (mp <= 12) {
      cases.push({ name: `bridge 10-bit 4:2:0 ${w}x${h}`, avif: encode(enc, px, w, h, 10, 1), mp });
      cases.push({ name: `bridge 8-bit 4:4:4 ${w}x${h}`, avif: encode(enc, px, w, h, 8, 3), mp });
    }
    process.stderr.write(`bench/avif: encoded ${mp} MP\n`);
  }
  for (const file of PHOTOS) {
    const img = await photo(file);
    const mp = (img.width * img.height) / 1e6;
    const rgba = enlarged(img, img.width, img.height);
    cases.push({
      name: `${file} ${img.width}x${img.height}`,
      avif: encode(enc, rgba, img.width, img.height, 8, 1),
      mp,
    });
  }
  for (const { name, avif, mp } of cases) {
    const gateMs = await medianCpuMs(async () => hasher.hash(await decodeImage(avif, LIMITS)), RUNS);
    const fullMs = await medianCpuMs(async () => {
      const image = fullDecode(fullDecoder, avif);
      // A fresh instance per decode once its heap has grown, as the gate's jSquash slot did.
      if (fullDecoder.HEAPU8.length > 64 * 1024 * 1024)
        fullDecoder = await emscriptenCodec<FullDecoder>(
          "@jsquash/avif/codec/dec/avif_dec.wasm",
          avifDecoderFactory,
        );
      return hasher.hash(image);
    }, RUNS);
    const ours = await decodeImage(avif, LIMITS);
    const theirs = fullDecode(fullDecoder, avif);
    const [a, b] = [hasher.hash(ours), hasher.hash(theirs)];
    rows.push([
      name,
      fixed(mp, 1),
      fixed(fullMs, 0),
      fixed(gateMs, 0),
      fixed(gateMs / fullMs, 2),
      String(hamming(a.hash, b.hash)),
      `${a.quality}/${b.quality}`,
      fixed(meanLumaDiff(ours, theirs), 2),
    ]);
    process.stderr.write(`bench/avif: ${name}\n`);
  }
  console.log(
    "AVIF decode + PDQ hash, CPU ms, median of 3 after a warm-up (Node 22, the Worker's decoding code)",
  );
  console.log(
    renderTable(
      [
        "image",
        "MP",
        "full-size jSquash CPU ms (baseline)",
        "gate dav1d CPU ms",
        "ratio",
        "PDQ distance (bits)",
        "PDQ quality gate/jSquash",
        "mean luma diff",
      ],
      rows,
    ),
  );
}

await main();
