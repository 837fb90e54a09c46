/**
 * Judges each file of a scanned upload: exact digests against the lists, and for images (when
 * some active list holds PDQ entries) decode → PDQ → near-duplicate search. Files a reviewer
 * allow-listed as false positives lose their hits.
 */
import type { GateConfig } from "../config.ts";
import type { Env } from "../env.ts";
import { viaBinding } from "../errors.ts";
import { withDecodedFrames } from "../image/decode.ts";
import { oneImageAtATime } from "../image/one-at-a-time.ts";
import { type Recognition, recognise, type UnscannedReason } from "../image/recognise.ts";
import { ImageDecodeError } from "../image/types.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { matchDigests } from "../match/exact.ts";
import { matchPdq, pdqLists } from "../match/pdq.ts";
import type { MatchHit } from "../match/types.ts";
import type { PdqResult } from "../pdq/core.ts";
import { pdqHash } from "../pdq/worker.ts";
import { isAllowListed } from "../review/allow-list.ts";
import type { HeldBody } from "../scan/hold.ts";
import type { ScannedFile, ScanResult } from "../scan/scan-upload.ts";

export interface FileJudgement {
  hits: MatchHit[];
  /** PDQ of the first frame, or of the first frame that matched. */
  pdq?: { hash: string; quality: number };
  /** Why an image could not be PDQ-hashed (ImageDecodeError code), if it could not. */
  imageError?: string;
  /** Frames hashed, for an animated image (more than one). */
  frames?: number;
  /** What the file is, from its bytes (image/recognise.ts). */
  recognised?: Recognition;
  /**
   * Set when PDQ lists are active and the file was not hashed perceptually: a recognised image
   * format no decoder here reads, a video, an archive (whose contents are not opened), or
   * "image-error" for an image whose decoding failed (`imageError` says how).
   */
  unscannedReason?: UnscannedReason | "image-error";
}

/** Judges every file. A failing KV read throws ScanInfrastructureError (the caller applies FAIL_MODE). */
export async function judgeUpload(
  env: Env,
  cfg: GateConfig,
  lists: ListMeta[],
  scan: ScanResult,
): Promise<FileJudgement[]> {
  const withPdq = pdqLists(lists).length > 0;
  const out: FileJudgement[] = [];
  // One file at a time: images are decoded in memory, and one at a time keeps the isolate's peak bounded.
  for (const file of scan.files) {
    const hits = await viaBinding("KV", () => matchDigests(env.HASHES, lists, file.digests));
    const recognised = recognise(file.head);
    const j: FileJudgement = { hits, recognised };
    if (withPdq && recognised.kind === "image") {
      const image = await hashImage(scan.body, file, cfg);
      await matchFrames(env, lists, image, j);
      if (j.imageError && j.hits.length === 0) j.unscannedReason = "image-error";
    } else if (withPdq && recognised.reason) {
      j.unscannedReason = recognised.reason;
      // An image format that cannot be hashed follows IMAGE_FAILURE_POLICY like an undecodable one.
      if (recognised.kind === "image-unhashable") j.imageError = "unsupported";
    }
    out.push(j);
  }
  await dropAllowListed(env.DB, scan.files, out);
  return out;
}

/** The PDQ of each hashed frame (one for a still image), and why decoding stopped early, if it did. */
interface ImageResult {
  frames: { index: number; pdq: PdqResult }[];
  error?: string;
}

/**
 * Matches the frames' hashes: a hit in any frame is a hit of the file (tagged with its frame
 * when the image is animated). Frames whose hash was already looked up are skipped, and so are
 * the frames after the first that matched. An error that ended decoding stays on the file even
 * when earlier frames were clean: what was not read is not called clean.
 */
async function matchFrames(env: Env, lists: ListMeta[], image: ImageResult, j: FileJudgement): Promise<void> {
  if (image.error) j.imageError = image.error;
  const animated = image.frames.length > 1;
  if (animated) j.frames = image.frames.length;
  const first = image.frames[0];
  if (first) j.pdq = { hash: first.pdq.hash, quality: first.pdq.quality };
  const seen = new Set<string>();
  for (const { index, pdq } of image.frames) {
    if (seen.has(pdq.hash)) continue;
    seen.add(pdq.hash);
    const hits = await viaBinding("KV", () => matchPdq(env.HASHES, lists, pdq));
    if (hits.length === 0) continue;
    j.pdq = { hash: pdq.hash, quality: pdq.quality };
    j.hits.push(...(animated ? hits.map((h) => ({ ...h, frame: index })) : hits));
    return;
  }
}

/**
 * Decodes and PDQ-hashes one image, every hashed frame of an animation (image/frames.ts, which
 * bounds frames and canvas). Time is bounded through size: Workers' clocks do not advance
 * during computation, so the bound is IMAGE_MAX_BYTES and IMAGE_MAX_PIXELS (checked from the
 * header before decoding), whose worst case the benchmark measures.
 */
async function hashImage(body: HeldBody, file: ScannedFile, cfg: GateConfig): Promise<ImageResult> {
  const size = file.end - file.start;
  if (size > cfg.imageMaxBytes) return { frames: [], error: "too-large" };
  // The file's bytes are read inside the turn too, so waiting uploads hold no image in memory.
  return oneImageAtATime(async () => {
    try {
      const data = await body.range(file.start, file.end);
      const bytes =
        data instanceof Uint8Array ? data : new Uint8Array(await new Response(data).arrayBuffer());
      const { frames, error } = await withDecodedFrames(bytes, { maxPixels: cfg.imageMaxPixels }, pdqHash);
      return {
        frames: frames.map(({ index, value }) => ({ index, pdq: value })),
        ...(error ? { error: error.code } : {}),
      };
    } catch (e) {
      if (e instanceof ImageDecodeError) return { frames: [], error: e.code };
      throw e;
    }
  });
}

/**
 * Clears the hits of files a reviewer allow-listed as false positives. Only files with hits
 * cost a D1 read. If D1 cannot answer, the hits stand: a known false positive blocked again is
 * the safe failure.
 */
async function dropAllowListed(db: D1Database, files: ScannedFile[], judged: FileJudgement[]): Promise<void> {
  await Promise.all(
    files.map(async (f, i) => {
      const j = judged[i]!;
      if (j.hits.length === 0) return;
      try {
        if (await isAllowListed(db, { ...f.digests, ...(j.pdq ? { pdq: j.pdq.hash } : {}) })) j.hits = [];
      } catch (e) {
        console.error("hashgate: allow-list check failed; hits stand", e);
      }
    }),
  );
}
