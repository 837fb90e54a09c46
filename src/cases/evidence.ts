/**
 * Preserves a matched upload in R2: the case's metadata first (`upload.json`), then the exact
 * bytes of every matched file. Keys are built from the case id and the file's index only, so
 * nothing the uploader sends (a filename, a field name) can steer where evidence is written.
 */
import { viaBinding } from "../errors.ts";
import type { HeldBody } from "../scan/hold.ts";
import type { ScannedFile } from "../scan/scan-upload.ts";
import type { MatchMessage } from "./messages.ts";

export function evidencePrefix(caseId: string): string {
  return `evidence/${caseId}/`;
}

export function evidenceFileKey(caseId: string, index: number): string {
  return `${evidencePrefix(caseId)}file-${index}`;
}

export function evidenceMetaKey(caseId: string): string {
  return `${evidencePrefix(caseId)}upload.json`;
}

/** Writes the case metadata and the matched files' bytes. R2 failures propagate as ScanInfrastructureError. */
export async function preserveEvidence(
  bucket: R2Bucket,
  message: MatchMessage,
  body: HeldBody,
  files: ScannedFile[],
): Promise<void> {
  await viaBinding("R2", () =>
    bucket.put(evidenceMetaKey(message.caseId), JSON.stringify(message), {
      httpMetadata: { contentType: "application/json" },
    }),
  );
  for (const mf of message.files) {
    const file = files[mf.index]!;
    const bytes = await body.range(file.start, file.end);
    const size = file.end - file.start;
    await viaBinding("R2", () =>
      bucket.put(mf.evidenceKey, knownLength(bytes, size), {
        httpMetadata: { contentType: "application/octet-stream" },
        customMetadata: {
          caseId: message.caseId,
          field: mf.field.slice(0, 200),
          filename: (mf.filename ?? "").slice(0, 200),
          sha256: mf.digests.sha256 ?? "",
        },
        ...(mf.digests.md5 ? { md5: mf.digests.md5 } : {}),
      }),
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
