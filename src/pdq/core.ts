/**
 * The one file that touches the WebAssembly core's memory (wasm/assembly/index.ts is the ABI).
 * Pixels (a strip of rows at a time) and hashes are copied into buffers whose addresses the
 * module hands out; results are read back from its fixed output buffers. Works with a compiled WebAssembly.Module, so the
 * Worker can import the .wasm as a module and Node can compile it from the file.
 */

import { toHex } from "../bytes.ts";
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
  debugBufferPtr(): number;
  debugDctPtr(): number;
  debugMedian(): number;
  debugDctMatrixPtr(): number;
  indexReserve(n: number): number;
  stagingPtr(): number;
  stagingCapacity(): number;
  indexAppend(k: number): number;
  indexBase(): number;
  queryPtr(): number;
  search(nQueries: number, threshold: number): number;
  resultDistance(): number;
  resultQuery(): number;
}

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

/** Intermediate stages of the last hash, for stage-by-stage tests against the reference. */
export interface PdqStages {
  buffer64: Float32Array;
  dct16: Float32Array;
  median: number;
  windowAlongRows: number;
  windowAlongCols: number;
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

  /** Current size of the core's linear memory (it grows for large images and never shrinks). */
  memoryBytes(): number {
    return this.#core.memory.buffer.byteLength;
  }

  /** Stages of the last hash() call (copies). */
  stages(): PdqStages {
    const c = this.#core;
    return {
      buffer64: new Float32Array(c.memory.buffer.slice(c.debugBufferPtr(), c.debugBufferPtr() + 64 * 64 * 4)),
      dct16: new Float32Array(c.memory.buffer.slice(c.debugDctPtr(), c.debugDctPtr() + 256 * 4)),
      median: c.debugMedian(),
      windowAlongRows: c.windowAlongRows(),
      windowAlongCols: c.windowAlongCols(),
    };
  }

  /** The 16x64 float32 DCT matrix the core uses (row-major). */
  dctMatrix(): Float32Array {
    const p = this.#core.debugDctMatrixPtr();
    return new Float32Array(this.#core.memory.buffer.slice(p, p + 16 * 64 * 4));
  }
}
