/**
 * GIF-LZW, streamed: the frame's data sub-blocks are pushed as they are read, and palette
 * indices come out one frame row at a time, so a frame never needs its whole index array (48 MB
 * for a 48-megapixel frame) nor its data concatenated. Our own code, like the rest of gif.ts:
 * the decoder has to hand rows to the gate's downscaler with the gate's own errors.
 *
 * Speed: every code's string is a run of output already written (the string of the code
 * before it plus one byte, which is where the next string starts), so a code is decoded by
 * copying from the output it was first written at, kept in a window of the recent output,
 * rather than by walking its chain of prefixes one dependent load per byte. A code whose
 * string has left the window (a table never cleared, or long runs) is still walked.
 */
import { ImageDecodeError } from "./types.ts";

const MAX_CODE_BITS = 12;
const TABLE_SIZE = 1 << MAX_CODE_BITS;
/** Recent output kept for copying (besides the row being filled); older strings are walked. */
const HISTORY = 1 << 16;
/** Frame rows are at most this wide (a GIF's dimensions are 16-bit). */
const MAX_ROW = 65535;
/**
 * Pixels a frame's data may leave out and still decode (as index 0; before still GIFs were
 * streamed, frames were at most this large anyway). More is a truncated frame: otherwise a
 * 60-byte file claiming 16000×15000 pixels costs seconds of CPU to fill, where real data costs
 * at least a byte per ~2,700 pixels (LZW's longest string per 12-bit code).
 */
export const LZW_MISSING_PIXELS_MAX = 2048 * 2048;

/** Bytes an LzwRowDecoder holds at most: its tables, output window and a blank row for finish(). */
export const LZW_DECODER_MAX_BYTES = 9 * TABLE_SIZE + (2 * HISTORY + TABLE_SIZE + MAX_ROW) + MAX_ROW;

/** Receives row `r` of the frame in stored order (interlaced frames: pass order); `indices` is only valid during the call. */
export type IndexRowSink = (r: number, indices: Uint8Array) => void;

/** Decodes one frame's LZW data, pushed in any slicing, into `rows` rows of `width` indices. */
export class LzwRowDecoder {
  private readonly width: number;
  private readonly rows: number;
  private readonly sink: IndexRowSink;
  /**
   * Output: the recent history, then the row being filled and what follows it. A code's string
   * is written whole, then each row it completes is handed out as a view.
   */
  private readonly out: Uint8Array;
  /** Each code's prefix code, last byte and length (the walk, for strings out of the window). */
  private readonly prefix = new Uint16Array(TABLE_SIZE);
  private readonly suffix = new Uint8Array(TABLE_SIZE);
  private readonly length = new Uint16Array(TABLE_SIZE);
  /** Where each code's string stands in `out`; negative once it has left the window. */
  private readonly at = new Int32Array(TABLE_SIZE);
  private readonly minCodeSize: number;
  private codeSize: number;
  private next: number;
  private prev = -1;
  /** Where the previous code's string starts in `out`. */
  private prevAt = 0;
  private bitBuf = 0;
  private bitCount = 0;
  /** End of the output written, start of the row being filled, and rows handed out. */
  private written = 0;
  private rowStart = 0;
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
    // A frame smaller than the window is kept whole (never slid): a tiny frame costs little.
    this.out = new Uint8Array(Math.min(2 * HISTORY, width * rows) + TABLE_SIZE + width);
    this.ended = width === 0 || rows === 0;
    const clear = 1 << minCodeSize;
    for (let c = 0; c < clear; c++) {
      this.suffix[c] = c;
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
    const { prefix, suffix, length, at: stringAt, out, width } = this;
    // Room for one more string after the window: past it, the window is moved back (a frame
    // kept whole ends before it gets there).
    const limit = out.length - TABLE_SIZE;
    let { bitBuf, bitCount, codeSize, next, prev, prevAt, written, rowStart } = this;
    let i = 0;
    for (;;) {
      if (bitCount < codeSize) {
        // Two bytes at once where the data has them (bitCount <= 11: 27 bits fit).
        if (i + 1 < data.length) {
          bitBuf |= (data[i]! | (data[i + 1]! << 8)) << bitCount;
          i += 2;
          bitCount += 16;
        } else {
          while (bitCount < codeSize && i < data.length) {
            bitBuf |= data[i++]! << bitCount;
            bitCount += 8;
          }
          if (bitCount < codeSize) break;
        }
      }
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
      if (written > limit) {
        const shift = this.slide(written);
        written -= shift;
        rowStart -= shift;
        prevAt -= shift;
      }
      const start = written;
      if (prev === -1) {
        if (code >= clear) throw new ImageDecodeError("corrupt", "LZW stream starts with a non-literal code");
        out[written++] = code;
      } else {
        if (code > next || (code === next && next >= TABLE_SIZE))
          throw new ImageDecodeError("corrupt", `LZW code ${code} not yet defined`);
        if (next < TABLE_SIZE) {
          // The new code's string: the previous string and the first byte of this one, i.e. the
          // output from prevAt on, one byte longer. (code === next is the KwKwK case.)
          prefix[next] = prev;
          length[next] = length[prev]! + 1;
          stringAt[next] = prevAt;
        }
        if (code < clear) {
          out[written++] = code;
        } else {
          const len = length[code]!;
          const from = stringAt[code]!;
          // Forward, byte by byte: for KwKwK (its string starts at prevAt, always in the
          // window) the last byte is the first one just copied.
          if (from < 0) walk(prefix, suffix, out, code, start, len);
          else if (len < 24) for (let k = 0; k < len; k++) out[start + k] = out[from + k]!;
          else {
            // Long strings (flat areas): a block copy of all but the last byte, which for KwKwK is
            // the first one just copied (from + len - 1 === start).
            out.copyWithin(start, from, from + len - 1);
            out[start + len - 1] = out[from + len - 1]!;
          }
          written += len;
        }
        if (next < TABLE_SIZE) {
          suffix[next] = out[start]!;
          next++;
          if (next === 1 << codeSize && codeSize < MAX_CODE_BITS) codeSize++;
        }
      }
      prev = code;
      prevAt = start;
      if (written - rowStart >= width) {
        rowStart = this.deliver(rowStart, written);
        if (this.ended) break;
      }
    }
    this.bitBuf = bitBuf;
    this.bitCount = bitCount;
    this.codeSize = codeSize;
    this.next = next;
    this.prev = prev;
    this.prevAt = prevAt;
    this.written = written;
    this.rowStart = rowStart;
  }

  /** Hands out the rows the data did not reach as index 0 (lenient, as browsers are), up to LZW_MISSING_PIXELS_MAX. */
  finish(): void {
    if (this.rowsDone >= this.rows || this.width === 0) return;
    const filled = this.written - this.rowStart;
    const missing = (this.rows - this.rowsDone) * this.width - filled;
    if (missing > LZW_MISSING_PIXELS_MAX)
      throw new ImageDecodeError("truncated", `GIF frame data ends ${missing} pixels early`);
    const row = new Uint8Array(this.width);
    row.set(this.out.subarray(this.rowStart, this.written));
    this.sink(this.rowsDone++, row);
    row.fill(0);
    while (this.rowsDone < this.rows) this.sink(this.rowsDone++, row);
    this.ended = true;
  }

  /** Hands out every complete row from `rowStart`; returns where the row being filled starts. */
  private deliver(rowStart: number, written: number): number {
    const { out, width } = this;
    while (written - rowStart >= width) {
      this.sink(this.rowsDone++, out.subarray(rowStart, rowStart + width));
      rowStart += width;
      if (this.rowsDone === this.rows) {
        this.ended = true;
        break;
      }
    }
    return rowStart;
  }

  /**
   * Moves the last HISTORY bytes and the row being filled to the front of the window, and the
   * strings' places with them (those left behind become negative); returns the shift.
   */
  private slide(written: number): number {
    const shift = written - HISTORY - this.width;
    this.out.copyWithin(0, shift, written);
    const at = this.at;
    for (let c = 0; c < TABLE_SIZE; c++) at[c] = Math.max(-1, at[c]! - shift);
    return shift;
  }
}

/** Writes the string of `code` (`len` bytes) at `to` by walking its prefixes, back to front. */
function walk(
  prefix: Uint16Array,
  suffix: Uint8Array,
  out: Uint8Array,
  code: number,
  to: number,
  len: number,
): void {
  for (let c = code, k = to + len - 1; k >= to; k--) {
    out[k] = suffix[c]!;
    c = prefix[c]!;
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
