// zlib inflate (RFC 1950 + 1951) for PNG image data, streamed through fixed windows.
//
// Why our own rather than the platform's DecompressionStream or a package: the gate must bound
// what one write may inflate to (a hostile stream expands ~1032:1), so it fed
// DecompressionStream 4 KiB at a time, and each write is an asynchronous round trip (in Node a
// thread-pool hop): inflating L.png of the fixtures took 53 ms that way against 13 ms in 64 KiB
// writes, and the whole PNG decode 2.4x the reference tool's CPU time. fflate 0.8.3 (pure JS)
// measured slower than either on the same data. Here inflating is synchronous, its
// memory is fixed (64 KiB input window, 32 KiB history + 64 KiB output), the Adler-32 is
// checked, and the host may stop after any output chunk.
//
// Host protocol: inflateBegin(); then put n bytes at inflateInputPtr() and call
// inflateFeed(n, last); call inflateRun() until it returns NEED_INPUT (keep the last
// inflateUnread() bytes of the window, append more, feed again) or DONE. After OUTPUT and
// DONE, bytes [inflateOutStart(), inflateOutEnd()) are new output. Errors are negative.

export const INFLATE_IN_BYTES: i32 = 65536;
/** Unless the window holds the last input, decoding pauses while fewer bytes remain (a dynamic block header is < 320). */
const MARGIN: i32 = 1024;
// The last window is zero-filled to its end: reading past the data (a cut stream) sees zeros.
const IN: usize = memory.data(INFLATE_IN_BYTES + MARGIN, 16);
const HISTORY: i32 = 32768;
const OUT_CHUNK: i32 = 65536;
const OUT_LIMIT: i32 = HISTORY + OUT_CHUNK;
const OUT: usize = memory.data(OUT_LIMIT + 258 + 16, 16);

// Huffman tables: a 10-bit first-level table of (length << 9 | symbol), 0 for longer codes,
// which are decoded canonically from the per-length counts and the symbols in code order.
const ROOT: i32 = 10;
// Two sets: a dynamic block's, and the fixed code's (built once, so that a stream of tiny fixed
// blocks costs no table building).
const LIT_FAST: usize = memory.data((1 << ROOT) * 2, 16);
const DIST_FAST: usize = memory.data((1 << ROOT) * 2, 16);
const LIT_COUNT: usize = memory.data(16 * 2, 16);
const DIST_COUNT: usize = memory.data(16 * 2, 16);
const LIT_SYMS: usize = memory.data(288 * 2, 16);
const DIST_SYMS: usize = memory.data(32 * 2, 16);
const FIXED_LIT_FAST: usize = memory.data((1 << ROOT) * 2, 16);
const FIXED_DIST_FAST: usize = memory.data((1 << ROOT) * 2, 16);
const FIXED_LIT_COUNT: usize = memory.data(16 * 2, 16);
const FIXED_DIST_COUNT: usize = memory.data(16 * 2, 16);
const FIXED_LIT_SYMS: usize = memory.data(288 * 2, 16);
const FIXED_DIST_SYMS: usize = memory.data(32 * 2, 16);
const LENGTHS: usize = memory.data(320, 16);
const OFFS: usize = memory.data(16 * 2, 16);
const CL_ORDER: usize = memory.data<u8>([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);
const LEN_BASE: usize = memory.data<u16>([
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
  227, 258,
]);
const LEN_EXTRA: usize = memory.data<u8>([
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
]);
const DIST_BASE: usize = memory.data<u16>([
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097,
  6145, 8193, 12289, 16385, 24577,
]);
const DIST_EXTRA: usize = memory.data<u8>([
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
]);

export const NEED_INPUT: i32 = 0;
export const OUTPUT: i32 = 1;
export const DONE: i32 = 2;
const CORRUPT: i32 = -1;
const TRUNCATED: i32 = -4;

const M_HEADER: i32 = 0;
const M_BLOCK: i32 = 1;
const M_STORED: i32 = 2;
const M_CODES: i32 = 3;
const M_TRAILER: i32 = 4;
const M_DONE: i32 = 5;

let mode: i32 = M_HEADER;
let finalBlock = false;
let storedLeft: i32 = 0;
let bitbuf: u64 = 0;
let bitcnt: i32 = 0;
let inPos: i32 = 0;
let inLen: i32 = 0;
let inLast = false;
let outPos: i32 = 0;
let outStart: i32 = 0;
let adlerA: u32 = 1;
let adlerB: u32 = 0;
/** Output up to here is in the Adler-32. */
let adlerPos: i32 = 0;
let fixedBuilt = false;
/** The current block's tables: the fixed or the dynamic set. */
let fixedCode = false;

export function inflateInputPtr(): usize {
  return IN;
}

export function inflateBegin(): void {
  mode = M_HEADER;
  finalBlock = false;
  storedLeft = 0;
  bitbuf = 0;
  bitcnt = 0;
  inPos = 0;
  inLen = 0;
  inLast = false;
  outPos = 0;
  outStart = 0;
  adlerA = 1;
  adlerB = 0;
  adlerPos = 0;
}

/** The window now holds `n` bytes at inflateInputPtr(); `last`: they end the stream. */
export function inflateFeed(n: i32, last: i32): void {
  inLen = n;
  inPos = 0;
  inLast = last !== 0;
  const end = last !== 0 ? INFLATE_IN_BYTES + MARGIN : n + 16;
  memory.fill(IN + <usize>n, 0, <usize>(end - n)); // past the end reads as zeros
}

/** After NEED_INPUT: how many bytes at the end of the window were not consumed (move them to its start). */
export function inflateUnread(): i32 {
  return inLen - inPos;
}

export function inflateOutPtr(): usize {
  return OUT;
}

export function inflateOutStart(): i32 {
  return outStart;
}

export function inflateOutEnd(): i32 {
  return outPos;
}

/** Tops the bit buffer up to at least 56 bits (zeros past the window's end). */
function refill(): void {
  if (inPos + 8 <= inLen) {
    bitbuf |= load<u64>(IN + <usize>inPos) << (<u64>bitcnt);
    inPos += (63 - bitcnt) >> 3;
    bitcnt |= 56;
  } else {
    while (bitcnt <= 56) {
      bitbuf |= (<u64>load<u8>(IN + <usize>inPos)) << (<u64>bitcnt);
      inPos++;
      bitcnt += 8;
    }
  }
}

function bits(n: i32): i32 {
  const v = <i32>(bitbuf & (((<u64>1) << (<u64>n)) - 1));
  bitbuf >>= <u64>n;
  bitcnt -= n;
  return v;
}

/** Bytes of the window consumed so far (whole bytes still in the bit buffer are not). */
function consumed(): i32 {
  return inPos - (bitcnt >> 3);
}

/** Gives whole unread bytes back to the window so that the host can keep them. */
function returnUnread(): void {
  inPos = consumed();
  bitcnt &= 7;
  bitbuf &= ((<u64>1) << (<u64>bitcnt)) - 1;
}

/** Builds a table from `n` code lengths at LENGTHS + `from`; false if the lengths over-subscribe. */
function build(fast: usize, count: usize, syms: usize, from: i32, n: i32): bool {
  memory.fill(count, 0, 32);
  for (let i = 0; i < n; i++) {
    const l = <usize>load<u8>(LENGTHS + <usize>(from + i));
    store<u16>(count + (l << 1), load<u16>(count + (l << 1)) + 1);
  }
  let left = 1;
  for (let l = 1; l < 16; l++) {
    left = (left << 1) - <i32>load<u16>(count + ((<usize>l) << 1));
    if (left < 0) return false;
  }
  store<u16>(OFFS + 2, 0);
  for (let l = 1; l < 15; l++)
    store<u16>(
      OFFS + ((<usize>(l + 1)) << 1),
      load<u16>(OFFS + ((<usize>l) << 1)) + load<u16>(count + ((<usize>l) << 1)),
    );
  memory.fill(fast, 0, (1 << ROOT) * 2);
  for (let s = 0; s < n; s++) {
    const l = <i32>load<u8>(LENGTHS + <usize>(from + s));
    if (l === 0) continue;
    const o = load<u16>(OFFS + ((<usize>l) << 1));
    store<u16>(OFFS + ((<usize>l) << 1), o + 1);
    store<u16>(syms + ((<usize>o) << 1), <u16>s);
  }
  // First-level entries, indexed by the code's bits in stream order (reversed).
  let code = 0;
  let k = 0;
  for (let l = 1; l <= ROOT; l++) {
    const c = <i32>load<u16>(count + ((<usize>l) << 1));
    for (let i = 0; i < c; i++, k++, code++) {
      let rev = 0;
      for (let b = 0; b < l; b++) rev |= ((code >> b) & 1) << (l - 1 - b);
      const entry = <u16>((l << 9) | <i32>load<u16>(syms + ((<usize>k) << 1)));
      for (let j = rev; j < 1 << ROOT; j += 1 << l) store<u16>(fast + ((<usize>j) << 1), entry);
    }
    code <<= 1;
  }
  return true;
}

/** Decodes one symbol (the bit buffer holds >= 15 bits); -1 for a code the table lacks. */
function decode(fast: usize, count: usize, syms: usize): i32 {
  let e = <i32>load<u16>(fast + ((<usize>(<i32>bitbuf & ((1 << ROOT) - 1))) << 1));
  if (e === 0) e = decodeLong(count, syms, bitbuf);
  if (e === 0) return -1;
  const l = e >> 9;
  bitbuf >>= <u64>l;
  bitcnt -= l;
  return e & 511;
}

/** A code longer than the first-level table, from the next bits `buf`: (length << 9) | symbol, 0 if none. */
function decodeLong(count: usize, syms: usize, buf: u64): i32 {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let l = 1; l < 16; l++) {
    code |= <i32>(buf >> <u64>(l - 1)) & 1;
    const c = <i32>load<u16>(count + ((<usize>l) << 1));
    if (code - c < first) return (l << 9) | <i32>load<u16>(syms + ((<usize>(index + code - first)) << 1));
    index += c;
    first = (first + c) << 1;
    code <<= 1;
  }
  return 0;
}

function fixedTables(): void {
  if (fixedBuilt) return;
  fixedBuilt = true;
  for (let i = 0; i < 144; i++) store<u8>(LENGTHS + <usize>i, 8);
  for (let i = 144; i < 256; i++) store<u8>(LENGTHS + <usize>i, 9);
  for (let i = 256; i < 280; i++) store<u8>(LENGTHS + <usize>i, 7);
  for (let i = 280; i < 288; i++) store<u8>(LENGTHS + <usize>i, 8);
  build(FIXED_LIT_FAST, FIXED_LIT_COUNT, FIXED_LIT_SYMS, 0, 288);
  for (let i = 0; i < 30; i++) store<u8>(LENGTHS + <usize>i, 5);
  build(FIXED_DIST_FAST, FIXED_DIST_COUNT, FIXED_DIST_SYMS, 0, 30);
}

/** Reads a dynamic block's code lengths and builds its tables (the window holds >= MARGIN bytes or the end). */
function dynamicTables(): bool {
  refill();
  const nlen = bits(5) + 257;
  const ndist = bits(5) + 1;
  const ncode = bits(4) + 4;
  if (nlen > 286 || ndist > 30) return false;
  memory.fill(LENGTHS, 0, 19);
  for (let i = 0; i < ncode; i++) {
    refill();
    store<u8>(LENGTHS + <usize>load<u8>(CL_ORDER + <usize>i), <u8>bits(3));
  }
  // The code-length code goes in the distance table's slots while the lengths are read.
  if (!build(DIST_FAST, DIST_COUNT, DIST_SYMS, 0, 19)) return false;
  let i = 0;
  while (i < nlen + ndist) {
    refill();
    const sym = decode(DIST_FAST, DIST_COUNT, DIST_SYMS);
    if (sym < 0) return false;
    if (sym < 16) {
      store<u8>(LENGTHS + <usize>i, <u8>sym);
      i++;
      continue;
    }
    let len = 0;
    let rep = 0;
    if (sym === 16) {
      if (i === 0) return false;
      len = <i32>load<u8>(LENGTHS + <usize>(i - 1));
      rep = 3 + bits(2);
    } else rep = sym === 17 ? 3 + bits(3) : 11 + bits(7);
    if (i + rep > nlen + ndist) return false;
    memory.fill(LENGTHS + <usize>i, <u8>len, <usize>rep);
    i += rep;
  }
  if (load<u8>(LENGTHS + 256) === 0) return false; // no end-of-block code
  if (!build(LIT_FAST, LIT_COUNT, LIT_SYMS, 0, nlen)) return false;
  return build(DIST_FAST, DIST_COUNT, DIST_SYMS, nlen, ndist);
}

/** Adds the output not yet summed to the Adler-32. */
function settle(): void {
  let a = adlerA;
  let b = adlerB;
  let p = OUT + <usize>adlerPos;
  const end = OUT + <usize>outPos;
  while (p < end) {
    const stop = min(end, p + 5552);
    for (; p < stop; p++) {
      a += <u32>load<u8>(p);
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  adlerA = a;
  adlerB = b;
  adlerPos = outPos;
}

/** An invalid stream, or zeros read past the end of a cut one (then it is truncated, not corrupt). */
function fail(): i32 {
  return inLast && consumed() > inLen ? TRUNCATED : CORRUPT;
}

/** Whether the window is too close to its end to start another step (and more input will come). */
function starved(): bool {
  return !inLast && inLen - inPos + (bitcnt >> 3) < MARGIN;
}

/** Inflates until output is ready, more input is needed, the stream ends, or an error. */
export function inflateRun(): i32 {
  // Output handed out last time is now history: keep its last 32 KiB in front.
  if (outPos > HISTORY + 4096) {
    memory.copy(OUT, OUT + <usize>(outPos - HISTORY), <usize>HISTORY);
    outPos = HISTORY;
    adlerPos = HISTORY;
  }
  outStart = outPos;
  const r = step();
  if (r === NEED_INPUT) returnUnread();
  if (r === OUTPUT || r === DONE) settle();
  // Zeros past the end of the last window were consumed: the stream was cut short.
  if (r >= 0 && inLast && consumed() > inLen) return TRUNCATED;
  return r;
}

function step(): i32 {
  while (mode !== M_DONE) {
    if (outPos >= OUT_LIMIT) return OUTPUT;
    if (starved()) return outPos > outStart ? OUTPUT : NEED_INPUT;
    if (inLast && consumed() > inLen) return TRUNCATED;
    if (mode === M_HEADER) {
      refill();
      const cmf = bits(8);
      const flg = bits(8);
      // Deflate with a window <= 32 KiB, a valid check, and no preset dictionary (PNG has none).
      if ((cmf & 15) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0 || flg & 32) return fail();
      mode = M_BLOCK;
    } else if (mode === M_BLOCK) {
      refill();
      finalBlock = bits(1) === 1;
      const type = bits(2);
      if (type === 0) {
        bits(bitcnt & 7);
        const len = bits(16);
        if ((len ^ bits(16)) !== 0xffff) return fail();
        storedLeft = len;
        returnUnread(); // stored bytes are copied from the window directly
        mode = M_STORED;
      } else if (type === 1) {
        fixedTables();
        fixedCode = true;
        mode = M_CODES;
      } else if (type === 2) {
        if (!dynamicTables()) return fail();
        fixedCode = false;
        mode = M_CODES;
      } else return fail();
    } else if (mode === M_STORED) {
      const n = min(storedLeft, min(inLen - inPos, OUT_LIMIT - outPos));
      if (n === 0 && storedLeft > 0) return inLast ? TRUNCATED : outPos > outStart ? OUTPUT : NEED_INPUT;
      memory.copy(OUT + <usize>outPos, IN + <usize>inPos, <usize>n);
      outPos += n;
      inPos += n;
      storedLeft -= n;
      if (storedLeft === 0) mode = finalBlock ? M_TRAILER : M_BLOCK;
    } else if (mode === M_CODES) {
      const r = codes();
      if (r !== 0) return r;
    } else if (mode === M_TRAILER) {
      refill();
      bits(bitcnt & 7);
      let want: u32 = 0;
      for (let i = 0; i < 4; i++) want = (want << 8) | <u32>bits(8);
      mode = M_DONE;
      settle();
      if (inLast && consumed() > inLen) return TRUNCATED;
      if (want !== ((adlerB << 16) | adlerA)) return fail();
    }
  }
  return DONE;
}

/**
 * Literal/length and distance codes of the current block; 0 at its end (mode advanced), else a
 * status. While the window holds plenty of input, a loop with the bit buffer in locals (most of
 * the time); near the window's end, the careful loop.
 */
function codes(): i32 {
  const litFast = fixedCode ? FIXED_LIT_FAST : LIT_FAST;
  const litCount = fixedCode ? FIXED_LIT_COUNT : LIT_COUNT;
  const litSyms = fixedCode ? FIXED_LIT_SYMS : LIT_SYMS;
  const distFast = fixedCode ? FIXED_DIST_FAST : DIST_FAST;
  const distCount = fixedCode ? FIXED_DIST_COUNT : DIST_COUNT;
  const distSyms = fixedCode ? FIXED_DIST_SYMS : DIST_SYMS;
  const mask: u64 = (1 << ROOT) - 1;
  const safeEnd = inLen - 8 - MARGIN;
  let out = outPos;
  let buf = bitbuf;
  let cnt = bitcnt;
  let pos = inPos;
  let status = 0;
  let ended = false;
  while (out < OUT_LIMIT && pos <= safeEnd) {
    buf |= load<u64>(IN + <usize>pos) << (<u64>cnt);
    pos += (63 - cnt) >> 3;
    cnt |= 56;
    let e = <i32>load<u16>(litFast + ((<usize>(buf & mask)) << 1));
    if (e === 0) e = decodeLong(litCount, litSyms, buf);
    if (e === 0) {
      status = -1;
      break;
    }
    let l = e >> 9;
    buf >>= <u64>l;
    cnt -= l;
    let sym = e & 511;
    if (sym < 256) {
      store<u8>(OUT + <usize>out, <u8>sym);
      out++;
      continue;
    }
    if (sym === 256) {
      ended = true;
      break;
    }
    sym -= 257;
    if (sym >= 29) {
      status = -1;
      break;
    }
    l = <i32>load<u8>(LEN_EXTRA + <usize>sym);
    const len = <i32>load<u16>(LEN_BASE + ((<usize>sym) << 1)) + <i32>(buf & (((<u64>1) << (<u64>l)) - 1));
    buf >>= <u64>l;
    cnt -= l;
    e = <i32>load<u16>(distFast + ((<usize>(buf & mask)) << 1));
    if (e === 0) e = decodeLong(distCount, distSyms, buf);
    const d = e & 511;
    if (e === 0 || d >= 30) {
      status = -1;
      break;
    }
    l = e >> 9;
    buf >>= <u64>l;
    cnt -= l;
    l = <i32>load<u8>(DIST_EXTRA + <usize>d);
    const dist = <i32>load<u16>(DIST_BASE + ((<usize>d) << 1)) + <i32>(buf & (((<u64>1) << (<u64>l)) - 1));
    buf >>= <u64>l;
    cnt -= l;
    if (dist > out) {
      status = -1; // before the start of the stream
      break;
    }
    copyMatch(out, dist, len);
    out += len;
  }
  bitbuf = buf;
  bitcnt = cnt;
  inPos = pos;
  outPos = out;
  if (status < 0) return fail();
  if (ended) {
    mode = finalBlock ? M_TRAILER : M_BLOCK;
    return 0;
  }
  if (out >= OUT_LIMIT) return OUTPUT;
  return codesCareful();
}

/**
 * Writes a match of `len` bytes at `out` from `dist` bytes back: a plain copy when the ranges do not
 * overlap, a fill for a run of one byte, else byte by byte (the copy reads what it just wrote).
 */
function copyMatch(out: i32, dist: i32, len: i32): void {
  let from = OUT + <usize>(out - dist);
  let to = OUT + <usize>out;
  if (dist >= len) memory.copy(to, from, <usize>len);
  else if (dist === 1) memory.fill(to, load<u8>(from), <usize>len);
  else {
    const end = to + <usize>len;
    for (; to < end; to++, from++) store<u8>(to, load<u8>(from));
  }
}

/** codes() near the end of the window: checks for starvation and truncation before every symbol. */
function codesCareful(): i32 {
  const litFast = fixedCode ? FIXED_LIT_FAST : LIT_FAST;
  const litCount = fixedCode ? FIXED_LIT_COUNT : LIT_COUNT;
  const litSyms = fixedCode ? FIXED_LIT_SYMS : LIT_SYMS;
  const distFast = fixedCode ? FIXED_DIST_FAST : DIST_FAST;
  const distCount = fixedCode ? FIXED_DIST_COUNT : DIST_COUNT;
  const distSyms = fixedCode ? FIXED_DIST_SYMS : DIST_SYMS;
  let out = outPos;
  while (out < OUT_LIMIT) {
    if (inLen - inPos < 8 + MARGIN) {
      outPos = out;
      if (starved()) return out > outStart ? OUTPUT : NEED_INPUT;
      if (inLast && consumed() > inLen) return TRUNCATED;
    }
    refill();
    let sym = decode(litFast, litCount, litSyms);
    if (sym < 256) {
      if (sym < 0) return fail();
      store<u8>(OUT + <usize>out, <u8>sym);
      out++;
      continue;
    }
    if (sym === 256) {
      outPos = out;
      mode = finalBlock ? M_TRAILER : M_BLOCK;
      return 0;
    }
    sym -= 257;
    if (sym >= 29) return fail();
    const len = <i32>load<u16>(LEN_BASE + ((<usize>sym) << 1)) + bits(<i32>load<u8>(LEN_EXTRA + <usize>sym));
    const d = decode(distFast, distCount, distSyms);
    if (d < 0 || d >= 30) return fail();
    const dist = <i32>load<u16>(DIST_BASE + ((<usize>d) << 1)) + bits(<i32>load<u8>(DIST_EXTRA + <usize>d));
    if (dist > out) return fail(); // before the start of the stream
    copyMatch(out, dist, len);
    out += len;
  }
  outPos = out;
  return OUTPUT;
}
