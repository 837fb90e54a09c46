/**
 * GIF decoder: LZW, interlacing, global/local palettes, the transparent index and disposal
 * method of each frame's graphic control extension, every frame composited on the logical
 * screen (frames.ts). Pixels no frame has drawn are (0,0,0,0) — PDQ drops alpha, so what matters
 * is that they are deterministic. Our own decoder: it is small, and the gate needs frame-by-frame
 * output with its own errors and bounds.
 */
import { concatBytes } from "../bytes.ts";
import { CANVAS_MAX_PIXELS, Canvas, type DecodedFrame, isFrameHashed } from "./frames.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";

export type GifHeader =
  | { ok: true; width: number; height: number }
  | { ok: false; reason: "truncated" | "corrupt"; detail: string };

const MAX_CODE_BITS = 12;
const TABLE_SIZE = 1 << MAX_CODE_BITS;

/** Logical screen size from the 13-byte header. */
export function readGifHeader(bytes: Uint8Array): GifHeader {
  const sig = String.fromCharCode(...bytes.subarray(0, 6));
  if (sig !== "GIF87a" && sig !== "GIF89a")
    return { ok: false, reason: "corrupt", detail: "no GIF signature" };
  if (bytes.length < 13)
    return { ok: false, reason: "truncated", detail: "file ends in the screen descriptor" };
  return { ok: true, width: bytes[6]! | (bytes[7]! << 8), height: bytes[8]! | (bytes[9]! << 8) };
}

/** Reads bytes with bounds checks; running off the end is a truncated file. */
class Cursor {
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
  skipSubBlocks(): void {
    for (let len = this.u8(); len !== 0; len = this.u8()) {
      this.need(len);
      this.pos += len;
    }
  }
}

/** Decodes GIF-LZW into at most `count` palette indices; stops early at EOI or end of data. */
export function lzwDecode(data: Uint8Array, minCodeSize: number, count: number): Uint8Array {
  if (minCodeSize < 2 || minCodeSize > 8)
    throw new ImageDecodeError("corrupt", `LZW code size ${minCodeSize}`);
  const out = new Uint8Array(count);
  const prefix = new Uint16Array(TABLE_SIZE);
  const suffix = new Uint8Array(TABLE_SIZE);
  const first = new Uint8Array(TABLE_SIZE); // first byte of each code's string
  const length = new Uint16Array(TABLE_SIZE);
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  for (let c = 0; c < clear; c++) {
    suffix[c] = c;
    first[c] = c;
    length[c] = 1;
  }
  let codeSize = minCodeSize + 1;
  let next = eoi + 1;
  let prev = -1;
  let written = 0;
  let bitBuf = 0;
  let bitCount = 0;
  let at = 0;
  while (written < count) {
    while (bitCount < codeSize && at < data.length) {
      bitBuf |= data[at++]! << bitCount;
      bitCount += 8;
    }
    if (bitCount < codeSize) break; // data ran out: the rest stays index 0 (lenient, like browsers)
    const code = bitBuf & ((1 << codeSize) - 1);
    bitBuf >>>= codeSize;
    bitCount -= codeSize;
    if (code === clear) {
      codeSize = minCodeSize + 1;
      next = eoi + 1;
      prev = -1;
      continue;
    }
    if (code === eoi) break;
    if (prev === -1) {
      if (code >= clear) throw new ImageDecodeError("corrupt", "LZW stream starts with a non-literal code");
      out[written++] = code;
      prev = code;
      continue;
    }
    if (code > next || (code === next && next >= TABLE_SIZE)) {
      throw new ImageDecodeError("corrupt", `LZW code ${code} not yet defined`);
    }
    // code === next is the KwKwK case: the new string is prev + first(prev).
    const known = code < next;
    const firstByte = known ? first[code]! : first[prev]!;
    if (next < TABLE_SIZE) {
      prefix[next] = prev;
      suffix[next] = firstByte;
      first[next] = first[prev]!;
      length[next] = length[prev]! + 1;
      next++;
      if (next === 1 << codeSize && codeSize < MAX_CODE_BITS) codeSize++;
    }
    // Write the string of `code` back to front, clipped to the output.
    const len = length[code]!;
    let c = code;
    for (let k = len - 1; k >= 0; k--) {
      if (written + k < count) out[written + k] = suffix[c]!;
      c = prefix[c]!;
    }
    written += len;
    prev = code;
  }
  return out;
}

function readPalette(cur: Cursor, packed: number): Uint8Array {
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
interface Control {
  disposal: number;
  transparent: number;
}

/**
 * The image descriptors after the screen descriptor, each with the graphic control before it;
 * the cursor is on the descriptor, and the caller must move it past the frame before asking
 * for the next.
 */
function* imageBlocks(cur: Cursor): Generator<Control> {
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

/** Decodes one frame onto the canvas (transparent pixels leave it as it was); returns its rectangle. */
function drawFrame(
  cur: Cursor,
  canvas: Canvas,
  globalPalette: Uint8Array | null,
  control: Control,
  n: number,
): [number, number, number, number] {
  const left = cur.u16();
  const top = cur.u16();
  const fw = cur.u16();
  const fh = cur.u16();
  const fpacked = cur.u8();
  const palette = fpacked & 0x80 ? readPalette(cur, fpacked) : globalPalette;
  if (!palette) throw new ImageDecodeError("corrupt", "GIF frame without a palette");
  if (fw * fh > CANVAS_MAX_PIXELS) throw new ImageDecodeError("too-large", `GIF frame ${fw}x${fh}`);
  // Each frame costs at least an LZW table's set-up, however small.
  canvas.spend(Math.max(fw * fh, 4096), n);
  const minCodeSize = cur.u8();
  const indices = lzwDecode(cur.subBlocks(), minCodeSize, fw * fh);
  const rows = fpacked & 0x40 ? interlacedRows(fh) : null;
  const { width, height, pixels } = canvas;
  const paletteEntries = palette.length / 3;
  for (let r = 0; r < fh; r++) {
    const y = top + (rows ? rows[r]! : r);
    if (y >= height) continue;
    for (let x = 0; x < fw; x++) {
      const px = left + x;
      if (px >= width) break;
      const idx = indices[r * fw + x]!;
      if (idx === control.transparent) continue;
      const o = (y * width + px) * 4;
      if (idx < paletteEntries) {
        pixels[o] = palette[idx * 3]!;
        pixels[o + 1] = palette[idx * 3 + 1]!;
        pixels[o + 2] = palette[idx * 3 + 2]!;
      } else {
        pixels[o] = pixels[o + 1] = pixels[o + 2] = 0;
      }
      pixels[o + 3] = 255; // an index past the palette shows as opaque black, as browsers do
    }
  }
  // The rectangle clipped to the screen, for disposal.
  const x0 = Math.min(left, width);
  const y0 = Math.min(top, height);
  return [x0, y0, Math.min(left + fw, width) - x0, Math.min(top + fh, height) - y0];
}

/**
 * Every frame to hash (frames.ts), composited as browsers show them: frames drawn in order on
 * a screen that starts transparent black, each frame's disposal method applied before the next
 * (1 keep, 2 clear its rectangle, 3 restore what was under it). RGBA at the PDQ size unless
 * `limits.fullResolution`.
 */
export function* decodeGifFrames(bytes: Uint8Array, limits: DecodeLimits): Generator<DecodedFrame> {
  const header = readGifHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  const { width, height } = header;
  if (width === 0 || height === 0) throw new ImageDecodeError("corrupt", "GIF with a zero dimension");
  if (width * height > limits.maxPixels) throw new ImageDecodeError("too-large", `GIF ${width}x${height}`);
  const start = new Cursor(bytes, 10);
  const packed = start.u8();
  start.pos += 2; // background index, aspect ratio
  const globalPalette = packed & 0x80 ? readPalette(start, packed) : null;
  const blocksAt = start.pos;
  const canvas = new Canvas(width, height, "GIF");
  const cur = new Cursor(bytes, blocksAt);
  const total = countFrames(new Cursor(bytes, blocksAt));
  const full = limits.fullResolution ?? false;
  let n = 0;
  for (const control of imageBlocks(cur)) {
    const saved = control.disposal === 3 ? canvas.pixels.slice() : null;
    const [x, y, w, h] = drawFrame(cur, canvas, globalPalette, control, n);
    if (isFrameHashed(n, total)) yield { index: n, image: canvas.snapshot(full) };
    n++;
    if (control.disposal === 2) canvas.clear(x, y, w, h);
    else if (saved) canvas.pixels.set(saved);
  }
  if (n === 0) throw new ImageDecodeError("corrupt", "GIF has no image");
}

/**
 * Frames in the file, from its block structure alone (for sampling). A damaged tail counts
 * as endless: the frames before it are still decoded, then the damage is met and reported.
 */
function countFrames(cur: Cursor): number {
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

/** The first frame, as the gate decoded GIFs before animations were judged (tests, `decodeImage`). */
export function decodeGif(bytes: Uint8Array, limits: DecodeLimits): DecodedImage {
  const first = decodeGifFrames(bytes, limits).next();
  if (first.done) throw new ImageDecodeError("corrupt", "GIF has no image");
  return first.value.image;
}
