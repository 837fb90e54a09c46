/**
 * Test helper: the blur and decimation of PDQ written the plain way, straight from the fixtures
 * README (whole float32 buffers, a strided column pass, Math.fround after every operation).
 * The WASM core reorganises this work (streamed rows, SIMD column sums, only the decimated
 * second pass); the tests hold it to this version bit for bit on random images.
 */
import type { DecodedImage } from "../../src/image/types.ts";

const f = Math.fround;

function luma(img: DecodedImage): Float32Array {
  const { width, height, channels, pixels } = img;
  const out = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    const p = i * channels;
    out[i] =
      channels === 1
        ? pixels[p]!
        : f(f(f(f(0.299) * pixels[p]!) + f(f(0.587) * pixels[p + 1]!)) + f(f(0.114) * pixels[p + 2]!));
  }
  return out;
}

/** Box of width w: out[i] = mean of in[i - floor((w-1)/2) .. i + floor(w/2)], running float32 sum. */
function box(
  inp: Float32Array,
  out: Float32Array,
  start: number,
  stride: number,
  len: number,
  w: number,
): void {
  const ahead = Math.floor(w / 2);
  const behind = Math.floor((w - 1) / 2);
  let sum = 0;
  for (let k = 0; k < ahead; k++) sum = f(sum + inp[start + k * stride]!);
  for (let i = 0; i < len; i++) {
    const enter = i + ahead;
    const leave = i - behind - 1;
    if (enter < len) sum = f(sum + inp[start + enter * stride]!);
    if (leave >= 0) sum = f(sum - inp[start + leave * stride]!);
    const count = Math.min(len - 1, enter) - Math.max(0, leave + 1) + 1;
    out[start + i * stride] = f(sum / count);
  }
}

/** The 64x64 buffer after blur and decimation, as the reference computes it. */
export function naiveBuffer64(img: DecodedImage): Float32Array {
  const { width: w, height: h } = img;
  let a = luma(img);
  if (!(w === 64 && h === 64)) {
    const wr = Math.floor((w + 127) / 128);
    const wc = Math.floor((h + 127) / 128);
    const b = new Float32Array(w * h);
    for (let rep = 0; rep < 2; rep++) {
      for (let y = 0; y < h; y++) box(a, b, y * w, 1, w, wr);
      for (let x = 0; x < w; x++) box(b, a, x, w, h, wc);
    }
  }
  const out = new Float32Array(64 * 64);
  for (let i = 0; i < 64; i++) {
    const y = Math.floor(((i + 0.5) * h) / 64);
    for (let j = 0; j < 64; j++) out[i * 64 + j] = a[y * w + Math.floor(((j + 0.5) * w) / 64)]!;
  }
  a = out;
  return a;
}
