/**
 * Exact-digest prefilter: a binary fuse filter (Graf & Lemire, 2022) with 8-bit fingerprints,
 * 3 probes. False-positive rate 2⁻⁸ ≈ 0.39%; size ≈ 9 bits per key for large sets (the
 * size factor grows for small sets: ≤ 10 bits per key from ~10,000 keys; below that the filter
 * is a few KB). Built here, serialised into one KV value, probed by the gate.
 *
 * Serialised form (little-endian): "HGF1", then u32 keys, seed, segmentLength,
 * segmentCount, arrayLength, then arrayLength fingerprint bytes.
 */
import { fmix32 } from "./fold.ts";

const MAGIC = 0x31464748; // "HGF1"
const HEADER_BYTES = 24;
/** Construction fails with tiny probability per seed; more failures mean duplicate keys. */
const MAX_SEEDS = 32;
const MAX_SEGMENT_LENGTH = 1 << 18;

export class Prefilter {
  readonly keys: number;
  readonly seed: number;
  readonly segmentLength: number;
  readonly segmentCount: number;
  readonly fingerprints: Uint8Array;
  private readonly segmentCountLength: number;
  private readonly mask: number;

  constructor(
    keys: number,
    seed: number,
    segmentLength: number,
    segmentCount: number,
    fingerprints: Uint8Array,
  ) {
    this.keys = keys;
    this.seed = seed >>> 0;
    this.segmentLength = segmentLength;
    this.segmentCount = segmentCount;
    this.fingerprints = fingerprints;
    this.segmentCountLength = segmentCount * segmentLength;
    this.mask = segmentLength - 1;
  }

  /** True if the key may be in the set (never false for a member). */
  has(lo: number, hi: number): boolean {
    if (this.keys === 0) return false;
    const p = probe(lo, hi, this.seed, this.segmentCountLength, this.segmentLength, this.mask);
    const f = this.fingerprints;
    return (f[p.h0]! ^ f[p.h1]! ^ f[p.h2]!) === p.fp;
  }

  bitsPerKey(): number {
    return this.keys === 0 ? 0 : (this.fingerprints.length * 8) / this.keys;
  }

  serialize(): Uint8Array {
    const out = new Uint8Array(HEADER_BYTES + this.fingerprints.length);
    const v = new DataView(out.buffer);
    const fields = [
      MAGIC,
      this.keys,
      this.seed,
      this.segmentLength,
      this.segmentCount,
      this.fingerprints.length,
    ];
    for (const [i, x] of fields.entries()) v.setUint32(i * 4, x, true);
    out.set(this.fingerprints, HEADER_BYTES);
    return out;
  }

  static parse(bytes: Uint8Array): Prefilter {
    if (bytes.length < HEADER_BYTES) throw new Error("prefilter: truncated header");
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const u = (i: number) => v.getUint32(i * 4, true);
    if (u(0) !== MAGIC) throw new Error("prefilter: bad magic");
    const [keys, seed, segLen, segCount, len] = [u(1), u(2), u(3), u(4), u(5)];
    if (
      bytes.length !== HEADER_BYTES + len ||
      (segCount + 2) * segLen !== len ||
      (segLen & (segLen - 1)) !== 0
    )
      throw new Error("prefilter: inconsistent sizes");
    return new Prefilter(keys, seed, segLen, segCount, bytes.subarray(HEADER_BYTES));
  }
}

interface Probe {
  h0: number;
  h1: number;
  h2: number;
  fp: number;
}

const scratch: Probe = { h0: 0, h1: 0, h2: 0, fp: 0 };

/** The three slots (one in each of three consecutive segments) and the fingerprint of a key. */
function probe(
  lo: number,
  hi: number,
  seed: number,
  segCountLen: number,
  segLen: number,
  mask: number,
): Probe {
  const a = fmix32(lo ^ seed);
  const b = fmix32(hi ^ Math.imul(a, 0x9e3779b1) ^ seed);
  const c = fmix32(a + Math.imul(b, 0x85ebca6b));
  // a / 2³² · segCountLen: a float product, exact enough and identical on every IEEE platform.
  const h0 = Math.floor((a * segCountLen) / 4294967296);
  scratch.h0 = h0;
  scratch.h1 = (h0 + segLen) ^ (b & mask);
  scratch.h2 = (h0 + 2 * segLen) ^ (c & mask);
  scratch.fp = (b >>> 24) ^ (c >>> 24) ^ (a & 0xff);
  return scratch;
}

function layout(n: number): { segLen: number; segCount: number } {
  if (n === 0) return { segLen: 4, segCount: 1 };
  const segLen = Math.min(MAX_SEGMENT_LENGTH, 1 << Math.floor(Math.log(n) / Math.log(3.33) + 2.25));
  const factor = n <= 1 ? 0 : Math.max(1.125, 0.875 + (0.25 * Math.log(1_000_000)) / Math.log(n));
  const capacity = Math.round(n * factor);
  const initSegments = Math.floor((capacity + segLen - 1) / segLen) - 2;
  const arrayLength = (initSegments + 2) * segLen;
  const segs = Math.floor((arrayLength + segLen - 1) / segLen);
  return { segLen, segCount: segs <= 2 ? 1 : segs - 2 };
}

/**
 * Builds the filter of `keys` (pairs [lo, hi, lo, hi, …], no duplicates — a `KeySet` gives
 * exactly that). Memory ≈ 25 bytes per key while building.
 */
export function buildPrefilter(keys: Uint32Array, seed0 = 0x5eed1234): Prefilter {
  const n = keys.length / 2;
  const { segLen, segCount } = layout(n);
  const len = (segCount + 2) * segLen;
  const mask = segLen - 1;
  const segCountLen = segCount * segLen;
  const h = new Uint32Array(n * 3);
  const fp = new Uint8Array(n);
  const count = new Uint32Array(len);
  const xorKey = new Uint32Array(len);
  const queue = new Uint32Array(len);
  const order = new Uint32Array(n);
  const orderSlot = new Uint32Array(n);
  for (let attempt = 0; attempt < MAX_SEEDS; attempt++) {
    const seed = fmix32(seed0 + attempt) >>> 0;
    count.fill(0);
    xorKey.fill(0);
    for (let i = 0; i < n; i++) {
      const p = probe(keys[2 * i]!, keys[2 * i + 1]!, seed, segCountLen, segLen, mask);
      h[3 * i] = p.h0;
      h[3 * i + 1] = p.h1;
      h[3 * i + 2] = p.h2;
      fp[i] = p.fp;
      count[p.h0]!++;
      count[p.h1]!++;
      count[p.h2]!++;
      xorKey[p.h0]! ^= i;
      xorKey[p.h1]! ^= i;
      xorKey[p.h2]! ^= i;
    }
    let qn = 0;
    for (let s = 0; s < len; s++) if (count[s] === 1) queue[qn++] = s;
    let peeled = 0;
    while (qn > 0) {
      const s = queue[--qn]!;
      if (count[s] !== 1) continue;
      const i = xorKey[s]!;
      order[peeled] = i;
      orderSlot[peeled++] = s;
      for (let k = 0; k < 3; k++) {
        const t = h[3 * i + k]!;
        count[t]!--;
        xorKey[t]! ^= i;
        if (count[t] === 1) queue[qn++] = t;
      }
    }
    if (peeled !== n) continue;
    const f = new Uint8Array(len);
    for (let k = n - 1; k >= 0; k--) {
      const i = order[k]!;
      f[orderSlot[k]!] = fp[i]! ^ f[h[3 * i]!]! ^ f[h[3 * i + 1]!]! ^ f[h[3 * i + 2]!]!;
    }
    return new Prefilter(n, seed, segLen, segCount, f);
  }
  throw new Error(`prefilter: no construction after ${MAX_SEEDS} seeds (duplicate keys?)`);
}
