/**
 * The one file that touches the WebAssembly core's memory (wasm/assembly/index.ts is the ABI).
 * Pixels (a strip of rows at a time) and hashes are copied into buffers whose addresses the
 * module hands out; results are read back from its fixed output buffers. Works with a compiled WebAssembly.Module, so the
 * Worker can import the .wasm as a module and Node can compile it from the file.
 */
import { toHex } from "../bytes.ts";
import type { JpegSegment } from "../image/jpeg-markers.ts";
import type { DecodedImage } from "../image/types.ts";

/** Dihedral order of `PdqResult.dihedral` (rotations counter-clockwise, flipX swaps top/bottom). */
export const DIHEDRAL_NAMES = [
  "orig",
  "rot90",
  "rot180",
  "rot270",
  "flipx",
  "flipy",
  "flipplus1",
  "flipminus1",
] as const;

export interface PdqResult {
  /** 64 lowercase hex digits, as the reference hasher prints them. */
  hash: string;
  /** 0..100; hashes of quality < 50 should not be matched. */
  quality: number;
  /** The 8 dihedral hashes in DIHEDRAL_NAMES order; dihedral[0] === hash. */
  dihedral: string[];
}

/** Raw exports of wasm/build/core.wasm. */
export interface CoreExports {
  memory: WebAssembly.Memory;
  begin(width: number, height: number, channels: number): number;
  stripPtr(): number;
  feed(rows: number): number;
  finish(): number;
  hashesPtr(): number;
  windowAlongRows(): number;
  windowAlongCols(): number;
  indexReserve(n: number): number;
  stagingPtr(): number;
  stagingCapacity(): number;
  indexAppend(k: number): number;
  indexBase(): number;
  queryPtr(): number;
  search(nQueries: number, threshold: number): number;
  resultDistance(): number;
  resultQuery(): number;
  mihReserve(n: number): number;
  mihBuild(): number;
  mihSize(): number;
  mihSearch(nQueries: number, threshold: number): number;
  mihDistance(): number;
  mihQuery(): number;
  mihWithin(nQueries: number, threshold: number): number;
  mihOutPtr(): number;
  jpegBegin(shortSide: number): void;
  jpegInputPtr(): number;
  jpegSegment(marker: number, len: number): number;
  jpegPlanScan(len: number): number;
  jpegWorkBytes(): number;
  jpegAllocate(): number;
  jpegScanData(n: number, last: number): number;
  jpegScanDone(): number;
  jpegFinish(): number;
  jpegOutPtr(): number;
  jpegOutWidth(): number;
  jpegOutHeight(): number;
  jpegOutStride(): number;
  inflateBegin(): void;
  inflateInputPtr(): number;
  inflateFeed(n: number, last: number): void;
  inflateRun(): number;
  inflateUnread(): number;
  inflateOutPtr(): number;
  inflateOutStart(): number;
  inflateOutEnd(): number;
  pngRowsBegin(bytes: number, pixelBytes: number): number;
  pngRowsStride(bytes: number): number;
  pngUnfilter(src: number, dst: number, prev: number, stride: number, bpp: number): number;
  pngPalettePtr(): number;
  pngConvert(
    src: number,
    dst: number,
    count: number,
    colorType: number,
    depth: number,
    out: number,
    entries: number,
  ): number;
}

/** The stage accessors only wasm/build/core.debug.wasm exports (wasm/assembly/debug.ts), for tests. */
interface CoreDebugExports extends CoreExports {
  debugBufferPtr(): number;
  debugDctPtr(): number;
  debugMedian(): number;
  debugDctMatrixPtr(): number;
}

/** The debug accessors, or a clear error when the instance is the release core (which has none). */
function debugExports(core: CoreExports): CoreDebugExports {
  if (!("debugBufferPtr" in core))
    throw new Error("PDQ stages need the debug core (wasm/build/core.debug.wasm)");
  return core as CoreDebugExports;
}

/** Why the core's JPEG decoder stopped (wasm/assembly/jpeg-frame.ts). */
export type JpegCoreFailure = "corrupt" | "too-large" | "unsupported" | "truncated";
const JPEG_FAILURES: Record<number, JpegCoreFailure> = {
  [-1]: "corrupt",
  [-2]: "too-large",
  [-3]: "unsupported",
  [-4]: "truncated",
};
/** Size of the core's input window (wasm/assembly/jpeg-bits.ts: INPUT_BYTES). */
const JPEG_WINDOW = 65536;
const FRAME_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Size of the core's inflate input window (wasm/assembly/inflate.ts: INFLATE_IN_BYTES). */
const INFLATE_WINDOW = 65536;
const INFLATE_OUTPUT = 1;
const INFLATE_DONE = 2;

/** How a zlib stream ended: fully read (checksum verified), stopped by the consumer, or refused. */
export type InflateOutcome = "done" | "stopped" | "corrupt" | "truncated";

export interface JpegLumaOptions {
  /** Smallest shorter side of the output; the decoder picks the largest DCT reduction that keeps it (0: full size). */
  shortSide: number;
  /** Told how many bytes of WASM memory the decode will map, before it maps them; may throw to refuse. */
  reserve?: (bytes: number) => void;
}

export type JpegLumaResult = { ok: true; image: DecodedImage } | { ok: false; failure: JpegCoreFailure };

/** Instantiates the core (it has no imports). */
export function instantiateCore(mod: WebAssembly.Module): CoreExports {
  return new WebAssembly.Instance(mod, {}).exports as unknown as CoreExports;
}

/** The first 32 bytes → 64 hex digits. */
export function bytesToHex(b: Uint8Array): string {
  return toHex(b, 32);
}

/** 64 hex digits → 32 bytes; throws on anything else. */
export function hexToBytes(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`not a 64-digit hex PDQ hash: ${hex.slice(0, 80)}`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Current size of an instance's linear memory (it grows for large inputs and never shrinks). */
export function coreMemoryBytes(core: CoreExports): number {
  return core.memory.buffer.byteLength;
}

/** Copies up to stagingCapacity() hashes (32 bytes each) into the staging buffer for indexAppend. */
export function writeIndexStaging(core: CoreExports, hashes: Uint8Array): void {
  new Uint8Array(core.memory.buffer, core.stagingPtr(), hashes.length).set(hashes);
}

/** The index entry at `index` (not range-checked here) as 64 hex digits. */
export function readIndexHash(core: CoreExports, index: number): string {
  return bytesToHex(new Uint8Array(core.memory.buffer, core.indexBase() + index * 32, 32));
}

/** Writes 1 to 8 hex hashes into the query buffer for search(). */
export function writeQueries(core: CoreExports, hashes: readonly string[]): void {
  const q = new Uint8Array(core.memory.buffer, core.queryPtr(), 8 * 32);
  hashes.forEach((h, i) => {
    q.set(hexToBytes(h), i * 32);
  });
}

/** Writes 1 to 8 query hashes, 32 bytes each in hex-string order, into the query buffer. */
export function writeQueryBytes(core: CoreExports, hashes: Uint8Array): void {
  if (hashes.length % 32 !== 0 || hashes.length < 32 || hashes.length > 8 * 32) {
    throw new Error("PDQ query: 1 to 8 hashes of 32 bytes each");
  }
  new Uint8Array(core.memory.buffer, core.queryPtr(), hashes.length).set(hashes);
}

/** A copy of the index entry at `index` (not range-checked here), 32 bytes. */
export function readIndexBytes(core: CoreExports, index: number): Uint8Array {
  return new Uint8Array(core.memory.buffer, core.indexBase() + index * 32, 32).slice();
}

/** A copy of mihWithin's `count` matches: u32 pairs (entry, query << 16 | distance). */
export function readMihMatches(core: CoreExports, count: number): Uint32Array {
  return new Uint32Array(core.memory.buffer, core.mihOutPtr(), 2 * count).slice();
}

/** Intermediate stages of the last hash, for stage-by-stage tests against the reference. */
export interface PdqStages {
  buffer64: Float32Array;
  dct16: Float32Array;
  median: number;
  windowAlongRows: number;
  windowAlongCols: number;
}

/**
 * Two PNG row buffers and a pixel row in the core's memory, with the core's unfilter and
 * conversion (wasm/assembly/png.ts). Valid until the core is next used for anything else (a
 * hash or a JPEG decode may reuse the memory).
 */
export class CoreRowBuffers {
  /** rows[k][1..stride] is a row once unfiltered into buffer k. */
  readonly rows: [Uint8Array, Uint8Array];
  /** 8-bit pixels of the last convert(). */
  readonly pixels: Uint8Array;
  readonly #core: CoreExports;
  readonly #at: [number, number, number];
  #entries = 0;

  constructor(core: CoreExports, base: number, bytes: number, pixelBytes: number) {
    this.#core = core;
    const stride = core.pngRowsStride(bytes);
    this.#at = [base, base + stride, base + 2 * stride];
    this.rows = [
      new Uint8Array(core.memory.buffer, this.#at[0], bytes),
      new Uint8Array(core.memory.buffer, this.#at[1], bytes),
    ];
    this.pixels = new Uint8Array(core.memory.buffer, this.#at[2], pixelBytes);
  }

  /** RGBA palette entries (at most 256 are used) for converting palette rows. */
  setPalette(rgba: Uint8Array): void {
    this.#entries = Math.min(256, rgba.length >> 2);
    new Uint8Array(this.#core.memory.buffer, this.#core.pngPalettePtr(), 1024).set(
      rgba.subarray(0, this.#entries * 4),
    );
  }

  /**
   * Unfilters the row at src[at..] (its filter byte, then `stride` bytes; `src` is a view of the
   * core's memory: an inflateZlib chunk or one of `rows`) into rows[to], against rows[prev]
   * (-1: the first row of a pass). False for an unknown filter type.
   */
  unfilter(src: Uint8Array, at: number, to: 0 | 1, prev: 0 | 1 | -1, stride: number, bpp: number): boolean {
    if (src.buffer !== this.#core.memory.buffer)
      throw new Error("PNG rows are unfiltered from the core's memory");
    const from = src.byteOffset + at;
    const before = prev === -1 ? 0 : this.#at[prev];
    return this.#core.pngUnfilter(from, this.#at[to], before, stride, bpp) === 0;
  }

  /**
   * Converts `count` pixels of rows[from] (IHDR colour type and depth) into `pixels` with `out`
   * channels. False for a palette index beyond the palette.
   */
  convert(from: 0 | 1, count: number, colorType: number, depth: number, out: 1 | 3 | 4): boolean {
    const src = this.#at[from] + 1;
    return this.#core.pngConvert(src, this.#at[2], count, colorType, depth, out, this.#entries) === 0;
  }
}

export class PdqHasher {
  readonly #core: CoreExports;

  private constructor(core: CoreExports) {
    this.#core = core;
  }

  static fromModule(mod: WebAssembly.Module): PdqHasher {
    return new PdqHasher(instantiateCore(mod));
  }

  /** PDQ of decoded pixels at full resolution. Throws only on invalid input or memory exhaustion. */
  hash(img: DecodedImage): PdqResult {
    const { width, height, channels, pixels } = img;
    if (pixels.length !== width * height * channels) {
      throw new Error(`pixel buffer holds ${pixels.length} bytes, expected ${width}x${height}x${channels}`);
    }
    const core = this.#core;
    const rows = core.begin(width, height, channels);
    if (rows === -2) throw new Error(`PDQ core cannot grow memory for ${width}x${height}`);
    if (rows < 0) throw new Error(`PDQ core refused ${width}x${height}x${channels}`);
    // Stream the pixels through the core's strip buffer (memory only grows inside begin()).
    const rowLen = width * channels;
    const strip = new Uint8Array(core.memory.buffer, core.stripPtr(), rows * rowLen);
    for (let y = 0; y < height; y += rows) {
      const k = Math.min(rows, height - y);
      strip.set(pixels.subarray(y * rowLen, (y + k) * rowLen));
      core.feed(k);
    }
    const quality = core.finish();
    if (quality < 0) throw new Error("PDQ core: image rows missing");
    const out = new Uint8Array(core.memory.buffer, core.hashesPtr(), 8 * 32);
    const dihedral = Array.from({ length: 8 }, (_, v) => bytesToHex(out.subarray(v * 32, v * 32 + 32)));
    return { hash: dihedral[0]!, quality, dihedral };
  }

  /**
   * Decodes a JPEG's luma at a reduced DCT scale inside the core (only the pixels PDQ needs, see
   * wasm/assembly/jpeg-frame.ts): segments come from readJpegStructure. The plane is copied
   * out as a one-channel image; the core's memory then serves the hash.
   */
  decodeJpegLuma(bytes: Uint8Array, segments: readonly JpegSegment[], opts: JpegLumaOptions): JpegLumaResult {
    const core = this.#core;
    const fail = (code: number): JpegLumaResult => ({ ok: false, failure: JPEG_FAILURES[code] ?? "corrupt" });
    const put = (from: number, to: number) =>
      new Uint8Array(core.memory.buffer, core.jpegInputPtr(), to - from).set(bytes.subarray(from, to));
    core.jpegBegin(opts.shortSide);
    // First pass: colour model and frame, then every scan header, so memory is sized up front.
    const frame = segments.filter((s) => s.marker === 0xee || FRAME_MARKERS.has(s.marker));
    for (const s of frame) {
      put(s.start, s.end);
      const r = core.jpegSegment(s.marker, s.end - s.start);
      if (r < 0) return fail(r);
    }
    if (!frame.some((s) => FRAME_MARKERS.has(s.marker))) return fail(-1);
    for (const s of segments) {
      if (s.marker !== 0xda) continue;
      put(s.start, s.end);
      const r = core.jpegPlanScan(s.end - s.start);
      if (r < 0) return fail(r);
    }
    opts.reserve?.(core.jpegWorkBytes());
    const a = core.jpegAllocate();
    if (a < 0) return fail(a);
    for (const s of segments) {
      if (s.marker === 0xee || FRAME_MARKERS.has(s.marker)) continue;
      put(s.start, s.end);
      const r = core.jpegSegment(s.marker, s.end - s.start);
      if (r < 0) return fail(r);
      if (s.marker !== 0xda || r === 1) continue;
      // Stream the scan's coded data through the window; the core stops at MCU boundaries.
      let p = s.end;
      const end = s.dataEnd!;
      while (!core.jpegScanDone()) {
        const n = Math.min(JPEG_WINDOW, end - p);
        put(p, p + n);
        const last = p + n === end;
        const used = core.jpegScanData(n, last ? 1 : 0);
        if (used < 0) return fail(used);
        if (used === 0 && !last && !core.jpegScanDone()) return fail(-1);
        if (last && !core.jpegScanDone()) return fail(-4);
        p += used;
      }
    }
    const f = core.jpegFinish();
    if (f < 0) return fail(f);
    const width = core.jpegOutWidth();
    const height = core.jpegOutHeight();
    const stride = core.jpegOutStride();
    const plane = new Uint8Array(core.memory.buffer, core.jpegOutPtr(), stride * height);
    const pixels = new Uint8Array(width * height);
    for (let y = 0; y < height; y++) pixels.set(plane.subarray(y * stride, y * stride + width), y * width);
    return { ok: true, image: { width, height, channels: 1, pixels } };
  }

  /**
   * Inflates the zlib stream made of `parts` in order (wasm/assembly/inflate.ts), handing each
   * output chunk (at most 96 KiB, a view into the core's memory, valid until `take` returns) to
   * `take` until it returns false. Synchronous: nothing else uses the core meanwhile.
   */
  inflateZlib(parts: readonly Uint8Array[], take: (chunk: Uint8Array) => boolean): InflateOutcome {
    const core = this.#core;
    core.inflateBegin();
    let part = 0;
    let offset = 0;
    let held = 0;
    // Fills the window after the `held` bytes kept from the last one.
    const feed = (): void => {
      const window = new Uint8Array(core.memory.buffer, core.inflateInputPtr(), INFLATE_WINDOW);
      let n = held;
      while (n < INFLATE_WINDOW && part < parts.length) {
        const p = parts[part]!;
        const k = Math.min(INFLATE_WINDOW - n, p.length - offset);
        window.set(p.subarray(offset, offset + k), n);
        n += k;
        offset += k;
        if (offset === p.length) {
          part++;
          offset = 0;
        }
      }
      core.inflateFeed(n, part === parts.length ? 1 : 0);
      held = n;
    };
    feed();
    for (;;) {
      const r = core.inflateRun();
      if (r < 0) return r === -4 ? "truncated" : "corrupt";
      if (r === INFLATE_OUTPUT || r === INFLATE_DONE) {
        const start = core.inflateOutStart();
        const out = new Uint8Array(
          core.memory.buffer,
          core.inflateOutPtr() + start,
          core.inflateOutEnd() - start,
        );
        if (out.length > 0 && !take(out)) return "stopped";
        if (r === INFLATE_DONE) return "done";
        continue;
      }
      // More input: keep the unread tail at the window's start.
      const unread = core.inflateUnread();
      const window = new Uint8Array(core.memory.buffer, core.inflateInputPtr(), INFLATE_WINDOW);
      window.copyWithin(0, held - unread, held);
      held = unread;
      // The core asks for input only before the last window, so this always adds bytes or says last.
      feed();
    }
  }

  /**
   * Two row buffers of `bytes` each and a pixel row of `pixelBytes` for decoding PNG rows in the
   * core, or null if its memory cannot grow.
   */
  pngRowBuffers(bytes: number, pixelBytes: number): CoreRowBuffers | null {
    const base = this.#core.pngRowsBegin(bytes, pixelBytes);
    return base === 0 ? null : new CoreRowBuffers(this.#core, base, bytes, pixelBytes);
  }

  /** Current size of the core's linear memory (it grows for large images and never shrinks). */
  memoryBytes(): number {
    return coreMemoryBytes(this.#core);
  }

  /** Stages of the last hash() call (copies); only on an instance of the debug core. */
  stages(): PdqStages {
    const c = debugExports(this.#core);
    return {
      buffer64: new Float32Array(c.memory.buffer.slice(c.debugBufferPtr(), c.debugBufferPtr() + 64 * 64 * 4)),
      dct16: new Float32Array(c.memory.buffer.slice(c.debugDctPtr(), c.debugDctPtr() + 256 * 4)),
      median: c.debugMedian(),
      windowAlongRows: c.windowAlongRows(),
      windowAlongCols: c.windowAlongCols(),
    };
  }

  /** The 16x64 float32 DCT matrix the core uses (row-major); only on an instance of the debug core. */
  dctMatrix(): Float32Array {
    const c = debugExports(this.#core);
    const p = c.debugDctMatrixPtr();
    return new Float32Array(c.memory.buffer.slice(p, p + 16 * 64 * 4));
  }
}
