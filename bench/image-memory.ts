/**
 * Memory an image costs while the gate decodes and PDQ-hashes it, per format and size
 * (bench/README.md). Images are generated here: gradients and noise, benign TEST DATA. Each
 * is measured in a fresh Node 22 process running the Worker's own decoding code (the same
 * WASM decoders and PDQ core as in workerd), as the rise of the process's peak RSS over a
 * warmed-up baseline, so one-off costs (compiling the decoders) are not counted.
 *
 * The file's bytes are loaded before the baseline is taken: they are the upload the gate
 * already holds, so the figure is what decoding adds. Target (issue 12): a JPEG of any size up
 * to 100 MP peaks at most 24 MiB above the baseline (the scaled luma decode, jpeg-scaled.ts).
 *
 *   npx node bench/image-memory.ts      (or: npm run bench -- image-memory)
 *   MP=4,12 npx node bench/image-memory.ts   (other JPEG sizes, in megapixels; default 2,12,48,100)
 *   PNG_MP=2,8 ...                           (PNG sizes; default 2,8,16: PNG is decoded at full size here)
 *   AVIF_MP=2,12 ...                         (AVIF sizes; default 2,12,24,48: dav1d holds one tile's YUV
 *                                             planes, src/image/avif.ts; the reservation is printed beside)
 *   WEBP_MP=12,48 ...                        (lossy WebP sizes, decoded scaled by libwebp: target as JPEG)
 *   WEBP_LOSSLESS_MP=2,12 ...                (lossless WebP sizes; default 2,12,24,48: libwebp decodes them
 *                                             through an 8 MiB sliding window, but holds a copy of the file)
 *   GIF_MP=12,48 ...                         (GIF sizes, plain and interlaced; default 12,48)
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import avifEncoderFactory from "@jsquash/avif/codec/enc/avif_enc.js";
import { defaultOptions as avifDefaults } from "@jsquash/avif/meta.js";
import jpegEncoderFactory from "@jsquash/jpeg/codec/enc/mozjpeg_enc.js";
import { defaultOptions as jpegDefaults } from "@jsquash/jpeg/meta.js";
import webpEncoderFactory from "@jsquash/webp/codec/enc/webp_enc.js";
import { defaultOptions as webpDefaults } from "@jsquash/webp/meta.js";
import { avifDecodeBytes } from "../src/image/avif.ts";
import { buildGif } from "../test/image/gif-builder.ts";
import { pngFile } from "../test/image/png-encoder.ts";
import { emscriptenCodec } from "./lib/emscripten.ts";
import { fixed, renderTable } from "./lib/stats.ts";

/** The isolate memory a Worker has on Cloudflare (README: Perceptual hashing), and the gate's default hold budget. */
const ISOLATE_BYTES = 128 * 1024 * 1024;
const HOLD_ISOLATE_BYTES = 32 * 1024 * 1024;
/** What the rest of the isolate is assumed to take: code, compiled WASM, JS heap, a small PDQ index. */
const BASELINE_BYTES = 24 * 1024 * 1024;
const JPEG_MEGAPIXELS = (process.env.MP ?? "2,12,48,100").split(",").map(Number);
const PNG_MEGAPIXELS = (process.env.PNG_MP ?? "2,8,16").split(",").map(Number);
const AVIF_MEGAPIXELS = (process.env.AVIF_MP ?? "2,12,24,48").split(",").map(Number);
const WEBP_MEGAPIXELS = (process.env.WEBP_MP ?? "12,48").split(",").map(Number);
const WEBP_LOSSLESS_MEGAPIXELS = (process.env.WEBP_LOSSLESS_MP ?? "2,12,24,48").split(",").map(Number);
const GIF_MEGAPIXELS = (process.env.GIF_MP ?? "12,48").split(",").map(Number);
if (
  [
    ...JPEG_MEGAPIXELS,
    ...PNG_MEGAPIXELS,
    ...AVIF_MEGAPIXELS,
    ...WEBP_MEGAPIXELS,
    ...WEBP_LOSSLESS_MEGAPIXELS,
    ...GIF_MEGAPIXELS,
  ].some((mp) => !(mp > 0 && mp <= 100))
)
  throw new Error("MP: megapixels between 0 and 100");
/** Issue 12: one JPEG or GIF decode + hash, any size up to 100 MP, at most this far above the baseline. */
const PEAK_TARGET = 24 * 1024 * 1024;

type Kind =
  | "jpeg baseline"
  | "jpeg progressive"
  | "png rgb"
  | "png rgba"
  | "avif 4:2:0"
  | "avif 4:4:4 alpha"
  | "avif 10-bit 4:2:0"
  | "webp lossy"
  | "webp lossless"
  | "gif"
  | "gif interlaced"
  | "gif animated";

interface JpegEncoder {
  encode(data: Uint8Array, width: number, height: number, opts: Record<string, unknown>): Uint8Array;
}

async function jpegEncoder(): Promise<JpegEncoder> {
  return emscriptenCodec("@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm", jpegEncoderFactory);
}

/** libavif + libaom's encoder (jSquash's single-threaded build); same call shape as MozJPEG's. */
async function avifEncoder(): Promise<JpegEncoder> {
  return emscriptenCodec("@jsquash/avif/codec/enc/avif_enc.wasm", avifEncoderFactory);
}

/** RGBA test pattern: two gradients and noise in the blue channel. */
function pattern(width: number, height: number): Uint8Array {
  const px = new Uint8Array(width * height * 4);
  let x = 1;
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const o = (y * width + i) * 4;
      px[o] = (i * 255) / width;
      px[o + 1] = (y * 255) / height;
      px[o + 2] = (x >>> 24) & 63;
      px[o + 3] = 255;
    }
  }
  return px;
}

/** An 8-bit RGB or RGBA PNG (filter 0 on every row, fast zlib level: size does not matter here). */
function png(rgba: Uint8Array, width: number, height: number, channels: 3 | 4): Uint8Array {
  const stride = width * channels + 1;
  const raw = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width; i++) {
      for (let c = 0; c < channels; c++)
        raw[y * stride + 1 + i * channels + c] = rgba[(y * width + i) * 4 + c]!;
    }
  }
  const head = { width, height, colorType: channels === 3 ? 2 : 6, depth: 8 } as const;
  return pngFile(head, deflateSync(raw, { level: 1 }));
}

/**
 * A GIF of the pattern in a 3-3-2 colour palette (256 entries), noise kept so LZW has work; when
 * `animated`, a second frame redraws the middle (on a screen over 2048×2048 the animation is
 * composited at the PDQ size; the child measures up to the first frame, which allocates that canvas).
 */
function gif(
  rgba: Uint8Array,
  width: number,
  height: number,
  interlaced: boolean,
  animated = false,
): Uint8Array {
  const indices = new Uint8Array(width * height);
  for (let i = 0; i < indices.length; i++)
    indices[i] = (rgba[i * 4]! & 0xe0) | ((rgba[i * 4 + 1]! >> 3) & 0x1c) | (rgba[i * 4 + 2]! >> 4); // blue: the noise
  const palette = Array.from({ length: 256 }, (_, i) => [i & 0xe0, (i << 3) & 0xe0, (i << 6) & 0xc0]);
  const frame = { width, height, indices, interlaced };
  const [w2, h2] = [width >> 1, height >> 1];
  const second = {
    left: width >> 2,
    top: height >> 2,
    width: w2,
    height: h2,
    indices: indices.subarray(0, w2 * h2),
  };
  return buildGif({
    width,
    height,
    globalPalette: palette,
    frame,
    ...(animated ? { secondFrame: second } : {}),
  });
}

/** Sizes measured for a kind. */
function sizesOf(kind: Kind): number[] {
  if (kind.startsWith("jpeg")) return JPEG_MEGAPIXELS;
  if (kind.startsWith("png")) return PNG_MEGAPIXELS;
  // libaom's encoder (WASM, 2 GiB heap) cannot take 48 MP of 16-bit or 4:4:4 + alpha samples.
  if (kind.startsWith("avif")) return AVIF_MEGAPIXELS.filter((mp) => kind === "avif 4:2:0" || mp <= 24);
  if (kind === "webp lossy") return WEBP_MEGAPIXELS;
  if (kind === "webp lossless") return WEBP_LOSSLESS_MEGAPIXELS;
  return GIF_MEGAPIXELS;
}

function linearFit(pts: [number, number][]): { fixedBytes: number; perPixel: number } {
  const n = pts.length;
  const mx = pts.reduce((a, [x]) => a + x, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const perPixel = sxx > 0 ? pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx : my / mx;
  return { fixedBytes: my - perPixel * mx, perPixel };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "hashgate-image-memory-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const encoder = await jpegEncoder();
  const avif = await avifEncoder();
  const webpEncoder = await emscriptenCodec<JpegEncoder>(
    "@jsquash/webp/codec/enc/webp_enc.wasm",
    webpEncoderFactory,
  );
  const encode = (kind: Kind, px: Uint8Array, w: number, h: number): Uint8Array => {
    if (kind.startsWith("webp")) {
      // Fastest method: the file's size does not matter here, only its pixels.
      const lossless = kind === "webp lossless" ? 1 : 0;
      return webpEncoder.encode(px, w, h, { ...webpDefaults, quality: 75, method: 0, lossless });
    }
    if (kind === "png rgb") return png(px, w, h, 3);
    if (kind === "png rgba") return png(px, w, h, 4);
    if (kind === "avif 4:2:0") return avif.encode(px, w, h, { ...avifDefaults, quality: 60, speed: 10 });
    if (kind === "avif 10-bit 4:2:0") {
      const deep = new Uint16Array(px.length);
      for (let i = 0; i < px.length; i++) deep[i] = (px[i]! * 1023) / 255;
      return avif.encode(new Uint8Array(deep.buffer), w, h, {
        ...avifDefaults,
        quality: 60,
        speed: 10,
        bitDepth: 10,
      });
    }
    if (kind === "avif 4:4:4 alpha") {
      for (let i = 3; i < px.length; i += 4) px[i] = (i >> 4) & 255; // varying alpha: an alpha item
      return avif.encode(px, w, h, { ...avifDefaults, quality: 60, speed: 10, subsample: 3 });
    }
    if (kind.startsWith("gif")) return gif(px, w, h, kind === "gif interlaced", kind === "gif animated");
    const progressive = kind === "jpeg progressive";
    return encoder.encode(px, w, h, { ...jpegDefaults, quality: 85, progressive, baseline: !progressive });
  };
  const kinds = ((process.env.KINDS?.split(",") as Kind[] | undefined) ?? [
    "jpeg baseline",
    "jpeg progressive",
    "png rgb",
    "png rgba",
    "avif 4:2:0",
    "avif 4:4:4 alpha",
    "avif 10-bit 4:2:0",
    "webp lossy",
    "webp lossless",
    "gif",
    "gif interlaced",
    "gif animated",
  ]) as Kind[];
  const rows: string[][] = [];
  const points = new Map<Kind, [number, number][]>();
  /** Lossless WebP: peak above the file's size (libwebp decodes from a copy of the file in its memory). */
  const beyondInput: number[] = [];
  for (const kind of kinds) {
    const warm = join(dir, `warm-${kind.replace(" ", "-")}`);
    writeFileSync(warm, encode(kind, pattern(64, 48), 64, 48));
    for (const mp of sizesOf(kind)) {
      const w = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
      const h = Math.round((w * 3) / 4);
      const file = join(dir, `${kind.replace(" ", "-")}-${mp}`);
      writeFileSync(file, encode(kind, pattern(w, h), w, h));
      const out = execFileSync(
        process.execPath,
        ["--expose-gc", join(import.meta.dirname, "lib/image-peak.ts"), file, warm],
        { encoding: "utf8" },
      );
      const r = JSON.parse(out.trim().split("\n").pop()!) as {
        pixels: number;
        bytes: number;
        peak: number;
        reserved: number;
      };
      // Per pixel of the file (a JPEG decodes reduced: r.pixels is what came out).
      const bpp = r.peak / (w * h);
      points.set(kind, [...(points.get(kind) ?? []), [w * h, r.peak]]);
      if (kind === "webp lossless") beyondInput.push(r.peak - r.bytes);
      rows.push([
        kind,
        `${w}x${h}`,
        fixed((w * h) / 1e6, 1),
        fixed(r.bytes / 2 ** 20, 1),
        fixed(r.peak / 2 ** 20, 0),
        fixed(bpp, 1),
        fixed(r.reserved / 2 ** 20, 0),
      ]);
      process.stderr.write(`bench/image-memory: ${kind} ${mp} MP\n`);
    }
  }
  console.log("Peak memory while one image is decoded and PDQ-hashed (Node 22, the Worker's decoding code)");
  console.log(
    renderTable(["image", "size", "MP", "file MiB", "peak MiB", "bytes/pixel", "reserved MiB"], rows),
  );
  const targets: [string, number[]][] = [
    ["jpeg", JPEG_MEGAPIXELS],
    ["gif", GIF_MEGAPIXELS],
    ["webp lossy", WEBP_MEGAPIXELS],
  ];
  for (const [format, measured] of targets) {
    const peaks = [...points]
      .filter(([k]) => k.startsWith(format))
      .flatMap(([, p]) => p.map(([, peak]) => peak));
    if (peaks.length === 0) continue;
    const worst = Math.max(...peaks);
    console.log(
      `${format === "jpeg" ? "\n" : ""}target (issue 12): ${worst <= PEAK_TARGET ? "PASS" : "MISS"}  ${format.toUpperCase()} peak above baseline <= 24 MiB up to ${Math.max(...measured)} MP: worst ${fixed(worst / 2 ** 20, 1)} MiB`,
    );
  }
  if (beyondInput.length > 0) {
    const worst = Math.max(...beyondInput);
    console.log(
      `target (issue 12): ${worst <= PEAK_TARGET ? "PASS" : "MISS"}  WEBP LOSSLESS peak above baseline, less the file's copy, <= 24 MiB up to ${Math.max(...WEBP_LOSSLESS_MEGAPIXELS)} MP: worst ${fixed(worst / 2 ** 20, 1)} MiB`,
    );
  }
  const room = ISOLATE_BYTES - HOLD_ISOLATE_BYTES - BASELINE_BYTES;
  console.log(
    `\nPNG (and lossless WebP) size that fits a ${ISOLATE_BYTES / 2 ** 20} MiB isolate beside a full ${HOLD_ISOLATE_BYTES / 2 ** 20} MiB hold budget` +
      ` and ~${BASELINE_BYTES / 2 ** 20} MiB for the rest (${fixed(room / 2 ** 20, 0)} MiB for one image; images are decoded one at a time per isolate):`,
  );
  for (const [kind, pts] of [...points].filter(([k]) => k.startsWith("png") || k === "webp lossless")) {
    // Peak = fixed + perPixel × pixels, fitted by least squares over the sizes measured.
    const { fixedBytes, perPixel } = linearFit(pts);
    const fits = (room - fixedBytes) / perPixel;
    console.log(
      `  ${kind}: ${fixed(perPixel, 1)} bytes/pixel + ${fixed(fixedBytes / 2 ** 20, 0)} MiB → ${fixed(fits / 1e6, 1)} million pixels`,
    );
  }
  const avifPoints = points.get("avif 4:2:0");
  if (avifPoints) {
    const { fixedBytes, perPixel } = linearFit(avifPoints);
    // The gate decodes what its reservation fits in ISOLATE_MEMORY_BYTES (default 80 MiB).
    const budget = 80 * 2 ** 20;
    const fourByThree = (mp: number) => {
      const width = Math.round(Math.sqrt((mp * 1e6 * 4) / 3));
      const height = Math.round((width * 3) / 4);
      // A photo-like file: about 0.1 byte per pixel of AV1 data.
      const shape = { width, height, tileWidth: width, tileHeight: height, inputBytes: 0.1 * width * height };
      return { ...shape, depth: 8, chroma: 0.5 };
    };
    let mp = 0.1;
    while (mp < 200 && avifDecodeBytes(fourByThree(mp + 0.1)) <= budget) mp += 0.1;
    console.log(
      `\nAVIF 8-bit 4:2:0: measured ${fixed(perPixel, 2)} bytes/pixel + ${fixed(fixedBytes / 2 ** 20, 0)} MiB (RSS);` +
        ` the default 80 MiB budget reserves for a 4:3 image up to ${fixed(mp, 1)} MP (src/image/avif.ts avifDecodeBytes)`,
    );
  }
}

await main();
