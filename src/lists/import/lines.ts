/** Streaming text input: bytes or strings in any chunking, out as numbered lines. */

/** A list file as it arrives: Node file streams, fetch bodies, strings in tests. */
export type TextSource = AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/**
 * UTF-8 text chunks, decoded across chunk boundaries. One byte-order mark at the very start is
 * dropped; any other U+FEFF is kept (the decoder's own BOM handling is off: some runtimes drop
 * a U+FEFF at the start of every streamed chunk, which would make the result depend on chunking).
 */
export async function* textChunks(source: TextSource): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  let atStart = true;
  const strip = (s: string) => {
    if (!atStart || s === "") return s;
    atStart = false;
    return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
  };
  for await (const chunk of source) {
    const s = strip(typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true }));
    if (s) yield s;
  }
  const tail = strip(decoder.decode());
  if (tail) yield tail;
}

/** Longest line accepted; far beyond any hash-list line, it stops a binary file from filling memory. */
export const MAX_LINE_CHARS = 1 << 20;

export class LineTooLongError extends Error {
  readonly line: number;
  constructor(line: number) {
    super(`line ${line} is longer than ${MAX_LINE_CHARS} characters: not a text hash list`);
    this.line = line;
  }
}

/** Lines without their terminator (`\n` or `\r\n`), numbered from 1. */
export async function* numberedLines(source: TextSource): AsyncGenerator<[line: string, no: number]> {
  let rest = "";
  let no = 0;
  for await (const chunk of textChunks(source)) {
    rest += chunk;
    let start = 0;
    for (let nl = rest.indexOf("\n"); nl >= 0; nl = rest.indexOf("\n", start)) {
      const end = nl > start && rest.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      yield [rest.slice(start, end), ++no];
      start = nl + 1;
    }
    rest = rest.slice(start);
    if (rest.length > MAX_LINE_CHARS) throw new LineTooLongError(no + 1);
  }
  if (rest.length > 0) yield [rest.endsWith("\r") ? rest.slice(0, -1) : rest, ++no];
}

/** A whole small document (JSON pages); refuses more than `max` characters. */
export async function wholeText(source: TextSource, max: number): Promise<string> {
  const parts: string[] = [];
  let size = 0;
  for await (const chunk of textChunks(source)) {
    size += chunk.length;
    if (size > max) throw new Error(`document larger than ${max} characters: split it into pages`);
    parts.push(chunk);
  }
  return parts.join("");
}
