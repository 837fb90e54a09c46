/**
 * GIF decoder: LZW (streamed row by row, gif-lzw.ts), interlacing, global/local palettes, the
 * transparent index and disposal method of each frame's graphic control extension, every frame
 * composited on the logical screen (frames.ts). A still GIF goes from LZW rows straight into
 * the area-average downscaler, so its memory follows the PDQ size whatever the screen; an
 * animation past the full-size canvas is composited at the PDQ size (reduced-canvas.ts).
 * Pixels no frame has drawn are (0,0,0,0) — PDQ drops alpha, so what matters is that they are
 * deterministic. Our own decoder: it is small, and the gate needs frame-by-frame output in
 * bounded memory with its own errors and bounds.
 */
import { AreaDownscaler, planScale } from "./downscale.ts";
import { CANVAS_MAX_PIXELS, Canvas, type DecodedFrame, isFrameHashed } from "./frames.ts";
import {
  type Control,
  Cursor,
  countFrames,
  imageBlocks,
  readFrameHead,
  readFrameRows,
  readPalette,
} from "./gif-blocks.ts";
import { LZW_DECODER_MAX_BYTES } from "./gif-lzw.ts";
import { ReducedLumaCanvas, reducedCanvasBytes } from "./reduced-canvas.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";

export type GifHeader =
  | { ok: true; width: number; height: number }
  | { ok: false; reason: "truncated" | "corrupt"; detail: string };

/** Logical screen size from the 13-byte header. */
export function readGifHeader(bytes: Uint8Array): GifHeader {
  const sig = String.fromCharCode(...bytes.subarray(0, 6));
  if (sig !== "GIF87a" && sig !== "GIF89a")
    return { ok: false, reason: "corrupt", detail: "no GIF signature" };
  if (bytes.length < 13)
    return { ok: false, reason: "truncated", detail: "file ends in the screen descriptor" };
  return { ok: true, width: bytes[6]! | (bytes[7]! << 8), height: bytes[8]! | (bytes[9]! << 8) };
}

/** Decodes one frame onto the canvas (transparent pixels leave it as it was); returns its rectangle. */
function drawFrame(
  cur: Cursor,
  canvas: Canvas,
  globalPalette: Uint8Array | null,
  control: Control,
  n: number,
): [number, number, number, number] {
  const f = readFrameHead(cur, globalPalette);
  const { left, top, width: fw, height: fh, palette } = f;
  if (fw * fh > CANVAS_MAX_PIXELS) throw new ImageDecodeError("too-large", `GIF frame ${fw}x${fh}`);
  // Each frame costs at least an LZW table's set-up, however small.
  canvas.spend(Math.max(fw * fh, 4096), n);
  const { width, height, pixels } = canvas;
  // One 32-bit store per pixel: each index's RGBA (paletteColours) viewed as one word, in the
  // platform's byte order on both sides.
  const colours = new Uint32Array(paletteColours(palette, control.transparent, 4).buffer);
  const words = new Uint32Array(pixels.buffer, pixels.byteOffset, pixels.length >> 2);
  const transparent = control.transparent;
  const visible = Math.min(fw, width - left);
  readFrameRows(cur, f, (y, indices) => {
    if (y >= height) return;
    for (let x = 0, o = y * width + left; x < visible; x++, o++) {
      const idx = indices[x]!;
      if (idx !== transparent) words[o] = colours[idx]!;
    }
  });
  // The rectangle clipped to the screen, for disposal.
  const x0 = Math.min(left, width);
  const y0 = Math.min(top, height);
  return [x0, y0, Math.min(left + fw, width) - x0, Math.min(top + fh, height) - y0];
}

/**
 * Every frame to hash (frames.ts), composited as browsers show them: frames drawn in order on
 * a screen that starts transparent black, each frame's disposal method applied before the next
 * (1 keep, 2 clear its rectangle, 3 restore what was under it), at the PDQ size unless
 * `limits.fullResolution`. A still GIF, of any size up to `limits.maxPixels`, goes from LZW rows
 * straight into the downscaler (decodeFirstFrame). An animation is composited on a full-size
 * canvas of at most CANVAS_MAX_PIXELS, and on a larger screen at the PDQ size (reduced-canvas.ts);
 * at full resolution (`hashgate hash`) only its first frame (drawn on a blank screen, so it needs
 * no canvas) is judged, then the animation is refused as too large.
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
  const cur = new Cursor(bytes, blocksAt);
  const total = countFrames(new Cursor(bytes, blocksAt));
  const full = limits.fullResolution ?? false;
  const blocks = imageBlocks(cur);
  const large = width * height > CANVAS_MAX_PIXELS;
  const screen = { width, height, globalPalette, maxPixels: limits.maxPixels };
  if (large && !full && total !== 1) {
    limits.reserve?.(gifAnimationBytes(width, height, full));
    yield* compositeReduced(cur, blocks, screen, total);
    return;
  }
  if (total === 1 || large) {
    limits.reserve?.(gifStillBytes(width, height, full));
    const first = blocks.next();
    if (first.done) throw new ImageDecodeError("corrupt", "GIF has no image");
    yield { index: 0, image: decodeFirstFrame(cur, screen, first.value, full) };
    // Past the first frame: the end of the file (or its damage), or a frame needing the canvas.
    if (blocks.next().done) return;
    throw new ImageDecodeError(
      "too-large",
      `animated GIF canvas ${width}x${height} exceeds ${CANVAS_MAX_PIXELS} pixels: only its first frame was judged`,
    );
  }
  limits.reserve?.(gifAnimationBytes(width, height, full));
  const canvas = new Canvas(width, height, "GIF");
  let n = 0;
  for (const control of blocks) {
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
 * An animation too large for the full-size canvas, composited at the PDQ size (luma): each
 * frame's rows are summed into the cells they fall in, then blended (reduced-canvas.ts).
 */
function* compositeReduced(
  cur: Cursor,
  blocks: Generator<Control>,
  screen: Screen,
  total: number,
): Generator<DecodedFrame> {
  const { width, height } = screen;
  const canvas = new ReducedLumaCanvas(width, height, planScale(width, height));
  let n = 0;
  for (const control of blocks) {
    if (control.disposal === 3) canvas.save();
    const f = readFrameHead(cur, screen.globalPalette);
    if (f.width * f.height > screen.maxPixels)
      throw new ImageDecodeError("too-large", `GIF frame ${f.width}x${f.height}`);
    canvas.spend(Math.max(f.width * f.height, 4096), n);
    const luma = paletteColours(f.palette, control.transparent, 1);
    const x0 = Math.min(f.left, width);
    const y0 = Math.min(f.top, height);
    const w = Math.min(f.left + f.width, width) - x0;
    const h = Math.min(f.top + f.height, height) - y0;
    readFrameRows(cur, f, (y, indices) => {
      if (y < height && w > 0) canvas.drawRow(y, x0, indices, w, luma, control.transparent);
    });
    canvas.endFrame(x0, y0, w, h);
    if (isFrameHashed(n, total)) yield { index: n, image: canvas.snapshot() };
    n++;
    if (control.disposal === 2) canvas.clear(x0, y0, w, h);
    else if (control.disposal === 3) canvas.restore();
  }
  if (n === 0) throw new ImageDecodeError("corrupt", "GIF has no image");
}

/** The logical screen a first frame is drawn on. */
interface Screen {
  width: number;
  height: number;
  globalPalette: Uint8Array | null;
  maxPixels: number;
}

/**
 * The first frame on a blank screen, its LZW rows area-averaged as they come (downscale.ts), so
 * memory follows the output: interlaced rows arrive out of order, so the downscaler keeps a sum
 * per output pixel (unordered mode), which also leaves rows no frame covers at zero. At the
 * source size (small screens, `full`) the pixels are RGBA exactly as the canvas path draws them;
 * reduced, each palette entry is turned into its luma once (0.299 R + 0.587 G + 0.114 B, PDQ's
 * own), so a pixel costs one byte to average and the sums 4 bytes per output pixel.
 */
function decodeFirstFrame(cur: Cursor, screen: Screen, control: Control, full: boolean): DecodedImage {
  const { width, height } = screen;
  const f = readFrameHead(cur, screen.globalPalette);
  // The frame's rows are decoded even where the screen clips them: bound them like the screen.
  if (f.width * f.height > screen.maxPixels)
    throw new ImageDecodeError("too-large", `GIF frame ${f.width}x${f.height}`);
  const plan = planScale(width, height, full);
  const channels = plan.width === width && plan.height === height ? 4 : 1;
  const out = new AreaDownscaler(width, height, plan, channels, false);
  const colours = paletteColours(f.palette, control.transparent, channels);
  const line = new Uint8Array(width * channels); // the screen row: blank outside the frame
  const x0 = Math.min(f.left, width);
  const visible = Math.min(f.left + f.width, width) - x0;
  readFrameRows(cur, f, (y, indices) => {
    if (y >= height || visible <= 0) return;
    if (channels === 1) {
      for (let x = 0; x < visible; x++) line[x0 + x] = colours[indices[x]!]!;
    } else {
      for (let x = 0, o = x0 * 4; x < visible; x++, o += 4) {
        const c = indices[x]! * 4;
        line[o] = colours[c]!;
        line[o + 1] = colours[c + 1]!;
        line[o + 2] = colours[c + 2]!;
        line[o + 3] = colours[c + 3]!;
      }
    }
    out.addRow(y, line, 0, width);
  });
  return out.finish();
}

/**
 * What each of the 256 indices shows on a blank screen, as RGBA or luma: the palette's colour,
 * opaque black past the palette (as browsers do), nothing (zero) for the transparent index.
 */
function paletteColours(palette: Uint8Array, transparent: number, channels: 1 | 4): Uint8Array {
  const out = new Uint8Array(256 * channels);
  const entries = palette.length / 3;
  for (let i = 0; i < 256; i++) {
    if (i === transparent) continue;
    const [r, g, b] = i < entries ? palette.subarray(i * 3, i * 3 + 3) : [0, 0, 0];
    if (channels === 1) out[i] = Math.min(255, Math.round(0.299 * r! + 0.587 * g! + 0.114 * b!));
    else out.set([r!, g!, b!, 255], i * 4);
  }
  return out;
}

/** The LZW decoder (tables, output window, rows) and the interlaced row order, at most (frames up to 65535 wide and high). */
const FRAME_WORK_BYTES = LZW_DECODER_MAX_BYTES + 4 * 65536;

/** Bytes a still GIF's decode holds at most: the downscaler's output and sums, a screen row, the frame's work. */
export function gifStillBytes(width: number, height: number, full: boolean): number {
  const plan = planScale(width, height, full);
  if (plan.width === width && plan.height === height) return (height + 1) * width * 4 + FRAME_WORK_BYTES;
  return plan.width * plan.height * 5 + width + FRAME_WORK_BYTES;
}

/**
 * Bytes an animation's decode holds at most: the canvas, its copy while a frame that restores
 * "previous" is drawn, and the frame handed out (a copy of the canvas, or its downscale: output
 * and one row of sums); past CANVAS_MAX_PIXELS, the canvas at the PDQ size.
 */
export function gifAnimationBytes(width: number, height: number, full: boolean): number {
  const plan = planScale(width, height, full);
  if (!full && width * height > CANVAS_MAX_PIXELS)
    return reducedCanvasBytes(plan, width, height) + FRAME_WORK_BYTES;
  const frame =
    plan.width === width && plan.height === height ? width * height * 4 : plan.width * (plan.height + 4) * 4;
  return 2 * width * height * 4 + frame + FRAME_WORK_BYTES;
}

/** The first frame, as the gate decoded GIFs before animations were judged (tests, `decodeImage`). */
export function decodeGif(bytes: Uint8Array, limits: DecodeLimits): DecodedImage {
  const first = decodeGifFrames(bytes, limits).next();
  if (first.done) throw new ImageDecodeError("corrupt", "GIF has no image");
  return first.value.image;
}
