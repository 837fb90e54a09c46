// Test data: builds small GIFs (with a real LZW encoder, table growth and resets included) so
// the decoder can be checked pixel by pixel against the indices that went in.

/**
 * GIF-LZW encodes palette indices; codes grow from minCodeSize+1 to 12 bits, clear when full
 * (or, `whenFull: "freeze"`, keep coding with the full table, as some encoders do).
 */
export function lzwEncode(
  indices: Uint8Array,
  minCodeSize: number,
  whenFull: "clear" | "freeze" = "clear",
): Uint8Array {
  const clear = 1 << minCodeSize;
  const eoi = clear + 1;
  const out: number[] = [];
  let bitBuf = 0;
  let bitCount = 0;
  let codeSize = minCodeSize + 1;
  const write = (code: number) => {
    bitBuf |= code << bitCount;
    bitCount += codeSize;
    while (bitCount >= 8) {
      out.push(bitBuf & 0xff);
      bitBuf >>>= 8;
      bitCount -= 8;
    }
  };
  let dict = new Map<number, number>();
  let emitted = 0; // codes since the last clear
  const emit = (code: number) => {
    write(code);
    emitted++;
    // The decoder adds its entry one code later, so it widens after code k when eoi+k = 2^size.
    if (eoi + emitted === 1 << codeSize && codeSize < 12) codeSize++;
  };
  write(clear);
  if (indices.length === 0) {
    write(eoi);
  } else {
    let prefix = indices[0]!;
    for (let i = 1; i < indices.length; i++) {
      const c = indices[i]!;
      const key = prefix * 256 + c;
      const known = dict.get(key);
      if (known !== undefined) {
        prefix = known;
        continue;
      }
      emit(prefix);
      if (eoi + emitted < 4096) {
        dict.set(key, eoi + emitted);
      } else if (whenFull === "clear") {
        write(clear);
        codeSize = minCodeSize + 1;
        dict = new Map();
        emitted = 0;
      }
      prefix = c;
    }
    emit(prefix);
    write(eoi);
  }
  if (bitCount > 0) out.push(bitBuf & 0xff);
  return Uint8Array.from(out);
}

export interface GifFrameSpec {
  left?: number;
  top?: number;
  width: number;
  height: number;
  /** Palette indices in display order (row by row). */
  indices: Uint8Array;
  interlaced?: boolean;
  localPalette?: number[][];
  transparentIndex?: number;
  /** Disposal method after the frame: 1 keep, 2 clear to transparent, 3 restore previous. */
  disposal?: number;
  /** Sizes of the data sub-blocks (1..255), drawn in turn; default: all 255 (as encoders write). */
  subBlockSize?: () => number;
}

export interface GifSpec {
  width: number;
  height: number;
  globalPalette?: number[][];
  frame: GifFrameSpec;
  /** Adds a second frame after the first (the decoder must ignore it). */
  secondFrame?: GifFrameSpec;
  /** Further frames after those. */
  moreFrames?: GifFrameSpec[];
}

function paletteBytes(palette: number[][]): { bits: number; bytes: number[] } {
  let bits = 1;
  while (1 << bits < palette.length) bits++;
  const bytes: number[] = [];
  for (let i = 0; i < 1 << bits; i++) bytes.push(...(palette[i] ?? [0, 0, 0]));
  return { bits, bytes };
}

function interlaceOrder(height: number): number[] {
  const rows: number[] = [];
  for (const [start, step] of [
    [0, 8],
    [4, 8],
    [2, 4],
    [1, 2],
  ] as const) {
    for (let y = start; y < height; y += step) rows.push(y);
  }
  return rows;
}

function frameBytes(f: GifFrameSpec): number[] {
  const out: number[] = [];
  if (f.transparentIndex !== undefined || f.disposal !== undefined) {
    const packed = ((f.disposal ?? 0) << 2) | (f.transparentIndex !== undefined ? 1 : 0);
    out.push(0x21, 0xf9, 4, packed, 0, 0, f.transparentIndex ?? 0, 0);
  }
  const u16 = (v: number) => [v & 0xff, v >> 8];
  const local = f.localPalette ? paletteBytes(f.localPalette) : null;
  const packed = (local ? 0x80 | (local.bits - 1) : 0) | (f.interlaced ? 0x40 : 0);
  out.push(0x2c, ...u16(f.left ?? 0), ...u16(f.top ?? 0), ...u16(f.width), ...u16(f.height), packed);
  if (local) out.push(...local.bytes);
  let stored = f.indices;
  if (f.interlaced) {
    stored = new Uint8Array(f.indices.length);
    interlaceOrder(f.height).forEach((y, k) => {
      stored.set(f.indices.subarray(y * f.width, (y + 1) * f.width), k * f.width);
    });
  }
  const maxIndex = stored.reduce((m, v) => Math.max(m, v), 1);
  const minCodeSize = Math.max(2, Math.ceil(Math.log2(maxIndex + 1)));
  const data = lzwEncode(stored, minCodeSize);
  out.push(minCodeSize);
  for (let i = 0; i < data.length; ) {
    const chunk = data.subarray(i, i + (f.subBlockSize?.() ?? 255));
    out.push(chunk.length);
    for (const b of chunk) out.push(b);
    i += chunk.length;
  }
  out.push(0);
  return out;
}

/** A GIF89a file from the spec. */
export function buildGif(spec: GifSpec): Uint8Array {
  const out: number[] = [...new TextEncoder().encode("GIF89a")];
  const global = spec.globalPalette ? paletteBytes(spec.globalPalette) : null;
  out.push(spec.width & 0xff, spec.width >> 8, spec.height & 0xff, spec.height >> 8);
  out.push(global ? 0xf0 | (global.bits - 1) : 0, 0, 0);
  if (global) out.push(...global.bytes);
  out.push(0x21, 0xfe, 9, ...new TextEncoder().encode("test data"), 0); // a comment to skip
  // Appended one by one: a large frame has too many bytes for one spread call.
  for (const f of [spec.frame, ...(spec.secondFrame ? [spec.secondFrame] : []), ...(spec.moreFrames ?? [])]) {
    for (const b of frameBytes(f)) out.push(b);
  }
  out.push(0x3b);
  return Uint8Array.from(out);
}

/** The RGBA the decoder should produce: the first frame on a transparent-black screen. */
export function expectedRgba(spec: GifSpec): Uint8Array {
  const { width, height, frame } = spec;
  const palette = frame.localPalette ?? spec.globalPalette ?? [];
  const px = new Uint8Array(width * height * 4);
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      const sx = (frame.left ?? 0) + x;
      const sy = (frame.top ?? 0) + y;
      if (sx >= width || sy >= height) continue;
      const idx = frame.indices[y * frame.width + x]!;
      if (idx === frame.transparentIndex) continue;
      const [r, g, b] = palette[idx] ?? [0, 0, 0];
      px.set([r!, g!, b!, 255], (sy * width + sx) * 4);
    }
  }
  return px;
}
