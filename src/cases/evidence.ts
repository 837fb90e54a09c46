/**
 * Preserves a matched upload in R2: the case's metadata first (`upload.json`), then the exact
 * bytes of every matched file. Keys are built from the case id and the file's index only, so
 * nothing the uploader sends (a filename, a field name) can steer where evidence is written.
 */
import { viaBinding } from "../errors.ts";
import type { FileSource } from "../scan/file-bytes.ts";
import type { ScannedFile } from "../scan/scan-upload.ts";
import { byRank, MAX_LISTED_INDICES } from "./message-size.ts";
import type { FileCount, MatchedFile, MatchMessage } from "./messages.ts";

/**
 * Distinct files whose bytes one case keeps. Each costs an R2 put (and an R2 read when the body
 * was spooled) against Workers' 1,000 subrequests per invocation: 50 keeps a case of any size
 * near 100. Copies (same digests) share one object; files beyond are listed in `upload.json`
 * with their digests and counted in the case (`evidenceNotKept`), so the match is not lost.
 */
export const MAX_EVIDENCE_FILES = 50;
/** Slowest transfer an R2 write may make before it counts as failed: 1 MB/s, far below R2's. */
const R2_MIN_BYTES_PER_MS = 1_000;

/** Time an R2 write of `bytes` may take: the binding timeout (BINDING_TIMEOUT_MS) plus the transfer at R2_MIN_BYTES_PER_MS. */
export function r2PutTimeoutMs(bytes: number, baseMs: number): number {
  return baseMs + Math.ceil(bytes / R2_MIN_BYTES_PER_MS);
}

/**
 * Gives each case file its evidence key: the first copy of each distinct file (by its digests)
 * up to MAX_EVIDENCE_FILES owns one, later copies share it, the rest get null. Returns what was
 * not kept.
 */
export function assignEvidence(caseId: string, files: MatchedFile[]): FileCount | undefined {
  const owners = new Map<string, string>();
  const notKept: number[] = [];
  for (const f of byRank(files)) {
    const id = JSON.stringify(Object.entries(f.digests).sort());
    let key = owners.get(id);
    if (key === undefined && owners.size < MAX_EVIDENCE_FILES) {
      key = evidenceFileKey(caseId, f.index);
      owners.set(id, key);
    }
    f.evidenceKey = key ?? null;
    if (key === undefined) notKept.push(f.index);
  }
  notKept.sort((a, b) => a - b);
  return notKept.length > 0
    ? { count: notKept.length, indices: notKept.slice(0, MAX_LISTED_INDICES) }
    : undefined;
}

export function evidencePrefix(caseId: string): string {
  return `evidence/${caseId}/`;
}

export function evidenceFileKey(caseId: string, index: number): string {
  return `${evidencePrefix(caseId)}file-${index}`;
}

export function evidenceMetaKey(caseId: string): string {
  return `${evidencePrefix(caseId)}upload.json`;
}

/**
 * Writes the complete case message (`upload.json`, not cut to the queue's size) and the bytes
 * of each file that owns its evidence key (see assignEvidence). R2 failures and timeouts
 * propagate as ScanInfrastructureError.
 */
export async function preserveEvidence(
  bucket: R2Bucket,
  message: MatchMessage,
  source: FileSource,
  files: ScannedFile[],
  timeoutMs: number,
): Promise<void> {
  const meta = JSON.stringify(message);
  await viaBinding(
    "R2",
    () =>
      bucket.put(evidenceMetaKey(message.caseId), meta, {
        httpMetadata: { contentType: "application/json" },
      }),
    r2PutTimeoutMs(meta.length, timeoutMs),
  );
  for (const mf of message.files) {
    if (mf.evidenceKey !== evidenceFileKey(message.caseId, mf.index)) continue;
    const key = mf.evidenceKey;
    const file = files[mf.index]!;
    const size = file.size;
    const bytes = await viaBinding("R2", () => source.bytes(file), r2PutTimeoutMs(size, timeoutMs));
    await viaBinding(
      "R2",
      () =>
        bucket.put(key, knownLength(bytes, size), {
          httpMetadata: { contentType: "application/octet-stream" },
          customMetadata: {
            caseId: message.caseId,
            field: mf.field.slice(0, 200),
            filename: (mf.filename ?? "").slice(0, 200),
            sha256: mf.digests.sha256 ?? "",
          },
          ...(mf.digests.md5 ? { md5: mf.digests.md5 } : {}),
        }),
      r2PutTimeoutMs(size, timeoutMs),
    );
  }
}

/** R2 needs a stream of known length: wrap a range stream in a FixedLengthStream. */
function knownLength(
  data: ReadableStream<Uint8Array> | Uint8Array,
  size: number,
): ReadableStream | Uint8Array {
  if (data instanceof Uint8Array) return data;
  const fixed = new FixedLengthStream(size);
  data.pipeTo(fixed.writable).catch(() => undefined);
  return fixed.readable;
}
