/**
 * Judges each file of a scanned upload: exact digests against the lists, and for images (when
 * some active list holds PDQ entries) decode → PDQ → near-duplicate search. Allow-list entries
 * (per file and per list) cancel the hits they cover.
 *
 * Budgets: Workers allow 1,000 subrequests and KV/D1 operations per invocation, so the cost of
 * an upload must not grow with its parts. The exact digests of all files are deduplicated and
 * read in bulk; the allow-list is one D1 query for the exact hits and one for the PDQ hits; once
 * an exact block hit stands, no further image is decoded (those files are `skipped`); and at most
 * IMAGE_MAX_PER_REQUEST images are decoded (CPU time), later ones being unscanned.
 */

import { allowRulesFor, isCancelled } from "../cases/allow-list.ts";
import type { Env } from "../env.ts";
import { viaBinding } from "../errors.ts";
import { withDecodedFrames } from "../image/decode.ts";
import { oneImageAtATime } from "../image/one-at-a-time.ts";
import { type Recognition, recognise, type UnscannedReason } from "../image/recognise.ts";
import { ImageDecodeError } from "../image/types.ts";
import { listKeyring } from "../lists/env-keyring.ts";
import type { ListKeyring } from "../lists/keyring.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { loadPrefilters, matchDigestSets } from "../match/exact.ts";
import { loadPdqIndexes, matchPdq, pdqLists } from "../match/pdq.ts";
import { type PdqShardRouting, type PdqShardSettings, pdqShardRouting } from "../match/pdq-remote.ts";
import type { MatchHit } from "../match/types.ts";
import type { PdqResult } from "../pdq/core.ts";
import { pdqHash } from "../pdq/worker.ts";
import { isolateBudget, type MemoryBudget } from "../scan/budget.ts";
import type { FileSource } from "../scan/file-bytes.ts";
import type { ScannedFile, ScanResult } from "../scan/scan-upload.ts";
import type { GateConfig } from "./config.ts";

export interface FileJudgement {
  hits: MatchHit[];
  /** PDQ of the first frame, or of the first frame that matched. */
  pdq?: { hash: string; quality: number };
  /** Why an image could not be PDQ-hashed (ImageDecodeError code, "too-many-images"), if it could not. */
  imageError?: string;
  /** Set when the file was not judged at all because the upload was already certain to be blocked. */
  skipped?: "block-certain";
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

/**
 * Prefilters and PDQ shards are megabytes, read once per isolate and version: their first load
 * gets this many binding timeouts, the per-request lookups one.
 */
export const LIST_LOAD_TIMEOUTS = 6;

/**
 * Why a file leaves the gate without a perceptual verdict, or null. The one place that says
 * which judgements are "unscanned": recognised kinds the gate cannot hash (video, archives,
 * other image formats) add their reason here.
 */
export function unscannedReason(j: FileJudgement): string | null {
  if (j.imageError) return j.imageError;
  return j.unscannedReason && j.unscannedReason !== "image-error" ? j.unscannedReason : null;
}

/** Judges every file. A failing or slow binding throws ScanInfrastructureError (the caller applies FAIL_MODE). */
export async function judgeUpload(
  env: Env,
  cfg: GateConfig,
  lists: ListMeta[],
  scan: ScanResult,
): Promise<FileJudgement[]> {
  const t = cfg.bindingTimeoutMs;
  const keys = () => listKeyring(env);
  await viaBinding("KV", () => loadPrefilters(env.HASHES, lists), t * LIST_LOAD_TIMEOUTS);
  const exact = await viaBinding(
    "KV",
    () =>
      matchDigestSets(
        env.HASHES,
        lists,
        scan.files.map((f) => f.digests),
        keys,
      ),
    t,
  );
  const out: FileJudgement[] = exact.map((hits, i) => ({ hits, recognised: recognise(scan.files[i]!.head) }));
  await dropAllowListed(env.DB, scan.files, out, t);
  if (pdqLists(lists).length === 0) return out;
  const blockCertain = out.some((j) => j.hits.some((h) => h.action === "block" && h.kind === "exact"));
  const images = out.filter((j) => j.recognised?.kind === "image").length;
  const shards = pdqShardRouting(env as PdqShardSettings, t, t * LIST_LOAD_TIMEOUTS);
  if (images > 0 && !blockCertain)
    await viaBinding(
      "KV",
      () => loadPdqIndexes(env.HASHES, lists, keys, isolateBudget(cfg.isolateMemoryBytes), shards),
      t * LIST_LOAD_TIMEOUTS,
    );
  let decoded = 0;
  const pdqHit: number[] = [];
  // One image at a time: images are decoded in memory, and one at a time keeps the isolate's peak bounded.
  for (const [i, file] of scan.files.entries()) {
    const j = out[i]!;
    const recognised = j.recognised!;
    if (recognised.kind !== "image") {
      if (recognised.reason) {
        j.unscannedReason = recognised.reason;
        // An image format that cannot be hashed follows IMAGE_FAILURE_POLICY like an undecodable one.
        if (recognised.kind === "image-unhashable") j.imageError = "unsupported";
      }
      continue;
    }
    if (blockCertain) {
      j.skipped = "block-certain";
      continue;
    }
    if (decoded >= cfg.imageMaxPerRequest) {
      j.imageError = "too-many-images";
      continue;
    }
    decoded++;
    const image = await hashImage(scan.source, file, cfg);
    const before = j.hits.length;
    await matchFrames(env, lists, image, j, t, keys, isolateBudget(cfg.isolateMemoryBytes), shards);
    if (j.imageError && j.hits.length === before) j.unscannedReason = "image-error";
    if (j.hits.length > before) pdqHit.push(i);
  }
  if (pdqHit.length > 0) await dropAllowListed(env.DB, scan.files, out, t, pdqHit);
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
async function matchFrames(
  env: Env,
  lists: ListMeta[],
  image: ImageResult,
  j: FileJudgement,
  timeoutMs: number,
  keys: () => Promise<ListKeyring>,
  budget: MemoryBudget,
  shards: PdqShardRouting | null,
): Promise<void> {
  if (image.error) j.imageError = image.error;
  const animated = image.frames.length > 1;
  if (animated) j.frames = image.frames.length;
  const first = image.frames[0];
  if (first) j.pdq = { hash: first.pdq.hash, quality: first.pdq.quality };
  const seen = new Set<string>();
  for (const { index, pdq } of image.frames) {
    if (seen.has(pdq.hash)) continue;
    seen.add(pdq.hash);
    const hits = await viaBinding(
      "KV",
      () => matchPdq(env.HASHES, lists, pdq, keys, budget, shards),
      timeoutMs,
    );
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
 * header before decoding), whose worst case the benchmark measures. Memory: the decode reserves
 * what the header says it will map from the isolate's budget before mapping it. If the budget
 * cannot cover it the image is not decoded ("too-large", then IMAGE_FAILURE_POLICY): it does not
 * wait, because decodes run one at a time and the memory it would wait for is held by uploads
 * whose own images queue behind it.
 */
async function hashImage(source: FileSource, file: ScannedFile, cfg: GateConfig): Promise<ImageResult> {
  if (file.size > cfg.imageMaxBytes) return { frames: [], error: "too-large" };
  // The file's bytes are read inside the turn too, so waiting uploads hold no image in memory.
  return oneImageAtATime(async () => {
    const budget = isolateBudget(cfg.isolateMemoryBytes);
    let reserved = 0;
    const reserve = (n: number) => reserveForImage(budget, n, () => (reserved += n));
    try {
      const data = await source.bytes(file);
      const bytes =
        data instanceof Uint8Array ? data : new Uint8Array(await new Response(data).arrayBuffer());
      const { frames, error } = await withDecodedFrames(
        bytes,
        { maxPixels: cfg.imageMaxPixels, reserve },
        pdqHash,
      );
      return {
        frames: frames.map(({ index, value }) => ({ index, pdq: value })),
        ...(error ? { error: error.code } : {}),
      };
    } catch (e) {
      if (e instanceof ImageDecodeError) return { frames: [], error: e.code };
      throw e;
    } finally {
      budget.give(reserved);
    }
  });
}

function reserveForImage(budget: MemoryBudget, n: number, taken: () => void): void {
  if (!budget.tryTake(n)) {
    throw new ImageDecodeError(
      "too-large",
      `decode needs ${n} bytes; the isolate's memory budget has ${budget.limit - budget.inUse} left`,
    );
  }
  taken();
}

/**
 * Removes the hits that allow-list entries cancel, for the files given (default: every file
 * with a hit), in one D1 query. If D1 cannot answer, the hits stand: a known false positive
 * blocked again is the safe failure.
 */
async function dropAllowListed(
  db: D1Database,
  files: ScannedFile[],
  judged: FileJudgement[],
  timeoutMs: number,
  only?: number[],
): Promise<void> {
  const which = (only ?? judged.map((_, i) => i)).filter((i) => judged[i]!.hits.length > 0);
  if (which.length === 0) return;
  const digestsOf = (i: number) => ({
    ...files[i]!.digests,
    ...(judged[i]!.pdq ? { pdq: judged[i]!.pdq!.hash } : {}),
  });
  try {
    const rules = await viaBinding("D1", () => allowRulesFor(db, which.map(digestsOf)), timeoutMs);
    if (rules.length === 0) return;
    for (const i of which) {
      const j = judged[i]!;
      j.hits = j.hits.filter((h) => !isCancelled(rules, digestsOf(i), h));
    }
  } catch (e) {
    console.error("hashgate: allow-list check failed; hits stand", e);
  }
}
