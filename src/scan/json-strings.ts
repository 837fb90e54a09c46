/**
 * Streaming JSON reader that finds every string value (RFC 8259) with its JSON pointer and its
 * byte span, and hands out the string's characters unescaped. Only the container stack and the
 * current key are held, so a body of any size costs a few hundred bytes. Written here because
 * the libraries at hand parse whole documents into objects (memory proportional to the body)
 * and do not give byte offsets, which the gate needs to cut the value out again for evidence.
 *
 * A sequence of top-level values (NDJSON) is read too. Object keys are not decoded as files.
 */
import { GateError } from "../errors.ts";

export type JsonEvent =
  | { type: "value-start"; pointer: string; offset: number }
  | { type: "value-data"; bytes: Uint8Array }
  | { type: "value-end"; offset: number };

const QUOTE = 34;
const BACKSLASH = 92;
/** Longest key kept for a pointer segment, and longest pointer. */
const MAX_KEY = 100;
const MAX_POINTER = 400;
/** Deepest nesting accepted: deeper is not JSON any origin reads (V8's JSON.parse stops far sooner). */
const MAX_DEPTH = 1000;

export function malformedJson(detail: string): GateError {
  return new GateError("malformed_json", "malformed JSON body", detail);
}

const ESCAPES: Record<number, number> = { 34: 34, 92: 92, 47: 47, 98: 8, 102: 12, 110: 10, 114: 13, 116: 9 };
const enc = new TextEncoder();

/** Unescapes the characters of a JSON string (between its quotes), as a stream. */
export class JsonStringUnescaper {
  private pending: number[] = [];
  private highSurrogate = -1;

  push(bytes: Uint8Array): Uint8Array {
    // Most of a long string has no escape at all.
    if (this.pending.length === 0 && this.highSurrogate < 0 && bytes.indexOf(BACKSLASH) < 0) return bytes;
    const input = this.pending.length > 0 ? Uint8Array.from([...this.pending, ...bytes]) : bytes;
    this.pending = [];
    const out = new Uint8Array(input.length + 4);
    let o = 0;
    let i = 0;
    while (i < input.length) {
      const c = input[i]!;
      if (c !== BACKSLASH) {
        o = this.flushSurrogate(out, o);
        out[o++] = c;
        i++;
        continue;
      }
      if (i + 1 >= input.length) break;
      const e = input[i + 1]!;
      if (e !== 117) {
        const v = ESCAPES[e];
        if (v === undefined) throw malformedJson("invalid escape in a string");
        o = this.flushSurrogate(out, o);
        out[o++] = v;
        i += 2;
        continue;
      }
      if (i + 6 > input.length) break;
      const hex = String.fromCharCode(...input.subarray(i + 2, i + 6));
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw malformedJson("invalid \\u escape in a string");
      const unit = Number.parseInt(hex, 16);
      i += 6;
      if (unit >= 0xdc00 && unit <= 0xdfff && this.highSurrogate >= 0) {
        const cp = 0x10000 + ((this.highSurrogate - 0xd800) << 10) + (unit - 0xdc00);
        this.highSurrogate = -1;
        o = put(out, o, String.fromCodePoint(cp));
        continue;
      }
      o = this.flushSurrogate(out, o);
      if (unit >= 0xd800 && unit <= 0xdbff) this.highSurrogate = unit;
      else o = put(out, o, String.fromCharCode(unit));
    }
    this.pending = [...input.subarray(i)];
    return out.subarray(0, o);
  }

  finish(): Uint8Array {
    if (this.pending.length > 0) throw malformedJson("string ends inside an escape");
    const out = new Uint8Array(3);
    return out.subarray(0, this.flushSurrogate(out, 0));
  }

  /** A lone surrogate becomes U+FFFD, as it does when a parsed string is written out as UTF-8. */
  private flushSurrogate(out: Uint8Array, o: number): number {
    if (this.highSurrogate < 0) return o;
    this.highSurrogate = -1;
    return put(out, o, "\ufffd");
  }
}

function put(out: Uint8Array, o: number, s: string): number {
  return o + enc.encodeInto(s, out.subarray(o)).written;
}

interface Frame {
  kind: "object" | "array";
  /** Current key (objects) or index (arrays), for the pointer. */
  key: string;
  index: number;
}

type Mode = "value" | "after-value" | "key" | "colon" | "string" | "key-string" | "scalar";

/** Reads JSON as it streams; `push` returns the events each chunk completes. */
export class JsonStringReader {
  private mode: Mode = "value";
  private stack: Frame[] = [];
  private offset = 0;
  private unescaper = new JsonStringUnescaper();
  /** Raw bytes of a key being read (bounded), or of a number/literal being read. */
  private token: number[] = [];
  /** Within a string: the previous byte was an unfinished escape's backslash. */
  private escaped = false;

  constructor(startOffset = 0) {
    this.offset = startOffset;
  }

  /**
   * Reads the next chunk; returns the events it completes. On malformed JSON it throws, and
   * `events` (when given) keeps what came before the fault: a lenient reader of text that
   * merely looked like JSON still judges the values it read whole.
   */
  push(chunk: Uint8Array, events: JsonEvent[] = []): JsonEvent[] {
    const base = this.offset;
    let i = 0;
    while (i < chunk.length) {
      if (this.mode === "string" || this.mode === "key-string") {
        const end = this.stringEnd(chunk, i);
        const part = chunk.subarray(i, end < 0 ? chunk.length : end);
        if (this.mode === "string") {
          const bytes = this.unescaper.push(part);
          if (bytes.length > 0) events.push({ type: "value-data", bytes });
        } else if (this.token.length < MAX_KEY * 6) {
          this.token.push(...part.subarray(0, MAX_KEY * 6 - this.token.length));
        }
        if (end < 0) break;
        if (this.mode === "string") {
          const tail = this.unescaper.finish();
          if (tail.length > 0) events.push({ type: "value-data", bytes: tail });
          events.push({ type: "value-end", offset: base + end });
          this.unescaper = new JsonStringUnescaper();
          this.afterValue();
        } else {
          this.keyRead();
        }
        i = end + 1;
        continue;
      }
      const c = chunk[i]!;
      if (this.mode === "scalar") {
        if (isScalarByte(c)) {
          if (this.token.length > 400) throw malformedJson("number or literal too long");
          this.token.push(c);
          i++;
          continue;
        }
        this.scalarRead();
        continue;
      }
      i++;
      if (c === 32 || c === 9 || c === 10 || c === 13) continue;
      this.structural(c, base + i, events);
    }
    this.offset = base + chunk.length;
    return events;
  }

  /** Declares the end of the body. */
  finish(): void {
    if (this.mode === "scalar") this.scalarRead();
    if (this.stack.length > 0 || (this.mode !== "after-value" && this.mode !== "value")) {
      throw malformedJson("body ends inside a value");
    }
    // An empty body (or only whitespace) carries nothing; origins answer it themselves.
  }

  /**
   * Index of the closing quote at or after `from` (honouring escapes), or -1. Found with
   * indexOf, not byte by byte: strings are most of a body that carries files. Raw control
   * characters, which JSON forbids in strings, are not looked for: the gate reads such a string
   * as any lenient parser would, and a strict origin refuses it.
   */
  private stringEnd(chunk: Uint8Array, from: number): number {
    let i = from;
    if (this.escaped) {
      if (i >= chunk.length) return -1;
      this.escaped = false;
      i++;
    }
    for (;;) {
      const quote = this.next(chunk, QUOTE, i);
      const backslash = this.next(chunk, BACKSLASH, i);
      if (backslash >= chunk.length || quote < backslash) return quote < chunk.length ? quote : -1;
      // An escape: its next byte (maybe in the next chunk) is never the end.
      if (backslash + 1 >= chunk.length) {
        this.escaped = true;
        return -1;
      }
      i = backslash + 2;
    }
  }

  /** Found positions of quotes and backslashes in the current chunk, so that no byte is searched twice. */
  private found: { chunk: Uint8Array | null; at: Record<number, number> } = { chunk: null, at: {} };

  /** Index of the next `byte` at or after `from` in `chunk`, or chunk.length. */
  private next(chunk: Uint8Array, byte: number, from: number): number {
    if (this.found.chunk !== chunk) this.found = { chunk, at: {} };
    const known = this.found.at[byte];
    if (known !== undefined && known >= from) return known;
    const at = chunk.indexOf(byte, from);
    const pos = at < 0 ? chunk.length : at;
    this.found.at[byte] = pos;
    return pos;
  }

  /** A structural byte; `next` is the offset just after it. */
  private structural(c: number, next: number, events: JsonEvent[]): void {
    const top = this.stack[this.stack.length - 1];
    switch (this.mode) {
      case "value":
        if (c === QUOTE) {
          events.push({ type: "value-start", pointer: this.pointer(), offset: next });
          this.mode = "string";
        } else if (c === 123 || c === 91) {
          if (this.stack.length >= MAX_DEPTH) throw malformedJson("nested too deeply");
          this.stack.push({ kind: c === 123 ? "object" : "array", key: "", index: 0 });
          this.mode = c === 123 ? "key" : "value";
        } else if (c === 93 && top?.kind === "array" && top.index === 0 && !this.afterComma) {
          this.close();
        } else if (isScalarByte(c)) {
          this.token = [c];
          this.mode = "scalar";
        } else throw malformedJson("unexpected character where a value belongs");
        this.afterComma = false;
        return;
      case "key":
        if (c === QUOTE) {
          this.token = [];
          this.mode = "key-string";
        } else if (c === 125 && !this.afterComma) this.close();
        else throw malformedJson("object key expected");
        this.afterComma = false;
        return;
      case "colon":
        if (c !== 58) throw malformedJson("':' expected");
        this.mode = "value";
        return;
      case "after-value":
        if (!top) {
          // Another top-level value (NDJSON, concatenated JSON).
          this.mode = "value";
          this.structural(c, next, events);
          return;
        }
        if (c === 44) {
          if (top.kind === "array") top.index++;
          this.mode = top.kind === "array" ? "value" : "key";
          this.afterComma = true;
        } else if ((c === 93 && top.kind === "array") || (c === 125 && top.kind === "object")) this.close();
        else throw malformedJson("',' or a closing bracket expected");
        return;
      default:
        throw malformedJson("unexpected state");
    }
  }

  private afterComma = false;

  private close(): void {
    this.stack.pop();
    this.afterValue();
  }

  private afterValue(): void {
    this.mode = "after-value";
  }

  private keyRead(): void {
    const unescaper = new JsonStringUnescaper();
    const raw = Uint8Array.from(this.token);
    let key: string;
    try {
      key = new TextDecoder().decode(unescaper.push(raw));
    } catch {
      // A key cut at MAX_KEY inside an escape: the pointer segment is cut anyway.
      key = new TextDecoder().decode(raw);
    }
    this.stack[this.stack.length - 1]!.key = key.slice(0, MAX_KEY);
    this.token = [];
    this.mode = "colon";
  }

  private scalarRead(): void {
    const s = String.fromCharCode(...this.token);
    this.token = [];
    if (s !== "true" && s !== "false" && s !== "null" && !/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(s)) {
      throw malformedJson("invalid number or literal");
    }
    this.afterValue();
  }

  /** The RFC 6901 pointer of the value being read. */
  private pointer(): string {
    let p = "";
    for (const f of this.stack) {
      const seg = f.kind === "array" ? String(f.index) : f.key.replace(/~/g, "~0").replace(/\//g, "~1");
      p += `/${seg}`;
      if (p.length > MAX_POINTER) return `${p.slice(0, MAX_POINTER)}…`;
    }
    return p;
  }
}

function isScalarByte(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || c === 45 || c === 43 || c === 46 || c === 69;
}
