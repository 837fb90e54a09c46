/**
 * A small incremental XML tokenizer for provider feeds: elements, attributes, text, the five
 * named entities and character references. Namespace prefixes are dropped (`ns2:image` →
 * `image`). No DTDs: a feed needs none, and refusing them rules out entity expansion attacks.
 */

export type XmlToken =
  | { t: "open"; name: string; attrs: Record<string, string>; selfClosing: boolean; line: number }
  | { t: "close"; name: string; line: number }
  | { t: "text"; text: string };

export class XmlSyntaxError extends Error {
  readonly line: number;
  constructor(message: string, line: number) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

/** Largest markup or text run kept while waiting for its end; far above any feed's. */
const MAX_PENDING_CHARS = 1 << 20;

const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

export function decodeEntities(s: string, line: number): string {
  if (!s.includes("&")) return s;
  return s.replace(/&([^;&\s]*);?/g, (m, name: string) => {
    if (!m.endsWith(";")) throw new XmlSyntaxError(`bare "&" in text`, line);
    if (name.startsWith("#")) return charRef(name, line);
    const v = NAMED[name];
    if (v === undefined) throw new XmlSyntaxError(`unknown entity &${name};`, line);
    return v;
  });
}

/** A numeric character reference (`#65`, `#x41`); anything not a valid code point is a syntax error. */
function charRef(name: string, line: number): string {
  const hex = name.startsWith("#x") || name.startsWith("#X");
  const digits = name.slice(hex ? 2 : 1);
  const ok = hex ? /^[0-9a-fA-F]{1,6}$/.test(digits) : /^[0-9]{1,7}$/.test(digits);
  const cp = ok ? Number.parseInt(digits, hex ? 16 : 10) : -1;
  if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    throw new XmlSyntaxError(`invalid character reference &${name};`, line);
  }
  return String.fromCodePoint(cp);
}

function localName(qname: string): string {
  const c = qname.indexOf(":");
  return c < 0 ? qname : qname.slice(c + 1);
}

const ATTR_RE = /([^\s=/>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function parseTag(body: string, line: number): XmlToken {
  if (body.startsWith("/")) return { t: "close", name: localName(body.slice(1).trim()), line };
  const selfClosing = body.endsWith("/");
  const inner = selfClosing ? body.slice(0, -1) : body;
  const m = /^([^\s/>]+)/.exec(inner);
  if (!m) throw new XmlSyntaxError("element without a name", line);
  const attrs: Record<string, string> = {};
  const rest = inner.slice(m[1]!.length);
  for (const a of rest.matchAll(ATTR_RE)) attrs[localName(a[1]!)] = decodeEntities(a[2] ?? a[3] ?? "", line);
  if (rest.replace(ATTR_RE, "").trim() !== "")
    throw new XmlSyntaxError(`malformed attributes in <${m[1]}>`, line);
  return { t: "open", name: localName(m[1]!), attrs, selfClosing, line };
}

/** Index just past the `>` closing a tag that starts at `from`, skipping quoted values; -1 if absent. */
function tagEnd(s: string, from: number): number {
  let quote = "";
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === ">") return i + 1;
  }
  return -1;
}

function countLines(s: string, from: number, to: number): number {
  let n = 0;
  for (let i = s.indexOf("\n", from); i >= 0 && i < to; i = s.indexOf("\n", i + 1)) n++;
  return n;
}

/** Feed text with `push` in any chunking; `end` checks nothing was left half-read. */
export class XmlTokenizer {
  private buf = "";
  private line = 1;

  /** A syntax error met after some tokens of a chunk: those are returned first, the error at the next call. */
  private failed: XmlSyntaxError | null = null;

  push(chunk: string): XmlToken[] {
    if (this.failed) throw this.failed;
    const out: XmlToken[] = [];
    try {
      this.tokenize(chunk, out);
    } catch (e) {
      // Tokens before the error are the same whatever the chunking: hand them out, fail next time.
      if (!(e instanceof XmlSyntaxError) || out.length === 0) throw e;
      this.failed = e;
    }
    return out;
  }

  private tokenize(chunk: string, out: XmlToken[]): void {
    this.buf += chunk;
    let pos = 0;
    for (;;) {
      const lt = this.buf.indexOf("<", pos);
      if (lt < 0) break;
      if (lt > pos) out.push({ t: "text", text: decodeEntities(this.buf.slice(pos, lt), this.line) });
      this.line += countLines(this.buf, pos, lt);
      const end = this.markupEnd(lt);
      if (end < 0) {
        pos = lt;
        break;
      }
      const tok = this.markup(lt, end);
      if (tok) out.push(tok);
      this.line += countLines(this.buf, lt, end);
      pos = end;
    }
    // Text before the next "<" waits whole: an entity may be split across chunks.
    this.buf = this.buf.slice(pos);
    if (this.buf.length > MAX_PENDING_CHARS)
      throw new XmlSyntaxError("markup or text run too long", this.line);
  }

  end(): XmlToken[] {
    if (this.failed) throw this.failed;
    if (this.buf.includes("<")) throw new XmlSyntaxError("document ends inside markup", this.line);
    const rest = this.buf;
    this.buf = "";
    return rest.trim() ? [{ t: "text", text: decodeEntities(rest, this.line) }] : [];
  }

  private markupEnd(lt: number): number {
    const b = this.buf;
    const closer = (open: string, close: string) => {
      if (!b.startsWith(open, lt)) return undefined;
      const i = b.indexOf(close, lt + open.length);
      return i < 0 ? -1 : i + close.length;
    };
    // A prefix of "<!--" or "<![CDATA[" may still be arriving.
    if (b.length - lt < 9 && ("<![CDATA[".startsWith(b.slice(lt)) || "<!--".startsWith(b.slice(lt))))
      return -1;
    return closer("<!--", "-->") ?? closer("<![CDATA[", "]]>") ?? closer("<?", "?>") ?? tagEnd(b, lt + 1);
  }

  private markup(lt: number, end: number): XmlToken | null {
    const s = this.buf.slice(lt, end);
    if (s.startsWith("<!--") || s.startsWith("<?")) return null;
    if (s.startsWith("<![CDATA[")) return { t: "text", text: s.slice(9, -3) };
    if (s.startsWith("<!")) throw new XmlSyntaxError("DTDs are not accepted", this.line);
    return parseTag(s.slice(1, -1).trim(), this.line);
  }
}
