/**
 * Streaming multipart/form-data parser (RFC 7578 / RFC 2046). Push chunks as they arrive;
 * it returns events with absolute byte offsets into the body, so a caller that holds the
 * body can later cut out any part's exact bytes. Nothing is buffered but an unfinished
 * header block and the few bytes that might begin a delimiter.
 */
import { concatBytes } from "../bytes.ts";
import { AppError } from "../errors.ts";

export interface PartHeaders {
  /** Header names in lower case; a repeated header keeps its first value. */
  raw: Map<string, string>;
  /** `name` parameter of Content-Disposition, or "" if absent. */
  field: string;
  /** `filename` parameter of Content-Disposition, or null if absent. */
  filename: string | null;
  /** Content-Type of the part, or null. */
  contentType: string | null;
}

export type MultipartEvent =
  | { type: "part-start"; headers: PartHeaders; contentStart: number }
  | { type: "data"; bytes: Uint8Array }
  | { type: "part-end"; contentEnd: number };

export interface MultipartLimits {
  /** Largest header block of one part, in bytes. */
  maxHeaderBytes: number;
  /** Most parts in one body. */
  maxParts: number;
}

const CR = 13;
const LF = 10;
const DASH = 45;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Extracts the boundary from a multipart Content-Type, or throws a 400. */
export function boundaryOf(contentType: string): string {
  // Two boundary parameters would let the gate and the origin split the body differently.
  if ((contentType.match(/;\s*boundary\s*=/gi) ?? []).length > 1)
    throw malformed("more than one boundary parameter");
  const m = /;\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  const boundary = m ? (m[1] ?? m[2]) : undefined;
  if (!boundary) throw malformed("multipart body without a valid boundary parameter");
  return boundary;
}

function malformed(detail: string): AppError {
  return new AppError("malformed_multipart", `malformed multipart body: ${detail}`);
}

type State = "preamble" | "after-delimiter" | "headers" | "body" | "epilogue";

/** Parses one multipart body. Call `push` per chunk, then `finish`. */
export class MultipartParser {
  private readonly delimiter: Uint8Array; // CRLF "--" boundary
  private readonly limits: MultipartLimits;
  private state: State = "preamble";
  /** Bytes carried over from the previous chunk (an unfinished header block or a possible delimiter start). */
  private carry: Uint8Array;
  /** Absolute body offset of carry[0]. The stream is parsed as if it began with CRLF, so this starts at -2. */
  private carryOffset = -2;
  private parts = 0;

  constructor(boundary: string, limits: MultipartLimits) {
    this.delimiter = enc.encode(`\r\n--${boundary}`);
    this.limits = limits;
    this.carry = new Uint8Array([CR, LF]);
  }

  /** Feeds the next chunk; returns the events it completes. */
  push(chunk: Uint8Array): MultipartEvent[] {
    const buf = this.carry.length === 0 ? chunk : concatBytes([this.carry, chunk]);
    const base = this.carryOffset;
    const events: MultipartEvent[] = [];
    let pos = 0;
    for (;;) {
      const next = this.step(buf, pos, base, events);
      if (next < 0) break;
      pos = next;
    }
    // `step` stored the unconsumed tail in `carry`.
    return events;
  }

  /** Declares the end of the body; throws if the body was cut short. */
  finish(): void {
    if (this.state !== "epilogue") {
      throw malformed(
        this.state === "preamble" ? "no opening boundary" : "body ends before the closing boundary",
      );
    }
  }

  /** Consumes from `pos`; returns the new position, or -1 when more input is needed (carry set). */
  private step(buf: Uint8Array, pos: number, base: number, events: MultipartEvent[]): number {
    switch (this.state) {
      case "preamble": {
        // Content outside the parts is not scanned, and origins differ on what they make of
        // it: only blank lines may stand before the first boundary or after the last.
        const at = indexOf(buf, this.delimiter, pos);
        if (at < 0) {
          // Keep only what could still begin a delimiter.
          const keepFrom = Math.max(pos, buf.length - this.delimiter.length + 1);
          assertBlank(buf, pos, keepFrom, "content before the first boundary");
          return this.keep(buf, keepFrom, base);
        }
        assertBlank(buf, pos, at, "content before the first boundary");
        this.state = "after-delimiter";
        return at + this.delimiter.length;
      }
      case "after-delimiter": {
        // Transport padding (spaces, tabs) may follow the boundary, then CRLF or "--".
        let i = pos;
        while (i < buf.length && (buf[i] === 32 || buf[i] === 9)) i++;
        if (i - pos > 64) throw malformed("boundary followed by junk");
        if (buf.length - i < 2) return this.keep(buf, pos, base);
        if (buf[i] === DASH && buf[i + 1] === DASH) {
          this.state = "epilogue";
          return i + 2;
        }
        if (buf[i] !== CR || buf[i + 1] !== LF) throw malformed("boundary not followed by CRLF");
        this.state = "headers";
        return i + 2;
      }
      case "headers": {
        if (buf.length - pos < 2) return this.keep(buf, pos, base);
        // A part with no header lines at all: its blank line follows the boundary's CRLF at once.
        const headerless = buf[pos] === CR && buf[pos + 1] === LF;
        const end = headerless ? pos : indexOfCrlfCrlf(buf, pos);
        if (end < 0) {
          if (buf.length - pos > this.limits.maxHeaderBytes) throw malformed("part headers too large");
          return this.keep(buf, pos, base);
        }
        if (end - pos > this.limits.maxHeaderBytes) throw malformed("part headers too large");
        if (++this.parts > this.limits.maxParts) throw malformed("too many parts");
        const headers = parseHeaders(dec.decode(buf.subarray(pos, end)));
        checkPartHeaders(headers);
        const next = headerless ? pos + 2 : end + 4;
        events.push({ type: "part-start", headers, contentStart: base + next });
        this.state = "body";
        return next;
      }
      case "body": {
        const at = indexOf(buf, this.delimiter, pos);
        if (at < 0) {
          // Emit everything except a tail that might be the start of a delimiter.
          const safe = Math.max(pos, buf.length - this.delimiter.length + 1);
          const tailStart = lastPossibleStart(buf, safe, this.delimiter);
          if (tailStart > pos) events.push({ type: "data", bytes: buf.subarray(pos, tailStart) });
          return this.keep(buf, tailStart, base);
        }
        if (at > pos) events.push({ type: "data", bytes: buf.subarray(pos, at) });
        events.push({ type: "part-end", contentEnd: base + at });
        this.state = "after-delimiter";
        return at + this.delimiter.length;
      }
      case "epilogue":
        assertBlank(buf, pos, buf.length, "content after the closing boundary");
        return this.keep(buf, buf.length, base);
    }
  }

  private keep(buf: Uint8Array, from: number, base: number): number {
    // Copy, so that the carry never aliases a caller's chunk.
    this.carry = from >= buf.length ? new Uint8Array(0) : buf.slice(from);
    this.carryOffset = base + from;
    return -1;
  }
}

const BLANK = new Set([CR, LF, 32, 9]);

function assertBlank(buf: Uint8Array, from: number, to: number, what: string): void {
  for (let i = from; i < to; i++) if (!BLANK.has(buf[i]!)) throw malformed(what);
}

/** Transfer encodings a part may declare (RFC 7578 §4.7 deprecates the rest). */
const PLAIN_ENCODINGS = new Set(["7bit", "8bit", "binary"]);

/**
 * Refuses parts whose bytes the gate would hash differently from what an origin may store:
 * a nested multipart body (files inside it would be hashed as one blob) or a transfer encoding
 * such as base64 (the gate would hash the encoded text).
 */
function checkPartHeaders(h: PartHeaders): void {
  if (h.contentType && /^\s*multipart\//i.test(h.contentType)) throw malformed("nested multipart part");
  const cte = h.raw.get("content-transfer-encoding");
  if (cte !== undefined && !PLAIN_ENCODINGS.has(cte.trim().toLowerCase())) {
    throw malformed("part with a Content-Transfer-Encoding");
  }
}

/** The earliest index >= from at which a suffix of buf is a prefix of the delimiter. */
function lastPossibleStart(buf: Uint8Array, from: number, delim: Uint8Array): number {
  for (let s = from; s < buf.length; s++) {
    if (buf[s] !== CR) continue;
    let ok = true;
    for (let k = 1; s + k < buf.length; k++) {
      if (buf[s + k] !== delim[k]) {
        ok = false;
        break;
      }
    }
    if (ok) return s;
  }
  return buf.length;
}

function indexOf(buf: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0]!;
  const last = buf.length - needle.length;
  let i = from;
  while (i <= last) {
    i = buf.indexOf(first, i);
    if (i < 0 || i > last) return -1;
    let k = 1;
    while (k < needle.length && buf[i + k] === needle[k]) k++;
    if (k === needle.length) return i;
    i++;
  }
  return -1;
}

/** Index of the first CRLF CRLF at or after `from`, or -1. */
function indexOfCrlfCrlf(buf: Uint8Array, from: number): number {
  let i = from;
  for (;;) {
    i = buf.indexOf(CR, i);
    if (i < 0 || i + 3 >= buf.length) return -1;
    if (buf[i + 1] === LF && buf[i + 2] === CR && buf[i + 3] === LF) return i;
    i++;
  }
}

function parseHeaders(block: string): PartHeaders {
  const raw = new Map<string, string>();
  for (const line of block.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw malformed("part header line without a name");
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!raw.has(name)) raw.set(name, line.slice(colon + 1).trim());
  }
  const disposition = raw.get("content-disposition") ?? "";
  return {
    raw,
    field: dispositionParam(disposition, "name") ?? "",
    filename: dispositionParam(disposition, "filename"),
    contentType: raw.get("content-type") ?? null,
  };
}

/** Reads a parameter of a Content-Disposition value (quoted or token; `filename*` is preferred). */
export function dispositionParam(value: string, name: string): string | null {
  const star = new RegExp(`;\\s*${name}\\*\\s*=\\s*([^']*)'[^']*'([^;]*)`, "i").exec(value);
  if (star?.[2] !== undefined) {
    try {
      return decodeURIComponent(star[2].trim());
    } catch {
      // Fall through to the plain parameter.
    }
  }
  const m = new RegExp(`;\\s*${name}\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|([^;\\s]*))`, "i").exec(value);
  if (!m) return null;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : (m[2] ?? "");
}
