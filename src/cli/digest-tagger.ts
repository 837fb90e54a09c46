/**
 * HMAC-SHA-256 tags of digests for the CLI's imports, written here rather than taken from
 * node:crypto: `createHmac` builds a native object per call, and on a 10M-digest import that
 * per-call cost was the largest item of the keyed import (bench/lists.ts). A tag input is at
 * most 33 bytes, so with the key's inner and outer SHA-256 states computed once, each tag is
 * exactly two compression-function calls on preallocated words. Checked against node:crypto
 * and WebCrypto on random inputs (test/node/list-key.node-test.ts).
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  NIBBLE["0123456789abcdef".charCodeAt(i)] = i;
  NIBBLE["0123456789ABCDEF".charCodeAt(i)] = i;
}
const BLOCK = 64;
/** A message, its 0x80 end mark and its 8-byte bit length fit one block. */
const MAX_MESSAGE_BYTES = BLOCK - 9;

/** SHA-256's compression of the 16 words at the start of `w` (w has 64) into `h`. */
function compress(h: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = h[0]!;
  let b = h[1]!;
  let c = h[2]!;
  let d = h[3]!;
  let e = h[4]!;
  let f = h[5]!;
  let g = h[6]!;
  let k = h[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + k) | 0;
}

/** HMAC-SHA-256 under one key (≤ 64 bytes), for messages of a type byte plus ≤ 54 hex-coded bytes. */
export class DigestTagger {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly h = new Int32Array(8);
  private readonly w = new Int32Array(64);
  private readonly msg = new Uint8Array(BLOCK);

  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new Error("DigestTagger: key longer than one block");
    for (const [state, pad] of [
      [this.inner, 0x36],
      [this.outer, 0x5c],
    ] as const) {
      state.set(IV);
      for (let i = 0; i < 16; i++) {
        let x = 0;
        for (let j = 0; j < 4; j++) x = (x << 8) | ((key[4 * i + j] ?? 0) ^ pad);
        this.w[i] = x;
      }
      compress(state, this.w);
    }
  }

  /** Writes the first `bytes` of HMAC(key, code ‖ bytes of `hex`) into `out` at `at`. */
  tagInto(code: number, hex: string, out: Uint8Array, at: number, bytes: number): void {
    const m = this.msg;
    const n = 1 + (hex.length >> 1);
    if (n > MAX_MESSAGE_BYTES) throw new Error("DigestTagger: message longer than one block");
    m.fill(0);
    m[0] = code;
    for (let i = 0, j = 1; i < hex.length; i += 2, j++)
      m[j] = (NIBBLE[hex.charCodeAt(i)]! << 4) | NIBBLE[hex.charCodeAt(i + 1)]!;
    m[n] = 0x80;
    const bits = (BLOCK + n) * 8; // the key block, then the message
    m[62] = bits >>> 8;
    m[63] = bits & 0xff;
    const w = this.w;
    for (let i = 0; i < 16; i++)
      w[i] = (m[4 * i]! << 24) | (m[4 * i + 1]! << 16) | (m[4 * i + 2]! << 8) | m[4 * i + 3]!;
    const h = this.h;
    h.set(this.inner);
    compress(h, w);
    for (let i = 0; i < 8; i++) w[i] = h[i]!;
    w[8] = 0x80000000;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = (BLOCK + 32) * 8;
    h.set(this.outer);
    compress(h, w);
    for (let i = 0; i < bytes; i++) out[at + i] = (h[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
  }
}
