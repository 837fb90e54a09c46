/**
 * Finds files carried as text: JSON strings, form values and text fields holding base64 or a
 * `data:` URL. Every value whose decoding is at least `minBytes` long becomes a file, judged
 * like any other (digests, PDQ, the same lists). A value is decoded whatever it looks like
 * (lenient decoders read base64 out of anything), so prose costs a digest too; the first
 * `minBytes` decoded bytes are buffered, nothing more.
 */
import { GateError } from "../errors.ts";
import type { DigestAlgo } from "./digests.ts";
import type { Bytes, FileSource } from "./file-bytes.ts";
import { FormValueReader } from "./form-values.ts";
import { type JsonEvent, JsonStringReader } from "./json-strings.ts";
import { type Carrier, FileDigest, newFile, type ScannedFile } from "./scanned-file.ts";
import { PRIMARY_RECIPE, type Recipe, TextValueDecoder } from "./text-value.ts";

/** What the text is: a JSON body, a form body, a text field read whole, or a body of another type. */
export type TextKind = "json" | "form" | "field" | "body";

export interface TextScanOptions {
  algos: DigestAlgo[];
  /** Decoded values shorter than this are not files (MIN_TEXT_FILE_BYTES). */
  minBytes: number;
  /** Most files found in text per upload (MAX_TEXT_FILES). */
  maxFiles: number;
}

/** A value decoded one way whose other readings (see text-value.ts) must be decoded from the held body. */
export interface DeferredValue {
  field: string;
  start: number;
  end: number;
  carrier: Omit<Carrier, "recipe">;
  recipes: Recipe[];
}

/** Unescaped text kept per value so that other readings can be decoded at once. */
const KEEP_TEXT_BYTES = 64 * 1024;
/** Long values with several readings, decoded again from the held body after the scan. */
const MAX_DEFERRED = 16;

/** The files found in text across one upload (its body, or each of its text fields). */
export class TextFiles {
  readonly files: ScannedFile[] = [];
  readonly deferred: DeferredValue[] = [];
  readonly opts: TextScanOptions;

  constructor(opts: TextScanOptions) {
    this.opts = opts;
  }

  add(file: ScannedFile): void {
    if (this.files.length >= this.opts.maxFiles) {
      throw new GateError(
        "too_many_files",
        `upload carries more than ${this.opts.maxFiles} encoded values`,
        "MAX_TEXT_FILES exceeded",
      );
    }
    this.files.push(file);
  }

  /** Decodes the other readings of long ambiguous values from the held body (after the scan). */
  async decodeDeferred(source: FileSource): Promise<void> {
    for (const d of this.deferred) {
      for (const recipe of d.recipes) {
        const carrier: Carrier = { ...d.carrier, recipe };
        const digest = new FileDigest(newFile(-1, d.start, d.field, null, null), this.opts.algos);
        for await (const chunk of chunksOf(await source.bytes({ start: d.start, end: d.end, carrier }))) {
          await digest.update(chunk);
        }
        await digest.finish(d.end);
        if (digest.file.size < this.opts.minBytes) continue;
        digest.file.carrier = carrier;
        this.add(digest.file);
      }
    }
  }

  defer(value: DeferredValue): void {
    if (this.deferred.length >= MAX_DEFERRED) {
      throw new GateError("too_many_files", "upload carries too many ambiguous encoded values");
    }
    this.deferred.push(value);
  }
}

async function* chunksOf(data: Bytes): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) {
    yield data;
    return;
  }
  const reader = data.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

/** A reader of values; `push` and `finish` add the events they complete to `out`. */
type Reader = { push(chunk: Uint8Array, out: JsonEvent[]): void; finish(out: JsonEvent[]): void };

/** Scans one text (a body or a field) for files, as its bytes stream by. */
export class TextScanner {
  private reader: Reader | null = null;
  private decided: boolean;
  private dead = false;
  private value: ValueCandidate | null = null;
  private offset: number;
  /** What holds the values read: JSON strings, form values, or the text read whole. */
  private where: Carrier["in"];

  private readonly kind: TextKind;
  private readonly field: string;
  private readonly out: TextFiles;

  constructor(kind: TextKind, field: string, startOffset: number, out: TextFiles) {
    this.kind = kind;
    this.field = field;
    this.out = out;
    this.offset = startOffset;
    this.decided = kind === "json" || kind === "form";
    this.where = kind === "form" ? "form" : "json";
    if (kind === "json") this.reader = jsonReader(startOffset);
    if (kind === "form") this.reader = formReader(startOffset);
  }

  async push(chunk: Uint8Array): Promise<void> {
    const at = this.offset;
    this.offset += chunk.length;
    if (this.dead) return;
    if (!this.decided) {
      let i = 0;
      while (i < chunk.length && isSpace(chunk[i]!)) i++;
      if (i === chunk.length) return;
      this.decide(chunk[i]!, at + i);
      chunk = chunk.subarray(i);
      if (this.dead) return;
    }
    await this.handle((out) => this.reader!.push(chunk, out));
  }

  async finish(): Promise<void> {
    if (this.dead || !this.reader) return;
    await this.handle((out) => this.reader!.finish(out));
  }

  /** A text field or a body of another type: JSON if it opens like JSON, a value if a field. */
  private decide(first: number, at: number): void {
    this.decided = true;
    if (first === 123 || first === 91 || first === 34) this.reader = jsonReader(at);
    else if (this.kind === "field") {
      this.reader = new WholeValue(at, () => this.offset);
      this.where = "text";
    } else this.dead = true;
  }

  private async handle(read: (out: JsonEvent[]) => void): Promise<void> {
    const events: JsonEvent[] = [];
    let fault = false;
    try {
      read(events);
    } catch (e) {
      // Only a body declared as JSON must be JSON; other text that merely opened like it is
      // read up to the fault (Go's json.Decoder, for one, stops after the first value).
      if (this.kind === "json" || !(e instanceof GateError)) throw e;
      fault = true;
    }
    for (const ev of events) {
      if (ev.type === "value-start") {
        const field = this.where === "form" ? ev.pointer : this.field;
        this.value = new ValueCandidate(field, this.where, ev, this.out);
      } else if (ev.type === "value-data") await this.value!.push(ev.bytes);
      else {
        await this.value!.finish(ev.offset);
        this.value = null;
      }
    }
    if (fault) {
      this.dead = true;
      this.value = null;
    }
  }
}

function formReader(at: number): Reader {
  const r = new FormValueReader(at);
  const into = (out: JsonEvent[], events: JsonEvent[]) => {
    for (const e of events) out.push(e);
  };
  return { push: (c, out) => into(out, r.push(c)), finish: (out) => into(out, r.finish()) };
}

function jsonReader(at: number): Reader {
  const r = new JsonStringReader(at);
  return { push: (c, out) => void r.push(c, out), finish: () => r.finish() };
}

/** A text field read whole as one value. */
class WholeValue implements Reader {
  private started = false;
  private readonly start: number;
  private readonly end: () => number;

  constructor(start: number, end: () => number) {
    this.start = start;
    this.end = end;
  }
  push(chunk: Uint8Array, ev: JsonEvent[]): void {
    if (!this.started) {
      this.started = true;
      ev.push({ type: "value-start", pointer: "", offset: this.start });
    }
    if (chunk.length > 0) ev.push({ type: "value-data", bytes: chunk });
  }
  finish(ev: JsonEvent[]): void {
    if (this.started) ev.push({ type: "value-end", offset: this.end() });
  }
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12;
}

/** One value being decoded: buffered until it reaches minBytes, digested from then on. */
class ValueCandidate {
  private readonly decoder = new TextValueDecoder(PRIMARY_RECIPE);
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private digest: FileDigest | null = null;
  private text: Uint8Array[] | null = [];
  private textBytes = 0;

  private readonly field: string;
  private readonly where: Carrier["in"];
  private readonly startEv: { pointer: string; offset: number };
  private readonly out: TextFiles;

  constructor(
    field: string,
    where: Carrier["in"],
    startEv: { pointer: string; offset: number },
    out: TextFiles,
  ) {
    this.field = field;
    this.where = where;
    this.startEv = startEv;
    this.out = out;
  }

  async push(text: Uint8Array): Promise<void> {
    if (this.text) {
      this.textBytes += text.length;
      if (this.textBytes <= KEEP_TEXT_BYTES) this.text.push(text);
      else this.text = null;
    }
    await this.take(this.decoder.push(text));
  }

  async finish(end: number): Promise<void> {
    await this.take(this.decoder.finish());
    const carrier: Omit<Carrier, "recipe"> = {
      in: this.where,
      at: this.where === "json" ? this.startEv.pointer : "",
      as: this.decoder.mediaType === null ? "base64" : "data-url",
    };
    const primary = this.digest ? await this.close(this.digest, end, carrier, PRIMARY_RECIPE) : null;
    const { padding, percent } = this.decoder.ambiguity;
    const recipes: Recipe[] = [];
    if (padding)
      recipes.push({ padding: "complete", percentFirst: true }, { padding: "skip", percentFirst: true });
    if (percent) recipes.push({ padding: "stop", percentFirst: false });
    if (recipes.length === 0) return;
    if (!this.text) {
      this.out.defer({ field: this.field, start: this.startEv.offset, end, carrier, recipes });
      return;
    }
    for (const recipe of recipes) {
      const d = new TextValueDecoder(recipe);
      const digest = this.newDigest(d.mediaType);
      let size = 0;
      for (const t of [...this.text.map((t) => d.push(t)), d.finish()]) {
        size += t.length;
        await digest.update(t);
      }
      if (size < this.out.opts.minBytes) continue;
      const file = await this.close(digest, end, carrier, recipe, false);
      if (!primary || JSON.stringify(file.digests) !== JSON.stringify(primary.digests)) this.out.add(file);
    }
  }

  private async take(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    if (this.digest) return this.digest.update(bytes);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes < this.out.opts.minBytes) return;
    this.digest = this.newDigest(this.decoder.mediaType);
    for (const p of this.pending) await this.digest.update(p);
    this.pending = [];
  }

  private newDigest(mediaType: string | null): FileDigest {
    return new FileDigest(newFile(-1, this.startEv.offset, this.field, null, mediaType), this.out.opts.algos);
  }

  private async close(
    digest: FileDigest,
    end: number,
    carrier: Omit<Carrier, "recipe">,
    recipe: Recipe,
    add = true,
  ): Promise<ScannedFile> {
    await digest.finish(end);
    digest.file.carrier = { ...carrier, recipe };
    if (add) this.out.add(digest.file);
    return digest.file;
  }
}
