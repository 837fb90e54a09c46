/**
 * Reads an upload body once, as a stream: holds it as it came (memory or R2 spool), decodes
 * its Content-Encoding, splits multipart/form-data into parts, digests every part (or the whole
 * body) on the way, and finds files carried as text (base64, `data:` URLs) in JSON bodies, form
 * bodies and text fields.
 */

import { AppError } from "../errors.ts";
import { contentDecoders } from "./content-encoding.ts";
import { tooLarge, UploadContent } from "./content-stream.ts";
import { multipartBoundary } from "./content-type.ts";
import type { DigestAlgo } from "./digests.ts";
import { type FileSource, fileSource } from "./file-bytes.ts";
import type { BodyHold, HeldBody } from "./hold.ts";
import { DEFAULT_MAX_DECODE_RATIO, DEFAULT_MAX_TEXT_FILES, DEFAULT_MIN_TEXT_FILE_BYTES } from "./limits.ts";
import { MultipartParser, type PartHeaders } from "./multipart.ts";
import { FileDigest, newFile, type ScannedFile } from "./scanned-file.ts";
import { TextFiles, type TextKind, TextScanner } from "./text-files.ts";

export type { ScannedFile } from "./scanned-file.ts";

/** Most parts accepted in one multipart body. */
export const MAX_PARTS = 1000;

export interface ScanResult {
  /** The body as it came: what is forwarded. */
  body: HeldBody;
  files: ScannedFile[];
  /** Where each file's bytes are read back from (decoded again when they were encoded). */
  source: FileSource;
  /** Peak bytes held in memory while reading (for tests and benchmarks). */
  peakBuffered: number;
}

export interface ScanOptions {
  algos: DigestAlgo[];
  maxBodyBytes: number;
  maxPartHeaderBytes: number;
  hold: BodyHold;
  /** Largest decoded/encoded size ratio of an encoded body (MAX_DECODE_RATIO). */
  maxDecodeRatio?: number;
  /** Text values decoding to at least this many bytes are files (MIN_TEXT_FILE_BYTES). */
  minTextFileBytes?: number;
  /** Most files found in text values per upload (MAX_TEXT_FILES). */
  maxTextFiles?: number;
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

/** What kind of text a body of this Content-Type is, for files carried as text. */
function textKindOf(contentType: string): TextKind {
  const essence = contentType.split(";")[0]!.trim().toLowerCase();
  if (essence === "application/json" || essence.endsWith("+json")) return "json";
  if (essence === "application/x-www-form-urlencoded") return "form";
  if (essence === "text/plain") return "field";
  return "body";
}

/**
 * A part's own Content-Encoding: no form parser decodes it, but an application might, and the
 * gate would have judged the encoded bytes. Refused like an encoding the gate cannot decode.
 */
function checkPartEncoding(h: PartHeaders): void {
  const ce = h.raw.get("content-encoding");
  if (ce !== undefined && ce.trim().toLowerCase() !== "identity") {
    throw new AppError(
      "unsupported_encoding",
      "a part of the upload has a Content-Encoding",
      ce.slice(0, 40),
    );
  }
}

/** Scans a request body. Throws AppError for bad input; binding failures propagate. */
export async function scanUpload(request: Request, opts: ScanOptions): Promise<ScanResult> {
  const declared = declaredLength(request.headers, opts.maxBodyBytes);
  const decoders = contentDecoders(request.headers);
  if (declared !== null) opts.hold.declareLength(declared);
  const contentType = request.headers.get("content-type") ?? "";
  // Every multipart/* type is split into parts (origins parse multipart/mixed and related too).
  const boundary = multipartBoundary(contentType);
  const parser =
    boundary === null
      ? null
      : new MultipartParser(boundary, { maxHeaderBytes: opts.maxPartHeaderBytes, maxParts: MAX_PARTS });
  const files: ScannedFile[] = [];
  const text = new TextFiles({
    algos: opts.algos,
    minBytes: opts.minTextFileBytes ?? DEFAULT_MIN_TEXT_FILE_BYTES,
    maxFiles: opts.maxTextFiles ?? DEFAULT_MAX_TEXT_FILES,
  });
  const bodyText = parser ? null : new TextScanner(textKindOf(contentType), "", 0, text);
  let fieldText: TextScanner | null = null;
  let current: FileDigest | null = parser
    ? null
    : new FileDigest(newFile(0, 0, "", null, contentType || null), opts.algos);
  const content = new UploadContent(request.body, decoders, {
    hold: opts.hold,
    maxBodyBytes: opts.maxBodyBytes,
    maxDecodeRatio: opts.maxDecodeRatio ?? DEFAULT_MAX_DECODE_RATIO,
    declared,
  });
  let total = 0;
  try {
    for await (const value of content.blocks()) {
      total += value.length;
      if (!parser) {
        await current!.update(value);
        await bodyText!.push(value);
        continue;
      }
      for (const ev of parser.push(value)) {
        if (ev.type === "part-start") {
          const h = ev.headers;
          checkPartEncoding(h);
          current = new FileDigest(
            newFile(files.length, ev.contentStart, h.field, h.filename, h.contentType),
            opts.algos,
          );
          // A field without a filename is text an application may decode (a form's base64 field).
          if (h.filename === null) fieldText = new TextScanner("field", h.field, ev.contentStart, text);
        } else if (ev.type === "data") {
          await current!.update(ev.bytes);
          await fieldText?.push(ev.bytes);
        } else {
          await current!.finish(ev.contentEnd);
          files.push(current!.file);
          current = null;
          await fieldText?.finish();
          fieldText = null;
        }
      }
    }
    if (parser) {
      parser.finish();
    } else {
      if (total > 0) {
        await current!.finish(total);
        files.push(current!.file);
      }
      await bodyText!.finish();
    }
  } catch (e) {
    await content.stop();
    await request.body?.cancel().catch(() => undefined);
    await opts.hold.abort();
    throw e;
  }
  const body = await opts.hold.close();
  const source = fileSource(body, decoders);
  try {
    await text.decodeDeferred(source);
  } catch (e) {
    await body.discard().catch(() => undefined);
    throw e;
  }
  for (const f of text.files) {
    f.index = files.length;
    files.push(f);
  }
  return { body, files, source, peakBuffered: opts.hold.peakBuffered };
}
