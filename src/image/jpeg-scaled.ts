/// <reference path="../wasm.d.ts" />
/**
 * JPEG for PDQ: only the luma, decoded at the largest DCT reduction (1/8, 1/4, 1/2) that keeps
 * the shorter side at or above 512 pixels, by hashgate's WASM core (wasm/assembly/jpeg*.ts).
 *
 * Why our own decoder: PDQ reduces every image to 64x64, so a 48-megapixel photo needs about
 * 0.75 megapixels of luma. libjpeg-turbo can decode scaled, but the one build that runs in
 * workerd as a module import (jSquash's, @jsquash/jpeg 1.6.0) exposes no scale option and
 * returns a full-size RGBA copy (a 12 MP photo peaks near 100 MB against an isolate's 128 MB).
 * The core decodes the luma component straight into a plane the size of the output (chroma is
 * entropy-decoded only to advance), reads the file through a 64 KiB window, and its memory is
 * known from the headers before anything is mapped. Measured against full decoding in
 * test/image/jpeg-scaled.test.ts and bench/pdq.ts.
 */
import type { JpegLumaOptions } from "../pdq/core.ts";
import { PdqHasher } from "../pdq/core.ts";
import { readJpegStructure } from "./jpeg-markers.ts";
import { type DecodedImage, ImageDecodeError } from "./types.ts";
import { compileWasmFile, isWorkerd } from "./wasm-loading.ts";

/** Shorter side the reduced luma keeps (the gate's hashes stay within a few bits of full resolution above it). */
export const PDQ_SHORT_SIDE = 512;
// Encoders write ≤ ~20 scans (libjpeg's default progressive script has 10). Each scan costs a
// pass over the blocks, so thousands of tiny scans are a CPU bomb; TurboJPEG's own guard is 500.
const MAX_SCANS = 200;
/**
 * Most memory one decode may map, whoever calls (the gate also reserves it from the isolate's
 * budget first): a few bytes cannot claim 65535 x 65535 pixels and make the core map 64 MiB
 * or more for them. A 250-megapixel photo needs about 4 MiB at scale 1/8.
 */
export const MAX_DECODE_BYTES = 48 * 1024 * 1024;
/** The hasher's strip buffer (1 MiB) and blur rows of a reduced image, rounded up. */
const HASH_WORKSPACE_BYTES = 2 * 1024 * 1024;

let nodeHasher: Promise<PdqHasher> | undefined;

/**
 * The isolate's core instance (the PDQ hasher's, so decode and hash share one linear memory).
 * In Node (CLI, benchmarks) one instance per process, compiled from wasm/build/core.wasm.
 */
export async function coreHasher(): Promise<PdqHasher> {
  if (isWorkerd()) return (await import("../pdq/worker.ts")).pdqHasher();
  nodeHasher ??= (async () =>
    PdqHasher.fromModule(await compileWasmFile(new URL("../../wasm/build/core.wasm", import.meta.url))))();
  return nodeHasher;
}

/** Decodes a JPEG's luma, reduced for PDQ: a one-channel image whose shorter side is >= 512 where the file's is. */
export async function decodeJpegScaled(
  bytes: Uint8Array,
  opts: Partial<JpegLumaOptions> = {},
): Promise<DecodedImage> {
  const structure = readJpegStructure(bytes, MAX_SCANS);
  if (!structure.ok) throw new ImageDecodeError(structure.reason, structure.detail);
  const hasher = await coreHasher();
  const r = hasher.decodeJpegLuma(bytes, structure.segments, {
    shortSide: opts.shortSide ?? PDQ_SHORT_SIDE,
    reserve: (work: number) => {
      if (work > MAX_DECODE_BYTES) {
        throw new ImageDecodeError(
          "too-large",
          `JPEG decode would map ${work} bytes (limit ${MAX_DECODE_BYTES})`,
        );
      }
      // The core's work area, the plane's copy handed to the hasher, the hash's strip and blur rows.
      opts.reserve?.(2 * work + HASH_WORKSPACE_BYTES);
    },
  });
  if (!r.ok) throw new ImageDecodeError(r.failure, `JPEG luma decode: ${r.failure}`);
  return r.image;
}
