/**
 * GIF block structure for gif.ts: a bounds-checked cursor, palettes, the image blocks with the
 * graphic control before each, frame descriptors, and a frame's LZW data streamed row by row.
 */
import { concatBytes } from "../bytes.ts";
import { type IndexRowSink, LzwRowDecoder } from "./gif-lzw.ts";
import { ImageDecodeError } from "./types.ts";

/** Reads bytes with bounds checks; running off the end is a truncated file. */
export class Cursor {
  readonly bytes: Uint8Array;
  pos: number;
  constructor(bytes: Uint8Array, pos: number) {
    this.bytes = bytes;
    this.pos = pos;
  }
  need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new ImageDecodeError("truncated", "GIF ends early");
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.bytes[this.pos]! | (this.bytes[this.pos + 1]! << 8);
    this.pos += 2;
    return v;
  }
  /** Concatenated payload of a sub-block chain (ends at a zero-length block). */
  subBlocks(): Uint8Array {
    const parts: Uint8Array[] = [];
    for (let len = this.u8(); len !== 0; len = this.u8()) {
      this.need(len);
      parts.push(this.bytes.subarray(this.pos, this.pos + len));
      this.pos += len;
    }
    return concatBytes(parts);
  }
  /** Hands each sub-block's payload to `take` as it is read (no copy). */
  eachSubBlock(take: (data: Uint8Array) => void): void {
    for (let len = this.u8(); len !== 0; len = this.u8()) {
      this.need(len);
      take(this.bytes.subarray(this.pos, this.pos + len));
      this.pos += len;
    }
  }
  skipSubBlocks(): void {
    for (let len = this.u8(); len !== 0; len = this.u8()) {
      this.need(len);
      this.pos += len;
    }
  }
}

export function readPalette(cur: Cursor, packed: number): Uint8Array {
  const size = 3 << ((packed & 7) + 1);
  cur.need(size);
  const pal = cur.bytes.subarray(cur.pos, cur.pos + size);
  cur.pos += size;
  return pal;
}

// Row order of an interlaced frame: four passes.
function interlacedRows(height: number): Int32Array {
  const rows = new Int32Array(height);
  let k = 0;
  for (const [start, step] of [
    [0, 8],
    [4, 8],
    [2, 4],
    [1, 2],
  ] as const) {
    for (let y = start; y < height; y += step) rows[k++] = y;
  }
  return rows;
}

/** A frame's graphic control: disposal method and transparent index (-1: none). */
export interface Control {
  disposal: number;
  transparent: number;
}

/**
 * The image descriptors after the screen descriptor, each with the graphic control before it;
 * the cursor is on the descriptor, and the caller must move it past the frame before asking
 * for the next.
 */
export function* imageBlocks(cur: Cursor): Generator<Control> {
  let control: Control = { disposal: 0, transparent: -1 };
  let n = 0;
  for (;;) {
    // A file that ends without its trailer after a complete frame is shown by browsers as is.
    if (n > 0 && cur.pos >= cur.bytes.length) return;
    const block = cur.u8();
    if (block === 0x3b) return;
    if (block === 0x21) {
      const label = cur.u8();
      if (label === 0xf9) {
        const gce = cur.subBlocks();
        if (gce.length >= 4) {
          control = { disposal: (gce[0]! >> 2) & 7, transparent: (gce[0]! & 1) === 1 ? gce[3]! : -1 };
        }
      } else {
        cur.skipSubBlocks();
      }
      continue;
    }
    if (block !== 0x2c) throw new ImageDecodeError("corrupt", `unknown GIF block 0x${block.toString(16)}`);
    n++;
    yield control;
    control = { disposal: 0, transparent: -1 };
  }
}

function skipFrame(cur: Cursor): void {
  cur.pos += 8;
  const packed = cur.u8();
  if (packed & 0x80) readPalette(cur, packed);
  cur.u8();
  cur.skipSubBlocks();
}

/** A frame's image descriptor and the palette it uses. */
export interface FrameHead {
  left: number;
  top: number;
  width: number;
  height: number;
  interlaced: boolean;
  palette: Uint8Array;
}

export function readFrameHead(cur: Cursor, globalPalette: Uint8Array | null): FrameHead {
  const left = cur.u16();
  const top = cur.u16();
  const width = cur.u16();
  const height = cur.u16();
  const packed = cur.u8();
  const palette = packed & 0x80 ? readPalette(cur, packed) : globalPalette;
  if (!palette) throw new ImageDecodeError("corrupt", "GIF frame without a palette");
  return { left, top, width, height, interlaced: (packed & 0x40) !== 0, palette };
}

/** Streams the frame's LZW data (cursor on its code size) to `sink` row by row, screen row of each given. */
export function readFrameRows(
  cur: Cursor,
  f: FrameHead,
  sink: (y: number, indices: Uint8Array) => void,
): void {
  const order = f.interlaced ? interlacedRows(f.height) : null;
  const toScreen: IndexRowSink = (r, indices) => sink(f.top + (order ? order[r]! : r), indices);
  const lzw = new LzwRowDecoder(cur.u8(), f.width, f.height, toScreen);
  cur.eachSubBlock((data) => lzw.push(data));
  lzw.finish();
}

/**
 * Frames in the file, from its block structure alone (for sampling). A damaged tail counts
 * as endless: the frames before it are still decoded, then the damage is met and reported.
 */
export function countFrames(cur: Cursor): number {
  let n = 0;
  try {
    for (const _ of imageBlocks(cur)) {
      skipFrame(cur);
      n++;
    }
  } catch (e) {
    if (!(e instanceof ImageDecodeError)) throw e;
    return Number.POSITIVE_INFINITY;
  }
  return n;
}
