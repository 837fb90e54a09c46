/**
 * `fmix32`, the prefilter's mixing step; and the unkeyed 64-bit fold of a digest that keyed
 * the prefilter and key sets before lists were keyed under a secret (issue 14: now the first
 * 64 bits of a digest's tag). The fold stays as bench/list-key.ts's baseline and a test key
 * generator; nothing stored uses it.
 *
 * Kept as two u32 words so the hot paths stay in 32-bit integer arithmetic (no BigInt).
 * Two distinct digests share a key with probability ~n²/2⁶⁵: about 3·10⁻⁶ for 10M digests,
 * and a shared key only costs one extra KV read, never a wrong match.
 */
import type { DigestAlgo } from "./ops.ts";

const ALGO_TAG: Record<DigestAlgo, number> = { md5: 0x6d643500, sha1: 0x73686131, sha256: 0x73323536 };

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

/** Murmur3's finaliser: every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Writes the key of `algo`/`hex` (valid lowercase hex) into `out[at]` (low) and `out[at+1]` (high). */
export function foldInto(algo: DigestAlgo, hex: string, out: Uint32Array, at: number): void {
  let h1 = ALGO_TAG[algo];
  let h2 = ~h1 >>> 0;
  for (let i = 0; i < hex.length; i += 8) {
    const w = Number.parseInt(hex.slice(i, i + 8), 16);
    h1 = (Math.imul(rotl(h1 ^ Math.imul(w, 0xcc9e2d51), 13), 5) + 0xe6546b64) | 0;
    h2 = (Math.imul(rotl(h2 + Math.imul(w, 0x1b873593), 17), 0x27d4eb2d) ^ h1) | 0;
  }
  out[at] = fmix32(h1 ^ Math.imul(h2, 0x9e3779b1));
  out[at + 1] = fmix32(h2 ^ rotl(h1, 11));
}

/** The key of one digest as [low, high]. */
export function foldDigest(algo: DigestAlgo, hex: string): Uint32Array {
  const out = new Uint32Array(2);
  foldInto(algo, hex.toLowerCase(), out, 0);
  return out;
}
