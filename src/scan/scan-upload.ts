/**
 * Reads an upload body once, as a stream: holds it (memory or R2 spool), splits
 * multipart/form-data into parts, and digests every part (or the whole body) on the way.
 */
import { AppError } from "../errors.ts";
import { readBlocks } from "./blocks.ts";
import { type DigestAlgo, DigestSet, type Digests } from "./digests.ts";
import type { BodyHold, HeldBody } from "./hold.ts";
import { boundaryOf, MultipartParser } from "./multipart.ts";

/** Bytes of each file kept for type sniffing. */
const HEAD_BYTES = 64;
/** Most parts accepted in one multipart body. */
export const MAX_PARTS = 1000;

/** One file of an upload: a multipart part, or the whole body. */
export interface ScannedFile {
  index: number;
  /** Form field name ("" for a non-multipart body). */
  field: string;
  filename: string | null;
  declaredType: string | null;
  /** Offsets of the file's bytes in the held body: [start, end). */
  start: number;
  end: number;
  /** First bytes of the file, for sniffing its type. */
  head: Uint8Array;
  digests: Digests;
}

export interface ScanResult {
  body: HeldBody;
  files: ScannedFile[];
  /** Peak bytes held in memory while reading (for tests and benchmarks). */
  peakBuffered: number;
}

export interface ScanOptions {
  algos: DigestAlgo[];
  maxBodyBytes: number;
  maxPartHeaderBytes: number;
  hold: BodyHold;
}

/** Checks a declared Content-Length against the maximum before reading anything. */
export function declaredLength(headers: Headers, maxBodyBytes: number): number | null {
  const raw = headers.get("content-length");
  if (raw === null) return null;
  if (!/^\d{1,15}$/.test(raw.trim())) throw new AppError("bad_request", "invalid Content-Length");
  const n = Number(raw.trim());
  if (n > maxBodyBytes) throw tooLarge(maxBodyBytes);
  return n;
}

function tooLarge(max: number): AppError {
  return new AppError("body_too_large", `upload larger than the ${max}-byte limit`);
}

class FileDigest {
  readonly set: DigestSet;
  readonly file: ScannedFile;
  private headFill = 0;
  constructor(file: ScannedFile, algos: DigestAlgo[]) {
    this.file = file;
    this.set = new DigestSet(algos);
  }
  async update(bytes: Uint8Array): Promise<void> {
    if (this.headFill < HEAD_BYTES) {
      const take = bytes.subarray(0, HEAD_BYTES - this.headFill);
      this.file.head.set(take, this.headFill);
      this.headFill += take.length;
    }
    await this.set.update(bytes);
  }
  async finish(end: number): Promise<void> {
    this.file.end = end;
    this.file.digests = await this.set.finish();
    this.file.head = this.file.head.subarray(0, this.headFill);
  }
}

function newFile(index: number, start: number, field: string, filename: string | null, type: string | null) {
  return {
    index,
    field,
    filename,
    declaredType: type,
    start,
    end: start,
    head: new Uint8Array(HEAD_BYTES),
    digests: {},
  };
}

/** Scans a request body. Throws AppError for bad input; binding failures propagate. */
export async function scanUpload(request: Request, opts: ScanOptions): Promise<ScanResult> {
  const declared = declaredLength(request.headers, opts.maxBodyBytes);
  if (declared !== null) opts.hold.declareLength(declared);
  const contentType = request.headers.get("content-type") ?? "";
  const isMultipart = /^multipart\/form-data\b/i.test(contentType.trim());
  const parser = isMultipart
    ? new MultipartParser(boundaryOf(contentType), {
        maxHeaderBytes: opts.maxPartHeaderBytes,
        maxParts: MAX_PARTS,
      })
    : null;
  const files: ScannedFile[] = [];
  let current: FileDigest | null = parser
    ? null
    : new FileDigest(newFile(0, 0, "", null, contentType || null), opts.algos);
  let total = 0;
  try {
    for await (const value of request.body ? readBlocks(request.body) : []) {
      total += value.length;
      if (total > opts.maxBodyBytes) throw tooLarge(opts.maxBodyBytes);
      if (declared !== null && total > declared) throw lengthMismatch();
      await opts.hold.append(value);
      if (!parser) {
        await current!.update(value);
        continue;
      }
      for (const ev of parser.push(value)) {
        if (ev.type === "part-start") {
          const h = ev.headers;
          current = new FileDigest(
            newFile(files.length, ev.contentStart, h.field, h.filename, h.contentType),
            opts.algos,
          );
        } else if (ev.type === "data") {
          await current!.update(ev.bytes);
        } else {
          await current!.finish(ev.contentEnd);
          files.push(current!.file);
          current = null;
        }
      }
    }
    if (declared !== null && total !== declared) throw lengthMismatch();
    if (parser) {
      parser.finish();
    } else if (total > 0) {
      await current!.finish(total);
      files.push(current!.file);
    }
    const body = await opts.hold.close();
    return { body, files, peakBuffered: opts.hold.peakBuffered };
  } catch (e) {
    await request.body?.cancel().catch(() => undefined);
    await opts.hold.abort();
    throw e;
  }
}

function lengthMismatch(): AppError {
  return new AppError("length_mismatch", "body length does not match Content-Length");
}
