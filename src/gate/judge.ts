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
import { withDecodedImage } from "../image/decode.ts";
import { oneImageAtATime } from "../image/one-at-a-time.ts";
import { sniffImage } from "../image/sniff.ts";
import { ImageDecodeError } from "../image/types.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { loadPrefilters, matchDigestSets } from "../match/exact.ts";
import { loadPdqIndexes, matchPdq, pdqLists } from "../match/pdq.ts";
import type { MatchHit } from "../match/types.ts";
import { pdqHash } from "../pdq/worker.ts";
import type { FileSource } from "../scan/file-bytes.ts";
import type { ScannedFile, ScanResult } from "../scan/scan-upload.ts";
import type { GateConfig } from "./config.ts";

export interface FileJudgement {
  hits: MatchHit[];
  pdq?: { hash: string; quality: number };
  /** Why an image could not be PDQ-hashed (ImageDecodeError code, "too-many-images"), if it could not. */
  imageError?: string;
  /** Set when the file was not judged at all because the upload was already certain to be blocked. */
  skipped?: "block-certain";
}

/**
 * Prefilters and PDQ shards are megabytes, read once per isolate and version: their first load
 * gets this many binding timeouts, the per-request lookups one.
 */
const LIST_LOAD_TIMEOUTS = 6;

/**
 * Why a file leaves the gate without a perceptual verdict, or null. The one place that says
 * which judgements are "unscanned": recognised kinds the gate cannot hash (video, archives,
 * other image formats) add their reason here.
 */
export function unscannedReason(j: FileJudgement): string | null {
  return j.imageError ?? null;
}

/** Judges every file. A failing or slow binding throws ScanInfrastructureError (the caller applies FAIL_MODE). */
export async function judgeUpload(
  env: Env,
  cfg: GateConfig,
  lists: ListMeta[],
  scan: ScanResult,
): Promise<FileJudgement[]> {
  const t = cfg.bindingTimeoutMs;
  await viaBinding("KV", () => loadPrefilters(env.HASHES, lists), t * LIST_LOAD_TIMEOUTS);
  const exact = await viaBinding(
    "KV",
    () =>
      matchDigestSets(
        env.HASHES,
        lists,
        scan.files.map((f) => f.digests),
      ),
    t,
  );
  const out: FileJudgement[] = exact.map((hits) => ({ hits }));
  await dropAllowListed(env.DB, scan.files, out, t);
  if (pdqLists(lists).length === 0) return out;
  const blockCertain = out.some((j) => j.hits.some((h) => h.action === "block" && h.kind === "exact"));
  const images = scan.files.filter((f) => sniffImage(f.head) !== null).length;
  if (images > 0 && !blockCertain)
    await viaBinding("KV", () => loadPdqIndexes(env.HASHES, lists), t * LIST_LOAD_TIMEOUTS);
  let decoded = 0;
  const pdqHit: number[] = [];
  // One image at a time: images are decoded in memory, and one at a time keeps the isolate's peak bounded.
  for (const [i, file] of scan.files.entries()) {
    if (sniffImage(file.head) === null) continue;
    const j = out[i]!;
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
    if ("error" in image) {
      j.imageError = image.error;
      continue;
    }
    j.pdq = { hash: image.hash, quality: image.quality };
    const hits = await viaBinding("KV", () => matchPdq(env.HASHES, lists, image), t);
    if (hits.length > 0) pdqHit.push(i);
    j.hits.push(...hits);
  }
  if (pdqHit.length > 0) await dropAllowListed(env.DB, scan.files, out, t, pdqHit);
  return out;
}

type ImageResult = { hash: string; quality: number; dihedral: string[] } | { error: string };

/**
 * Decodes and PDQ-hashes one image. Time is bounded through size: Workers' clocks do not advance
 * during computation, so the bound is IMAGE_MAX_BYTES and IMAGE_MAX_PIXELS (checked from the
 * header before decoding), whose worst case the benchmark measures.
 */
async function hashImage(source: FileSource, file: ScannedFile, cfg: GateConfig): Promise<ImageResult> {
  if (file.size > cfg.imageMaxBytes) return { error: "too-large" };
  // The file's bytes are read inside the turn too, so waiting uploads hold no image in memory.
  return oneImageAtATime(async () => {
    try {
      const data = await source.bytes(file);
      const bytes =
        data instanceof Uint8Array ? data : new Uint8Array(await new Response(data).arrayBuffer());
      return await withDecodedImage(bytes, { maxPixels: cfg.imageMaxPixels }, pdqHash);
    } catch (e) {
      if (e instanceof ImageDecodeError) return { error: e.code };
      throw e;
    }
  });
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
