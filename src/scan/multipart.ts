/**
 * Streaming multipart/form-data parser (RFC 7578 / RFC 2046). Push chunks as they arrive;
 * it returns events with absolute byte offsets into the body, so a caller that holds the
 * body can later cut out any part's exact bytes. Nothing is buffered but an unfinished
 * header block and the few bytes that might begin a delimiter.
 *
 * Written here rather than using a library parser because the gate must read a body exactly
 * as strictly as the most lenient origin could, or refuse it: wherever origins' parsers
 * (busboy, formidable, undici, Werkzeug, PHP) may split a body differently, this one throws
 * instead of choosing a reading. test/scan/multipart-differential.fuzz.node-test.ts checks it
 * against the npm registry's parsers.
 */
import { concatBytes } from "../bytes.ts";
import { malformed } from "./content-type.ts";

export interface PartHeaders {
  /** Header names in lower case (a repeated header is refused). */
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

export { boundaryOf } from "./content-type.ts";

type State = "preamble" | "after-delimiter" | "headers" | "body" | "epilogue";

/** Parses one multipart body. Call `push` per chunk, then `finish`. */
export class MultipartParser {
  private readonly delimiter: Uint8Array; // CRLF "--" boundary
  /** "--" boundary: inside a part it may only stand right after the part's own CRLF. */
  private readonly dashBoundary: Uint8Array;
  private readonly limits: MultipartLimits;
  private state: State = "preamble";
  /** Bytes carried over from the previous chunk (an unfinished header block or a possible delimiter start). */
  private carry: Uint8Array;
  /** Absolute body offset of carry[0]. The stream is parsed as if it began with CRLF, so this starts at -2. */
  private carryOffset = -2;
  private parts = 0;

  constructor(boundary: string, limits: MultipartLimits) {
    this.delimiter = enc.encode(`\r\n--${boundary}`);
    this.dashBoundary = this.delimiter.subarray(2);
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
        // No transport padding (RFC 2046 allows it; formidable, for one, reads "--boundary " as
        // part data): the boundary is followed by CRLF, or by "--" at the end.
        if (buf.length - pos < 2) return this.keep(buf, pos, base);
        if (buf[pos] === DASH && buf[pos + 1] === DASH) {
          this.state = "epilogue";
          return pos + 2;
        }
        if (buf[pos] !== CR || buf[pos + 1] !== LF) throw malformed("boundary not followed by CRLF");
        this.state = "headers";
        return pos + 2;
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
        // busboy searches the whole stream, headers included, for CRLF "--boundary".
        if (indexOf(buf.subarray(pos, end), this.dashBoundary, 0) >= 0)
          throw malformed("boundary inside part headers");
        const headers = parseHeaders(dec.decode(buf.subarray(pos, end)));
        checkPartHeaders(headers);
        const next = headerless ? pos + 2 : end + 4;
        events.push({ type: "part-start", headers, contentStart: base + next });
        this.state = "body";
        return next;
      }
      case "body": {
        const at = indexOf(buf, this.dashBoundary, pos);
        if (at < 0) {
          // Emit everything except a tail that might begin CRLF "--boundary" or "--boundary".
          const safe = Math.max(pos, buf.length - this.delimiter.length + 1);
          const tailStart = Math.min(
            possibleStart(buf, safe, this.delimiter),
            possibleStart(buf, safe, this.dashBoundary),
          );
          if (tailStart > pos) events.push({ type: "data", bytes: buf.subarray(pos, tailStart) });
          return this.keep(buf, tailStart, base);
        }
        // Only CRLF "--boundary" ends a part. After a bare LF or CR, or at the very start of
        // the content, origins that split lines on LF (Werkzeug) or CR would end the part
        // where the gate does not: what one of them stores would be bytes the gate never hashed.
        const delimiterAt = at - 2;
        // (A CRLF before a possible boundary is never emitted early, so it is in `buf` from `pos`.)
        if (delimiterAt < pos || buf[delimiterAt] !== CR || buf[delimiterAt + 1] !== LF)
          throw malformed("boundary inside a part not preceded by CRLF");
        if (delimiterAt > pos) events.push({ type: "data", bytes: buf.subarray(pos, delimiterAt) });
        events.push({ type: "part-end", contentEnd: base + delimiterAt });
        this.state = "after-delimiter";
        return at + this.dashBoundary.length;
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

/** The earliest index >= from at which the rest of buf is a prefix of `needle` (buf.length if none). */
function possibleStart(buf: Uint8Array, from: number, needle: Uint8Array): number {
  for (let s = from; s < buf.length; s++) {
    if (buf[s] !== needle[0]) continue;
    let k = 1;
    while (s + k < buf.length && buf[s + k] === needle[k]) k++;
    if (s + k === buf.length) return s;
  }
  return buf.length;
}

/**
 * First index >= from of `needle` in `buf`, or -1. Scans for the needle's last byte (a
 * boundary's last character) rather than its first ("-" or CR, common in text and in
 * hostile bodies made of dashes), then compares backwards.
 */
function indexOf(buf: Uint8Array, needle: Uint8Array, from: number): number {
  const end = needle.length - 1;
  const lastByte = needle[end]!;
  let i = from + end;
  while (i < buf.length) {
    i = buf.indexOf(lastByte, i);
    if (i < 0) return -1;
    const start = i - end;
    let k = 0;
    while (k < end && buf[start + k] === needle[k]) k++;
    if (k === end) return start;
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

const HEADER_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/s;

/**
 * Reads a part's header block strictly: every line ends in CRLF (no bare CR or LF, which
 * parsers that split lines on LF read as a line end, possibly the end of the headers), no
 * folded lines, a token name right before the colon, and no header twice (origins keep the
 * first or the last, e.g. of two Content-Transfer-Encoding headers).
 */
function parseHeaders(block: string): PartHeaders {
  const raw = new Map<string, string>();
  for (const line of block === "" ? [] : block.split("\r\n")) {
    if (/[\r\n]/.test(line)) throw malformed("part header line not ended by CRLF");
    const m = HEADER_LINE.exec(line);
    if (!m) throw malformed(/^[ \t]/.test(line) ? "folded part header" : "part header line without a name");
    const name = m[1]!.toLowerCase();
    if (raw.has(name)) throw malformed(`repeated ${name} part header`);
    raw.set(name, m[2]!);
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
