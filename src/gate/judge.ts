/**
 * Judges each file of a scanned upload: exact digests against the lists, and for images (when
 * some active list holds PDQ entries) decode → PDQ → near-duplicate search. Files a reviewer
 * allow-listed as false positives lose their hits.
 */
import type { GateConfig } from "../config.ts";
import type { Env } from "../env.ts";
import { viaBinding } from "../errors.ts";
import { withDecodedImage } from "../image/decode.ts";
import { oneImageAtATime } from "../image/one-at-a-time.ts";
import { sniffImage } from "../image/sniff.ts";
import { ImageDecodeError } from "../image/types.ts";
import { listKeyring } from "../lists/env-keyring.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { matchDigests } from "../match/exact.ts";
import { matchPdq, pdqLists } from "../match/pdq.ts";
import type { MatchHit } from "../match/types.ts";
import { pdqHash } from "../pdq/worker.ts";
import { isAllowListed } from "../review/allow-list.ts";
import type { HeldBody } from "../scan/hold.ts";
import type { ScannedFile, ScanResult } from "../scan/scan-upload.ts";

export interface FileJudgement {
  hits: MatchHit[];
  pdq?: { hash: string; quality: number };
  /** Why an image could not be PDQ-hashed (ImageDecodeError code), if it could not. */
  imageError?: string;
}

/** Judges every file. A failing KV read throws ScanInfrastructureError (the caller applies FAIL_MODE). */
export async function judgeUpload(
  env: Env,
  cfg: GateConfig,
  lists: ListMeta[],
  scan: ScanResult,
): Promise<FileJudgement[]> {
  const withPdq = pdqLists(lists).length > 0;
  const keys = () => listKeyring(env);
  const out: FileJudgement[] = [];
  // One file at a time: images are decoded in memory, and one at a time keeps the isolate's peak bounded.
  for (const file of scan.files) {
    const hits = await viaBinding("KV", () => matchDigests(env.HASHES, lists, file.digests, keys));
    const j: FileJudgement = { hits };
    if (withPdq && sniffImage(file.head) !== null) {
      const image = await hashImage(scan.body, file, cfg);
      if ("error" in image) j.imageError = image.error;
      else {
        j.pdq = { hash: image.hash, quality: image.quality };
        j.hits.push(...(await viaBinding("KV", () => matchPdq(env.HASHES, lists, image, keys))));
      }
    }
    out.push(j);
  }
  await dropAllowListed(env.DB, scan.files, out);
  return out;
}

type ImageResult = { hash: string; quality: number; dihedral: string[] } | { error: string };

/**
 * Decodes and PDQ-hashes one image. Time is bounded through size: Workers' clocks do not advance
 * during computation, so the bound is IMAGE_MAX_BYTES and IMAGE_MAX_PIXELS (checked from the
 * header before decoding), whose worst case the benchmark measures.
 */
async function hashImage(body: HeldBody, file: ScannedFile, cfg: GateConfig): Promise<ImageResult> {
  const size = file.end - file.start;
  if (size > cfg.imageMaxBytes) return { error: "too-large" };
  // The file's bytes are read inside the turn too, so waiting uploads hold no image in memory.
  return oneImageAtATime(async () => {
    try {
      const data = await body.range(file.start, file.end);
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
