/**
 * Reads the Content-Type of an upload to decide whether, and with which boundary, it is split
 * into parts. Written here rather than taken from a library (such as `content-type` or a
 * WHATWG MIME parser) because the question is not "what does the header mean" but "could any
 * origin's parser read it differently": origins' parsers disagree on escapes, repeated and
 * look-alike parameters and loose matching (one finds `boundary=` anywhere in the value,
 * another treats any value mentioning "multipart" as multipart). So the grammar is RFC 9110's
 * (§8.3.1 media-type, §5.6.6 parameters, §5.6.4 quoted-string), and every multipart
 * Content-Type those parsers might read two ways is refused.
 */
import { AppError } from "../errors.ts";

export interface MediaParam {
  /** Lower case. */
  name: string;
  /** The value with quoted-pair escapes undone. */
  value: string;
  /** The value used a backslash escape inside a quoted string. */
  escaped: boolean;
  /** Whitespace stood between the value and the next `;`. */
  spaceAfter: boolean;
}

export interface MediaType {
  /** Lower case. */
  type: string;
  subtype: string;
  params: MediaParam[];
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;
/** RFC 2046 §5.1.1 bchars (the space is allowed, but not last). */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

/** Parses a media type by RFC 9110's grammar; null when the value does not follow it. */
export function parseMediaType(value: string): MediaType | null {
  const head = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\/([!#$%&'*+\-.^_`|~0-9A-Za-z]+)/.exec(value);
  if (!head) return null;
  const params: MediaParam[] = [];
  let i = head[0].length;
  while (i < value.length) {
    const semi = skipSpace(value, i);
    if (semi === value.length) break;
    if (value[semi] !== ";") return null;
    if (params.length > 0) params[params.length - 1]!.spaceAfter = semi > i;
    i = skipSpace(value, semi + 1);
    if (i === value.length || value[i] === ";") continue; // an empty parameter is allowed
    const nameStart = i;
    while (i < value.length && TOKEN.test(value[i]!)) i++;
    if (i === nameStart || value[i] !== "=") return null;
    const name = value.slice(nameStart, i).toLowerCase();
    const read = value[i + 1] === '"' ? quoted(value, i + 2) : token(value, i + 1);
    if (!read) return null;
    params.push({ name, value: read.value, escaped: read.escaped, spaceAfter: false });
    i = read.end;
  }
  return { type: head[1]!.toLowerCase(), subtype: head[2]!.toLowerCase(), params };
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  return i;
}

function token(s: string, i: number): { value: string; escaped: boolean; end: number } | null {
  const start = i;
  while (i < s.length && TOKEN.test(s[i]!)) i++;
  return i === start ? null : { value: s.slice(start, i), escaped: false, end: i };
}

/** A quoted-string whose opening quote stood before `i`. */
function quoted(s: string, i: number): { value: string; escaped: boolean; end: number } | null {
  let value = "";
  let escaped = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return { value, escaped, end: i + 1 };
    if (c === 0x5c) {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      const next = s.charCodeAt(i + 1);
      if (Number.isNaN(next) || !qdtextOrPair(next, true)) return null;
      value += s[++i];
      escaped = true;
    } else if (qdtextOrPair(c, false)) {
      value += s[i];
    } else {
      return null;
    }
  }
  return null; // no closing quote
}

function qdtextOrPair(c: number, pair: boolean): boolean {
  if (c === 0x09 || c === 0x20 || (c >= 0x80 && c <= 0xff)) return true;
  if (c < 0x21 || c > 0x7e) return false;
  return pair || (c !== 0x22 && c !== 0x5c);
}

/**
 * The boundary of a multipart upload, or null when the body is not multipart (then it is
 * scanned as one file). Every `multipart/*` type is multipart: origins such as formidable
 * parse multipart/mixed and multipart/related as forms. Throws malformed_multipart (400)
 * for a multipart Content-Type that an origin's parser could read with another boundary.
 */
export function multipartBoundary(contentType: string | null): string | null {
  const value = (contentType ?? "").trim();
  // formidable takes any value that mentions "multipart" anywhere as multipart.
  if (!/multipart/i.test(value)) return null;
  const media = parseMediaType(value);
  if (!media) throw malformed("Content-Type does not follow RFC 9110");
  if (media.type !== "multipart") throw malformed("multipart named outside the media type");
  const names = new Set<string>();
  for (const p of media.params) {
    if (names.has(p.name)) throw malformed(`repeated ${p.name} parameter`);
    names.add(p.name);
    // boundary*= (RFC 2231), xboundary=, boundary_=: some parser takes each for the boundary.
    if (p.name !== "boundary" && p.name.includes("boundary"))
      throw malformed(`look-alike ${p.name} parameter`);
  }
  const param = media.params.find((p) => p.name === "boundary");
  if (!param) throw malformed("multipart body without a boundary parameter");
  // A parser that searches the raw value for `boundary=` finds one inside another value.
  if ((value.match(/boundary=/gi) ?? []).length !== 1) throw malformed("boundary= written more than once");
  if (param.escaped) throw malformed("boundary with a backslash escape");
  // Parsers that cut the value at `;` keep trailing whitespace in the boundary.
  if (param.spaceAfter) throw malformed("whitespace after the boundary");
  if (!BOUNDARY.test(param.value)) throw malformed("boundary not made of RFC 2046 characters");
  return param.value;
}

/** The boundary of a multipart Content-Type; throws a 400 when there is none. */
export function boundaryOf(contentType: string): string {
  const boundary = multipartBoundary(contentType);
  if (boundary === null) throw malformed("not a multipart Content-Type");
  return boundary;
}

export function malformed(detail: string): AppError {
  return new AppError("malformed_multipart", `malformed multipart body: ${detail}`);
}
