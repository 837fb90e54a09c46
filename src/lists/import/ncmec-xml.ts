/**
 * NCMEC hash-sharing API v2 pages (`queryResult` → `images`/`videos` → `image`/`video`, plus
 * `deletedImage`/`deletedVideo` tombstones). Streams: one entry at a time is held, so a file
 * of many concatenated pages needs no more memory than one entry.
 */
import { checkHex, type HashAlgo, type HashRef, isHashAlgo } from "../ops.ts";
import { type TextSource, textChunks } from "./lines.ts";
import type { ImportEvent } from "./types.ts";
import { type XmlToken, XmlTokenizer } from "./xml-tokens.ts";

const ENTRY = new Set(["image", "video"]);
const TOMBSTONE = new Set(["deletedImage", "deletedVideo"]);

interface Pending {
  kind: string;
  line: number;
  depth: number;
  id: string;
  classification: string;
  hashes: HashRef[];
  events: ImportEvent[];
}

/** Reads one entry's child elements; the text of the element being read collects in `text`. */
class NcmecReader {
  private stack: string[] = [];
  private entry: Pending | undefined;
  private text = "";
  private sawRoot = false;

  *token(tok: XmlToken): Generator<ImportEvent> {
    if (tok.t === "text") {
      this.text += tok.text;
      return;
    }
    if (tok.t === "open") {
      if (!this.sawRoot && tok.name !== "queryResult") {
        yield { kind: "error", line: tok.line, message: `root element is <${tok.name}>, not <queryResult>` };
      }
      this.sawRoot = true;
      const depth = this.stack.length;
      if (!this.entry && (ENTRY.has(tok.name) || TOMBSTONE.has(tok.name))) {
        this.entry = {
          kind: tok.name,
          line: tok.line,
          depth,
          id: "",
          classification: "",
          hashes: [],
          events: [],
        };
      }
      this.text = "";
      if (tok.selfClosing) yield* this.close(tok.name, depth);
      else this.stack.push(tok.name);
      return;
    }
    const top = this.stack.pop();
    if (top !== tok.name) {
      yield { kind: "error", line: tok.line, message: `</${tok.name}> closes <${top ?? "nothing"}>` };
      throw new StopImport();
    }
    yield* this.close(tok.name, this.stack.length);
  }

  private *close(name: string, depth: number): Generator<ImportEvent> {
    const e = this.entry;
    const text = this.text.trim();
    this.text = "";
    if (!e) return;
    const parent = this.stack[this.stack.length - 1];
    if (depth === e.depth + 1 && name === "id") e.id = text;
    else if (depth === e.depth + 1 && name === "classification") e.classification = text;
    else if (parent === "fingerprints" && depth === e.depth + 2) this.fingerprint(e, name, text);
    else if (depth === e.depth) {
      this.entry = undefined;
      yield* e.events;
      yield* finish(e);
    }
  }

  private fingerprint(e: Pending, type: string, value: string): void {
    if (!isHashAlgo(type)) {
      e.events.push({ kind: "skip", line: e.line, reason: `fingerprint type ${type} not supported` });
      return;
    }
    const r = checkHex(type as HashAlgo, value);
    if ("error" in r)
      e.events.push({ kind: "error", line: e.line, message: `entry ${e.id || "?"}: ${r.error}` });
    else e.hashes.push({ algo: type as HashAlgo, hex: r.hex });
  }

  *end(): Generator<ImportEvent> {
    if (this.stack.length > 0)
      yield { kind: "error", line: 0, message: `document ends inside <${this.stack.at(-1)}>` };
  }
}

function* finish(e: Pending): Generator<ImportEvent> {
  if (!e.id) {
    yield { kind: "error", line: e.line, message: `<${e.kind}> without an <id>` };
    return;
  }
  if (TOMBSTONE.has(e.kind)) {
    yield { kind: "op", line: e.line, op: { op: "remove-id", id: e.id } };
    return;
  }
  const category = e.classification ? { category: e.classification } : {};
  // An entry with no usable fingerprint still replaces the id's earlier ones (it may have had some).
  if (e.hashes.length === 0) yield { kind: "skip", line: e.line, reason: "entry has no usable fingerprint" };
  yield { kind: "op", line: e.line, op: { op: "entry", id: e.id, hashes: e.hashes, ...category } };
}

class StopImport extends Error {}

export async function* ncmecEntries(source: TextSource): AsyncGenerator<ImportEvent> {
  const tokenizer = new XmlTokenizer();
  const reader = new NcmecReader();
  try {
    for await (const chunk of textChunks(source)) {
      for (const tok of tokenizer.push(chunk)) yield* reader.token(tok);
    }
    for (const tok of tokenizer.end()) yield* reader.token(tok);
    yield* reader.end();
  } catch (e) {
    if (e instanceof StopImport) return;
    if (e instanceof Error && "line" in e) {
      yield { kind: "error", line: e.line as number, message: e.message };
      return;
    }
    throw e;
  }
}
