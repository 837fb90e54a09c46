// Test data: a small JPEG encoder that writes what no available encoder lets a test choose:
// any sampling factors, restart intervals, baseline or progressive with any valid scan script
// (spectral selection and successive approximation), 1, 3 or 4 components, Adobe markers.
// Baseline and progressive files of the same planes carry identical quantised coefficients,
// so a decoder must give identical pixels for both: the oracle of the progressive tests.
// Huffman tables are generic (every symbol gets a 9- or 10-bit code), not optimised.

export interface EncoderComponent {
  id: number;
  h: number;
  v: number;
  /** Samples at the component's own resolution: ceil(W * h / hmax) x ceil(H * v / vmax). */
  samples: Uint8Array;
}

/** One progressive scan: components (indexes), band Ss..Se, successive approximation Ah/Al. */
export interface Scan {
  comps: number[];
  ss: number;
  se: number;
  ah: number;
  al: number;
}

export interface EncodeSpec {
  width: number;
  height: number;
  components: EncoderComponent[];
  /** 1..100, IJG scaling of the Annex K tables. */
  quality: number;
  restartInterval?: number;
  /** Progressive scan script; absent for a baseline (one interleaved scan) file. */
  scans?: Scan[];
  /** Baseline only: one scan per component instead of one interleaved scan. */
  separateScans?: boolean;
  adobeTransform?: number;
}

const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7,
  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46,
  53, 60, 61, 54, 47, 55, 62, 63,
];
const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22,
  29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103,
  121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

class Bits {
  readonly out: number[] = [];
  #acc = 0;
  #n = 0;
  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.#acc = (this.#acc << 1) | ((value >> i) & 1);
      if (++this.#n === 8) {
        this.out.push(this.#acc);
        if (this.#acc === 0xff) this.out.push(0);
        this.#acc = 0;
        this.#n = 0;
      }
    }
  }
  flush(): void {
    while (this.#n !== 0) this.put(1, 1);
  }
}

// Generic tables: DC symbols 0..11 as 4-bit codes; AC symbols 0..254 as 9-bit codes, 255 as 10 bits.
const DC_COUNTS = [0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_COUNTS = [0, 0, 0, 0, 0, 0, 0, 0, 255, 1, 0, 0, 0, 0, 0, 0];
function codes(counts: number[], n: number): { code: number; len: number }[] {
  const out: { code: number; len: number }[] = [];
  let code = 0;
  for (let l = 1; l <= 16; l++) {
    for (let i = 0; i < counts[l - 1]!; i++) out.push({ code: code++, len: l });
    code <<= 1;
  }
  return out.slice(0, n);
}
const DC_CODES = codes(DC_COUNTS, 12);
const AC_CODES = codes(AC_COUNTS, 256);

function segment(marker: number, payload: number[]): number[] {
  const len = payload.length + 2;
  return [0xff, marker, len >> 8, len & 0xff, ...payload];
}

function bitLength(v: number): number {
  let n = 0;
  for (let a = Math.abs(v); a > 0; a >>= 1) n++;
  return n;
}

/** Forward DCT and quantisation of every block: per component, blocks (MCU grid) x 64 zig-zag coefficients. */
function quantise(spec: EncodeSpec, q: number[]): { coefs: Int32Array[]; bw: number[]; bh: number[] } {
  const hmax = Math.max(...spec.components.map((c) => c.h));
  const vmax = Math.max(...spec.components.map((c) => c.v));
  const mx = Math.ceil(spec.width / (8 * hmax));
  const my = Math.ceil(spec.height / (8 * vmax));
  const cos = Array.from({ length: 64 }, (_, i) => Math.cos(((2 * (i >> 3) + 1) * (i & 7) * Math.PI) / 16));
  const coefs: Int32Array[] = [];
  const bw: number[] = [];
  const bh: number[] = [];
  for (const c of spec.components) {
    const cw = Math.ceil((spec.width * c.h) / hmax);
    const ch = Math.ceil((spec.height * c.v) / vmax);
    const single = spec.components.length === 1;
    const w = single ? Math.ceil(cw / 8) : mx * c.h;
    const h = single ? Math.ceil(ch / 8) : my * c.v;
    const out = new Int32Array(w * h * 64);
    const px = new Float64Array(64);
    const rows = new Float64Array(64);
    for (let by = 0; by < h; by++) {
      for (let bx = 0; bx < w; bx++) {
        for (let i = 0; i < 64; i++) {
          const x = Math.min(cw - 1, bx * 8 + (i & 7));
          const y = Math.min(ch - 1, by * 8 + (i >> 3));
          px[i] = c.samples[y * cw + x]! - 128;
        }
        // Separable DCT: along rows, then along columns.
        for (let y = 0; y < 8; y++) {
          for (let u = 0; u < 8; u++) {
            let s = 0;
            for (let x = 0; x < 8; x++) s += px[y * 8 + x]! * cos[x * 8 + u]!;
            rows[y * 8 + u] = s;
          }
        }
        for (let k = 0; k < 64; k++) {
          const z = ZIGZAG[k]!;
          const v = z >> 3;
          const u = z & 7;
          let s = 0;
          for (let y = 0; y < 8; y++) s += rows[y * 8 + u]! * cos[y * 8 + v]!;
          s *= (u === 0 ? Math.SQRT1_2 : 1) * (v === 0 ? Math.SQRT1_2 : 1) * 0.25;
          out[(by * w + bx) * 64 + k] = Math.round(s / q[z]!);
        }
      }
    }
    coefs.push(out);
    bw.push(w);
    bh.push(h);
  }
  return { coefs, bw, bh };
}

/** Encodes the planes. The caller's scan script must be valid (see randomScript). */
export function encodeTestJpeg(spec: EncodeSpec): Uint8Array {
  const scale = spec.quality < 50 ? 5000 / spec.quality : 200 - 2 * spec.quality;
  const q = LUMA_Q.map((v) => Math.min(255, Math.max(1, Math.floor((v * scale + 50) / 100))));
  const { coefs, bw } = quantise(spec, q);
  const comps = spec.components;
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  const out: number[] = [0xff, 0xd8];
  if (spec.adobeTransform !== undefined) {
    out.push(...segment(0xee, [0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, spec.adobeTransform]));
  }
  out.push(...segment(0xdb, [0, ...ZIGZAG.map((z) => q[z]!)]));
  out.push(
    ...segment(spec.scans ? 0xc2 : 0xc0, [
      8,
      spec.height >> 8,
      spec.height & 255,
      spec.width >> 8,
      spec.width & 255,
      comps.length,
      ...comps.flatMap((c) => [c.id, (c.h << 4) | c.v, 0]),
    ]),
  );
  out.push(...segment(0xc4, [0x00, ...DC_COUNTS, ...Array.from({ length: 12 }, (_, i) => i)]));
  out.push(...segment(0xc4, [0x10, ...AC_COUNTS, ...Array.from({ length: 256 }, (_, i) => i)]));
  if (spec.restartInterval)
    out.push(...segment(0xdd, [spec.restartInterval >> 8, spec.restartInterval & 255]));
  const all = comps.map((_, i) => i);
  const scans: Scan[] =
    spec.scans ??
    (spec.separateScans
      ? all.map((c) => ({ comps: [c], ss: 0, se: 63, ah: 0, al: 0 }))
      : [{ comps: all, ss: 0, se: 63, ah: 0, al: 0 }]);
  for (const scan of scans) {
    out.push(
      ...segment(0xda, [
        scan.comps.length,
        ...scan.comps.flatMap((c) => [comps[c]!.id, 0x00]),
        scan.ss,
        scan.se,
        (scan.ah << 4) | scan.al,
      ]),
    );
    out.push(...encodeScan(spec, scan, coefs, bw, hmax, vmax, !spec.scans));
  }
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

function encodeScan(
  spec: EncodeSpec,
  scan: Scan,
  coefs: Int32Array[],
  bw: number[],
  hmax: number,
  vmax: number,
  baseline: boolean,
): number[] {
  const bits = new Bits();
  const comps = spec.components;
  const pred = new Array(comps.length).fill(0);
  let eobrun = 0;
  let pendingBits: number[] = []; // refinement bits of blocks inside the pending EOB run
  const sym = (s: number, ac: boolean) => {
    const c = ac ? AC_CODES[s]! : DC_CODES[s]!;
    bits.put(c.code, c.len);
  };
  const flushEob = () => {
    if (eobrun > 0) {
      const n = bitLength(eobrun) - 1;
      sym(n << 4, true);
      bits.put(eobrun & ((1 << n) - 1), n);
      eobrun = 0;
    }
    for (const b of pendingBits) bits.put(b, 1);
    pendingBits = [];
  };
  const value = (v: number) => {
    const n = bitLength(v);
    bits.put(v < 0 ? v + (1 << n) - 1 : v, n);
  };
  const block = (c: number, bx: number, by: number) => {
    const b = coefs[c]!.subarray((by * bw[c]! + bx) * 64, (by * bw[c]! + bx) * 64 + 64);
    if (scan.ss === 0) {
      if (scan.ah !== 0 && !baseline) {
        bits.put((b[0]! >> scan.al) & 1, 1);
        return;
      }
      const dc = b[0]! >> scan.al;
      const diff = dc - pred[c];
      pred[c] = dc;
      sym(bitLength(diff), false);
      value(diff);
      if (!baseline) return;
    }
    if (baseline) {
      let r = 0;
      for (let k = 1; k < 64; k++) {
        if (b[k] === 0) {
          r++;
          continue;
        }
        for (; r > 15; r -= 16) sym(0xf0, true);
        sym((r << 4) | bitLength(b[k]!), true);
        value(b[k]!);
        r = 0;
      }
      if (r > 0) sym(0, true);
      return;
    }
    if (scan.ah === 0) acFirst(b);
    else acRefine(b);
  };
  const acFirst = (b: Int32Array) => {
    let r = 0;
    for (let k = scan.ss; k <= scan.se; k++) {
      const a = Math.abs(b[k]!) >> scan.al;
      if (a === 0) {
        r++;
        continue;
      }
      flushEob();
      for (; r > 15; r -= 16) sym(0xf0, true);
      sym((r << 4) | bitLength(a), true);
      value(b[k]! < 0 ? -a : a);
      r = 0;
    }
    if (r > 0 && ++eobrun === 0x7fff) flushEob();
  };
  const acRefine = (b: Int32Array) => {
    const abs = (k: number) => Math.abs(b[k]!) >> scan.al;
    let eob = 0; // last index that becomes non-zero in this scan
    for (let k = scan.ss; k <= scan.se; k++) if (abs(k) === 1) eob = k;
    let r = 0;
    let corrections: number[] = [];
    for (let k = scan.ss; k <= scan.se; k++) {
      const a = abs(k);
      if (a === 0) {
        r++;
        continue;
      }
      while (r > 15 && k <= eob) {
        flushEob();
        sym(0xf0, true);
        r -= 16;
        for (const x of corrections) bits.put(x, 1);
        corrections = [];
      }
      if (a > 1) {
        corrections.push(a & 1);
        continue;
      }
      flushEob();
      sym((r << 4) | 1, true);
      bits.put(b[k]! < 0 ? 0 : 1, 1);
      for (const x of corrections) bits.put(x, 1);
      corrections = [];
      r = 0;
    }
    if (r > 0 || corrections.length > 0) {
      eobrun++;
      pendingBits.push(...corrections);
      if (eobrun === 0x7fff || pendingBits.length > 900) flushEob();
    }
  };
  const single = scan.comps.length === 1;
  const c0 = scan.comps[0]!;
  const unitsX = single
    ? Math.ceil(Math.ceil((spec.width * comps[c0]!.h) / hmax) / 8)
    : Math.ceil(spec.width / (8 * hmax));
  const unitsY = single
    ? Math.ceil(Math.ceil((spec.height * comps[c0]!.v) / vmax) / 8)
    : Math.ceil(spec.height / (8 * vmax));
  const ri = spec.restartInterval ?? 0;
  let rst = 0;
  for (let m = 0; m < unitsX * unitsY; m++) {
    if (ri > 0 && m > 0 && m % ri === 0) {
      flushEob();
      bits.flush();
      bits.out.push(0xff, 0xd0 + rst);
      rst = (rst + 1) & 7;
      pred.fill(0);
    }
    const mx = m % unitsX;
    const my = Math.floor(m / unitsX);
    if (single) block(c0, mx, my);
    else {
      for (const c of scan.comps) {
        const { h, v } = comps[c]!;
        for (let y = 0; y < v; y++) for (let x = 0; x < h; x++) block(c, mx * h + x, my * v + y);
      }
    }
  }
  flushEob();
  bits.flush();
  return bits.out;
}

/**
 * A random valid progressive script for `n` components: DC first (interleaved or per
 * component) before a component's AC scans, successive approximation down to Al = 0 for DC and
 * for every coefficient, bands re-partitioned at every refinement level, the per-component
 * sequences interleaved in random order.
 */
export function randomScript(n: number, rand: () => number): Scan[] {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const dcAl = int(0, 2);
  const dcInterleaved = n > 1 && rand() < 0.5;
  const perComp: Scan[][] = [];
  for (let c = 0; c < n; c++) {
    const seq: Scan[] = [];
    if (!dcInterleaved) seq.push({ comps: [c], ss: 0, se: 0, ah: 0, al: dcAl });
    let al = int(0, 3);
    let ah = 0;
    for (;;) {
      // Partition 1..63 into random bands at this level.
      let ss = 1;
      while (ss <= 63) {
        const se = rand() < 0.3 ? 63 : Math.min(63, ss + int(0, 20));
        seq.push({ comps: [c], ss, se, ah, al });
        ss = se + 1;
      }
      if (al === 0) break;
      ah = al;
      al--;
    }
    perComp.push(seq);
  }
  const dcRefines: Scan[] = [];
  for (let a = dcAl; a > 0; a--) {
    if (dcInterleaved) dcRefines.push({ comps: [...Array(n).keys()], ss: 0, se: 0, ah: a, al: a - 1 });
    else for (let c = 0; c < n; c++) dcRefines.push({ comps: [c], ss: 0, se: 0, ah: a, al: a - 1 });
  }
  const script: Scan[] = [];
  if (dcInterleaved) script.push({ comps: [...Array(n).keys()], ss: 0, se: 0, ah: 0, al: dcAl });
  // Merge: AC sequences per component keep their order, DC refinements keep theirs; a DC
  // first scan of a component comes before that component's AC scans (it heads its sequence).
  const queues = [...perComp.map((s) => [...s]), dcRefines];
  if (!dcInterleaved) {
    // DC refinements of component c need its DC first scan: delay them until all DC first scans are out.
    queues[queues.length - 1] = [];
  }
  while (queues.some((q) => q.length > 0)) {
    const live = queues.filter((q) => q.length > 0);
    script.push(live[int(0, live.length - 1)]!.shift()!);
  }
  if (!dcInterleaved) script.push(...dcRefines);
  return script;
}

/** Deterministic pseudo-random numbers for reproducible test data. */
export function seeded(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** A smooth, photo-like test plane (gradients and a few discs), w x h. */
export function photoPlane(w: number, h: number, seed: number): Uint8Array {
  const rand = seeded(seed);
  const discs = Array.from({ length: 6 }, () => ({
    x: rand() * w,
    y: rand() * h,
    r: (0.1 + rand() * 0.3) * Math.min(w, h),
    v: rand() * 120 - 60,
  }));
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 60 + (120 * x) / w + 40 * Math.sin((y / h) * 6.283 * 1.5);
      for (const d of discs) if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r * d.r) v += d.v;
      v += (rand() - 0.5) * 16;
      out[y * w + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

/**
 * A large YCbCr 4:2:0 JPEG made of flat 8x8 luma blocks (DC only, quantiser 1, grey chroma),
 * fast enough to write 48-megapixel test photos inside a test: `luma(bx, by)` gives the value
 * of luma block (bx, by). The image is W x H with W, H multiples of 16.
 */
export function encodeFlatPhoto(
  width: number,
  height: number,
  luma: (bx: number, by: number) => number,
): Uint8Array {
  let buf = new Uint8Array(1 << 20);
  let n = 0;
  let acc = 0;
  let bits = 0;
  const byte = (b: number) => {
    if (n + 2 > buf.length) {
      const bigger = new Uint8Array(buf.length * 2);
      bigger.set(buf);
      buf = bigger;
    }
    buf[n++] = b;
  };
  const put = (value: number, length: number) => {
    acc = (acc << length) | (value & ((1 << length) - 1));
    bits += length;
    while (bits >= 8) {
      const b = (acc >> (bits - 8)) & 255;
      byte(b);
      if (b === 0xff) byte(0);
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  };
  const head = [
    0xff,
    0xd8,
    ...segment(0xdb, [0, ...new Array(64).fill(1)]),
    ...segment(0xc0, [
      8,
      height >> 8,
      height & 255,
      width >> 8,
      width & 255,
      3,
      1,
      0x22,
      0,
      2,
      0x11,
      0,
      3,
      0x11,
      0,
    ]),
    ...segment(0xc4, [0x00, ...DC_COUNTS, ...Array.from({ length: 12 }, (_, i) => i)]),
    ...segment(0xc4, [0x10, ...AC_COUNTS, ...Array.from({ length: 256 }, (_, i) => i)]),
    ...segment(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]),
  ];
  for (const b of head) byte(b);
  const eob = AC_CODES[0]!;
  const dc0 = DC_CODES[0]!;
  let pred = 0;
  for (let my = 0; my < height / 16; my++) {
    for (let mx = 0; mx < width / 16; mx++) {
      for (let k = 0; k < 4; k++) {
        const dc =
          8 * (Math.max(0, Math.min(255, Math.round(luma(mx * 2 + (k & 1), my * 2 + (k >> 1))))) - 128);
        const diff = dc - pred;
        pred = dc;
        const size = bitLength(diff);
        const c = DC_CODES[size]!;
        put(c.code, c.len);
        if (size > 0) put(diff < 0 ? diff + (1 << size) - 1 : diff, size);
        put(eob.code, eob.len);
      }
      for (let k = 0; k < 2; k++) {
        put(dc0.code, dc0.len); // chroma stays at 128: DC difference 0
        put(eob.code, eob.len);
      }
    }
  }
  while (bits !== 0) put(1, 1);
  byte(0xff);
  byte(0xd9);
  return buf.slice(0, n);
}
