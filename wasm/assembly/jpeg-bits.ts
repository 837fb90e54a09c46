// JPEG entropy decoding: Huffman tables (DHT) and the bit reader over a scan's coded data.
//
// The host streams a scan's bytes through a fixed input window (INPUT) in chunks; the scan
// decoder only stops at MCU boundaries, and asks for more while fewer than MCU_MARGIN bytes
// remain unread, so a block never straddles two chunks. A block of 64 coefficients needs at
// most 64 x (16 + 11) bits, doubled by byte stuffing: 432 bytes; an MCU has at most 10 blocks.
// Bits past the data (a marker, or the end of the last chunk) read as zeros, as in libjpeg;
// consuming such padding bits means the data was cut short, which the caller checks (overran).

/** Input window the host copies coded data (or a marker segment's payload) into. */
export const INPUT_BYTES: i32 = 65536;
export const INPUT: usize = memory.data(INPUT_BYTES, 16);
/** Bytes that must remain unread before another MCU is started (unless the chunk is the last). */
export const MCU_MARGIN: i32 = 8192;

// 8 tables: 0..3 DC, 4..7 AC. Per table: a 9-bit lookahead table of (length << 8 | symbol),
// 0 for longer codes; maxCode and valOffset per code length; the symbols in code order.
const LOOKAHEAD_BITS: i32 = 9;
const LUT: usize = memory.data(8 * 512 * 2, 16);
const MAXCODE: usize = memory.data(8 * 18 * 4, 16);
const VALOFF: usize = memory.data(8 * 17 * 4, 16);
const HUFFVAL: usize = memory.data(8 * 256, 16);
const DEFINED: usize = memory.data(8, 16);
// AC tables (4..7) also get an 11-bit table that decodes code and value together where they
// fit: (value << 16) | (run << 8) | total bits, 0 where they do not (or for EOB/ZRL).
const FAST_BITS: i32 = 11;
const FAST_AC: usize = memory.data(4 * 2048 * 4, 16);

/** Builds table `slot` from a DHT entry: 16 code counts at `counts`, then the symbols. Returns bytes used or -1. */
export function defineHuffman(slot: i32, counts: usize, avail: i32): i32 {
  if (avail < 16) return -1;
  let total = 0;
  for (let l = 0; l < 16; l++) total += <i32>load<u8>(counts + <usize>l);
  if (total > 256 || avail < 16 + total) return -1;
  const vals = HUFFVAL + ((<usize>slot) << 8);
  memory.copy(vals, counts + 16, <usize>total);
  const lut = LUT + ((<usize>slot) << 10);
  memory.fill(lut, 0, 1024);
  const maxc = MAXCODE + <usize>(slot * 18 * 4);
  const voff = VALOFF + <usize>(slot * 17 * 4);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    const n = <i32>load<u8>(counts + <usize>(l - 1));
    store<i32>(voff + ((<usize>l) << 2), k - code);
    for (let i = 0; i < n; i++) {
      if (l <= LOOKAHEAD_BITS) {
        const shift = LOOKAHEAD_BITS - l;
        const base = code << shift;
        const entry = <u16>((l << 8) | <i32>load<u8>(vals + <usize>k));
        for (let j = 0; j < 1 << shift; j++) store<u16>(lut + ((<usize>(base + j)) << 1), entry);
      }
      code++;
      k++;
    }
    // A code set that overflows its length, or uses the all-ones code, is refused (as libjpeg does).
    if (code >= 1 << l) return -1;
    store<i32>(maxc + ((<usize>l) << 2), n > 0 ? code - 1 : -1);
    code <<= 1;
  }
  store<i32>(maxc + (17 << 2), 0x7fffffff); // sentinel: no code is longer than 16 bits
  store<u8>(DEFINED + <usize>slot, 1);
  if (slot >= 4) buildFastAc(slot);
  return 16 + total;
}

function buildFastAc(slot: i32): void {
  const fast = FAST_AC + ((<usize>(slot - 4)) << 13);
  const lut = LUT + ((<usize>slot) << 10);
  for (let i = 0; i < 1 << FAST_BITS; i++) {
    const e = <i32>load<u16>(lut + ((<usize>(i >> (FAST_BITS - LOOKAHEAD_BITS))) << 1));
    let out = 0;
    const l = e >> 8;
    const rs = e & 0xff;
    const s = rs & 15;
    if (e !== 0 && s !== 0 && l + s <= FAST_BITS) {
      const bits = (i >> (FAST_BITS - l - s)) & ((1 << s) - 1);
      const v = bits < 1 << (s - 1) ? bits - (1 << s) + 1 : bits;
      out = (v << 16) | ((rs >> 4) << 8) | (l + s);
    }
    store<i32>(fast + ((<usize>i) << 2), out);
  }
}

/**
 * One AC coefficient from table `slot` if code and value fit the fast table:
 * (value << 16) | (run << 8) | bits consumed; 0 otherwise (nothing consumed: use decodeSymbol).
 */
export function decodeFastAc(slot: i32): i32 {
  if (cnt < 16) fill();
  const e = load<i32>(
    FAST_AC + ((<usize>(slot - 4)) << 13) + ((<usize>(<i32>(acc >> <u64>(64 - FAST_BITS)))) << 2),
  );
  if (e !== 0) {
    const l = e & 0xff;
    acc <<= <u64>l;
    cnt -= l;
    note();
  }
  return e;
}

export function huffmanDefined(slot: i32): bool {
  return load<u8>(DEFINED + <usize>slot) !== 0;
}

export function resetHuffman(): void {
  memory.fill(DEFINED, 0, 8);
}

const BYTE_ONES: u64 = ((<u64>0x01010101) << 32) | 0x01010101;

// Bit reader state: `acc` holds `cnt` bits, most significant first; `pad` of them (the last
// ones) are zero padding past the data.
let acc: u64 = 0;
let cnt: i32 = 0;
let pad: i32 = 0;
let pos: i32 = 0; // next byte of INPUT
let end: i32 = 0; // bytes in INPUT
let atMarker: bool = false;
export let overran: bool = false;

/** Starts reading a new chunk of `n` bytes (the bits already in the accumulator stay). */
export function bitsChunk(n: i32): void {
  pos = 0;
  end = n;
}

/** Bytes of the current chunk taken so far. */
export function bitsConsumed(): i32 {
  return pos;
}

export function bitsRemaining(): i32 {
  return end - pos;
}

/** Forgets all buffered bits (new scan, or after a restart marker). */
export function bitsReset(): void {
  acc = 0;
  cnt = 0;
  pad = 0;
  atMarker = false;
}

export function bitsStartScan(): void {
  bitsReset();
  overran = false;
}

function fill(): void {
  // Fast path: the next bytes that fit hold no 0xFF, so they go in at once.
  if (!atMarker && pos + 8 <= end) {
    const w = bswap<u64>(load<u64>(INPUT + <usize>pos));
    const take = (64 - cnt) >> 3;
    const range: u64 = ~(<u64>0) << (<u64>(64 - 8 * take));
    const nw = ~w;
    const ffBytes = (nw - BYTE_ONES) & ~nw & (BYTE_ONES << 7);
    if ((ffBytes & range) === 0) {
      acc |= (w & range) >> <u64>cnt;
      cnt += 8 * take;
      pos += take;
      return;
    }
  }
  while (cnt <= 56) {
    let b: u64 = 0;
    if (!atMarker && pos < end) {
      const v = load<u8>(INPUT + <usize>pos);
      if (v === 0xff) {
        if (pos + 1 >= end) {
          atMarker = true; // the chunk ends inside a marker: treat as the data's end
        } else if (load<u8>(INPUT + <usize>(pos + 1)) === 0) {
          b = 0xff;
          pos += 2;
        } else {
          atMarker = true; // a marker (RSTn or the scan's end) is left for the caller
        }
      } else {
        b = <u64>v;
        pos++;
      }
      if (atMarker) pad += 8;
    } else {
      pad += 8;
    }
    acc |= b << (<u64>(56 - cnt));
    cnt += 8;
  }
}

function note(): void {
  if (cnt < pad) overran = true;
}

/** Reads `n` (0..16) bits as an unsigned number. */
export function getBits(n: i32): i32 {
  if (n === 0) return 0;
  if (cnt < n) fill();
  const v = <i32>(acc >> <u64>(64 - n));
  acc <<= <u64>n;
  cnt -= n;
  note();
  return v;
}

export function getBit(): i32 {
  if (cnt < 1) fill();
  const v = <i32>(acc >> 63);
  acc <<= 1;
  cnt -= 1;
  note();
  return v;
}

/** Reads `s` bits and extends them to a signed coefficient (JPEG's EXTEND). */
export function receiveExtend(s: i32): i32 {
  if (s === 0) return 0;
  const v = getBits(s);
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}

/** Decodes one symbol with table `slot`; -1 for a code that is not in the table. */
export function decodeSymbol(slot: i32): i32 {
  if (cnt < 16) fill();
  const peek = <i32>(acc >> <u64>(64 - LOOKAHEAD_BITS));
  const e = <i32>load<u16>(LUT + ((<usize>slot) << 10) + ((<usize>peek) << 1));
  if (e !== 0) {
    const l = e >> 8;
    acc <<= <u64>l;
    cnt -= l;
    note();
    return e & 0xff;
  }
  const maxc = MAXCODE + <usize>(slot * 18 * 4);
  let l = LOOKAHEAD_BITS + 1;
  let code = <i32>(acc >> <u64>(64 - l));
  while (l <= 16 && code > load<i32>(maxc + ((<usize>l) << 2))) {
    l++;
    code = <i32>(acc >> <u64>(64 - l));
  }
  if (l > 16) return -1;
  acc <<= <u64>l;
  cnt -= l;
  note();
  const idx = code + load<i32>(VALOFF + <usize>(slot * 17 * 4) + ((<usize>l) << 2));
  return <i32>load<u8>(HUFFVAL + ((<usize>slot) << 8) + <usize>(idx & 0xff));
}

/**
 * At the end of a restart interval: drops the partial byte and expects RSTn at the current
 * position. Returns false if the marker is missing or out of sequence.
 */
export function takeRestart(expected: i32): bool {
  bitsReset();
  // Skip fill bytes (0xFF) before the marker, which the standard allows.
  while (
    pos + 1 < end &&
    load<u8>(INPUT + <usize>pos) === 0xff &&
    load<u8>(INPUT + <usize>(pos + 1)) === 0xff
  )
    pos++;
  if (pos + 1 >= end) return false;
  if (load<u8>(INPUT + <usize>pos) !== 0xff || <i32>load<u8>(INPUT + <usize>(pos + 1)) !== 0xd0 + expected)
    return false;
  pos += 2;
  return true;
}
