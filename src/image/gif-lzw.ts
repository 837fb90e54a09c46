/**
 * GIF-LZW, streamed: the frame's data sub-blocks are pushed as they are read, and palette
 * indices come out one frame row at a time, so a frame never needs its whole index array (48 MB
 * for a 48-megapixel frame) nor its data concatenated. Our own code, like the rest of gif.ts:
 * the decoder has to hand rows to the gate's downscaler with the gate's own errors.
 */
import { ImageDecodeError } from "./types.ts";

const MAX_CODE_BITS = 12;
const TABLE_SIZE = 1 << MAX_CODE_BITS;
/**
 * Pixels a frame's data may leave out and still decode (as index 0; before still GIFs were
 * streamed, frames were at most this large anyway). More is a truncated frame: otherwise a
 * 60-byte file claiming 16000×15000 pixels costs seconds of CPU to fill, where real data costs
 * at least a byte per ~2,700 pixels (LZW's longest string per 12-bit code).
 */
export const LZW_MISSING_PIXELS_MAX = 2048 * 2048;

/** Receives row `r` of the frame in stored order (interlaced frames: pass order); `indices` is reused. */
export type IndexRowSink = (r: number, indices: Uint8Array) => void;

/** Decodes one frame's LZW data, pushed in any slicing, into `rows` rows of `width` indices. */
export class LzwRowDecoder {
  private readonly width: number;
  private readonly rows: number;
  private readonly sink: IndexRowSink;
  private readonly row: Uint8Array;
  /** A code's string, written back to front when it does not fit the row's remainder. */
  private readonly stack = new Uint8Array(TABLE_SIZE);
  private readonly prefix = new Uint16Array(TABLE_SIZE);
  private readonly suffix = new Uint8Array(TABLE_SIZE);
  private readonly first = new Uint8Array(TABLE_SIZE); // first byte of each code's string
  private readonly length = new Uint16Array(TABLE_SIZE);
  private readonly minCodeSize: number;
  private codeSize: number;
  private next: number;
  private prev = -1;
  private bitBuf = 0;
  private bitCount = 0;
  /** Indices in the current row, and rows handed out. */
  private filled = 0;
  private rowsDone = 0;
  /** End of information met, or every row handed out: later data is ignored. */
  private ended: boolean;

  constructor(minCodeSize: number, width: number, rows: number, sink: IndexRowSink) {
    if (minCodeSize < 2 || minCodeSize > 8)
      throw new ImageDecodeError("corrupt", `LZW code size ${minCodeSize}`);
    this.minCodeSize = minCodeSize;
    this.width = width;
    this.rows = rows;
    this.sink = sink;
    this.row = new Uint8Array(width);
    this.ended = width === 0 || rows === 0;
    const clear = 1 << minCodeSize;
    for (let c = 0; c < clear; c++) {
      this.suffix[c] = c;
      this.first[c] = c;
      this.length[c] = 1;
    }
    this.codeSize = minCodeSize + 1;
    this.next = clear + 2;
  }

  /** Decodes as far as `data` goes; a code split across pushes is completed by the next one. */
  push(data: Uint8Array): void {
    if (this.ended) return;
    const clear = 1 << this.minCodeSize;
    const eoi = clear + 1;
    const { prefix, suffix, first, length, row, width } = this;
    let { bitBuf, bitCount, codeSize, next, prev, filled } = this;
    let at = 0;
    for (;;) {
      while (bitCount < codeSize && at < data.length) {
        bitBuf |= data[at++]! << bitCount;
        bitCount += 8;
      }
      if (bitCount < codeSize) break;
      const code = bitBuf & ((1 << codeSize) - 1);
      bitBuf >>>= codeSize;
      bitCount -= codeSize;
      if (code === clear) {
        codeSize = this.minCodeSize + 1;
        next = eoi + 1;
        prev = -1;
        continue;
      }
      if (code === eoi) {
        this.ended = true;
        break;
      }
      if (prev === -1) {
        if (code >= clear) throw new ImageDecodeError("corrupt", "LZW stream starts with a non-literal code");
      } else if (code > next || (code === next && next >= TABLE_SIZE)) {
        throw new ImageDecodeError("corrupt", `LZW code ${code} not yet defined`);
      } else if (next < TABLE_SIZE) {
        // code === next is the KwKwK case: the new string is prev + first(prev).
        prefix[next] = prev;
        suffix[next] = code < next ? first[code]! : first[prev]!;
        first[next] = first[prev]!;
        length[next] = length[prev]! + 1;
        next++;
        if (next === 1 << codeSize && codeSize < MAX_CODE_BITS) codeSize++;
      }
      prev = code;
      // The string of `code`, back to front: straight into the row while it does not fill it.
      const len = length[code]!;
      if (filled + len < width) {
        for (let c = code, k = filled + len - 1; k >= filled; k--) {
          row[k] = suffix[c]!;
          c = prefix[c]!;
        }
        filled += len;
        continue;
      }
      this.filled = filled;
      this.emit(code);
      filled = this.filled;
      if (this.ended) break;
    }
    this.bitBuf = bitBuf;
    this.bitCount = bitCount;
    this.codeSize = codeSize;
    this.next = next;
    this.prev = prev;
    this.filled = filled;
  }

  /** Hands out the rows the data did not reach as index 0 (lenient, as browsers are), up to LZW_MISSING_PIXELS_MAX. */
  finish(): void {
    if (this.rowsDone >= this.rows || this.width === 0) return;
    const missing = (this.rows - this.rowsDone) * this.width - this.filled;
    if (missing > LZW_MISSING_PIXELS_MAX)
      throw new ImageDecodeError("truncated", `GIF frame data ends ${missing} pixels early`);
    this.row.fill(0, this.filled);
    this.deliver();
    this.row.fill(0);
    while (this.rowsDone < this.rows) this.deliver();
  }

  private deliver(): void {
    this.sink(this.rowsDone++, this.row);
    this.filled = 0;
    if (this.rowsDone === this.rows) this.ended = true;
  }

  /** Appends the string of `code` to the rows, handing out each row as it fills. */
  private emit(code: number): void {
    const { row, prefix, suffix, width } = this;
    const len = this.length[code]!;
    if (this.filled + len <= width) {
      for (let c = code, k = this.filled + len - 1; k >= this.filled; k--) {
        row[k] = suffix[c]!;
        c = prefix[c]!;
      }
      this.filled += len;
      if (this.filled === width) this.deliver();
      return;
    }
    const stack = this.stack;
    for (let c = code, k = len - 1; k >= 0; k--) {
      stack[k] = suffix[c]!;
      c = prefix[c]!;
    }
    for (let s = 0; s < len && !this.ended; ) {
      const n = Math.min(len - s, width - this.filled);
      row.set(stack.subarray(s, s + n), this.filled);
      this.filled += n;
      s += n;
      if (this.filled === width) this.deliver();
    }
  }
}

/** Decodes GIF-LZW into at most `count` palette indices (one-shot; tests and small callers). */
export function lzwDecode(data: Uint8Array, minCodeSize: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  const lzw = new LzwRowDecoder(minCodeSize, count, 1, (_, row) => out.set(row));
  lzw.push(data);
  lzw.finish();
  return out;
}
