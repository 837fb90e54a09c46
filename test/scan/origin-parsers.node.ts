/**
 * The multipart parsers origins run, as the differential fuzz target feeds them: busboy (multer,
 * express-fileupload), formidable, and the runtime's `Request.formData()` (undici; Hono's
 * `parseBody`, Next.js route handlers). Each returns every value it extracted — files and text
 * fields — up to an error, if any: an origin that streams files to disk may keep those it read
 * before the error. Also the gate's own reading (content-type.ts + multipart.ts), in Node.
 */
import { Readable, Writable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import busboy from "busboy";
import formidable from "formidable";
import { AppError } from "../../src/errors.ts";
import { multipartBoundary } from "../../src/scan/content-type.ts";
import { MultipartParser } from "../../src/scan/multipart.ts";

export interface Extracted {
  kind: "file" | "field";
  /** A file's bytes; for a text field, the bytes its string was decoded from are unknown. */
  bytes?: Uint8Array;
  text?: string;
}

export interface OriginReading {
  parser: string;
  values: Extracted[];
  error: string | null;
}

/** The gate's reading: the bytes of every part it hashes, or the code of its refusal. */
export function gateReading(contentType: string, body: Uint8Array, cuts: number[]): Uint8Array[] | string {
  try {
    const boundary = multipartBoundary(contentType);
    if (boundary === null) return [body];
    const parser = new MultipartParser(boundary, { maxHeaderBytes: 16384, maxParts: 1000 });
    const parts: Uint8Array[] = [];
    let current: number[] = [];
    let prev = 0;
    for (const cut of [...cuts.filter((c) => c > 0 && c < body.length).sort((a, b) => a - b), body.length]) {
      for (const ev of parser.push(body.subarray(prev, cut))) {
        if (ev.type === "part-start") current = [];
        else if (ev.type === "data") for (const b of ev.bytes) current.push(b);
        else parts.push(Uint8Array.from(current));
      }
      prev = cut;
    }
    parser.finish();
    return parts;
  } catch (e) {
    if (e instanceof AppError) return e.message;
    throw e;
  }
}

function chunksOf(body: Uint8Array, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < body.length))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const cut of [...points, body.length]) {
    out.push(Buffer.from(body.subarray(prev, cut)));
    prev = cut;
  }
  return out;
}

/** How long a parser may take on one small body before it counts as hung. */
const HANG_MS = 3000;

/**
 * Runs one origin parser. One that never finishes (no end, no error) is reported as hung
 * after HANG_MS, with the values it had extracted by then.
 */
async function readWith(parser: string, read: (r: OriginReading) => Promise<void>): Promise<OriginReading> {
  const reading: OriginReading = { parser, values: [], error: null };
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      reading.error = `hung: no end after ${HANG_MS} ms`;
      resolve();
    }, HANG_MS);
  });
  await Promise.race([read(reading), hung]);
  clearTimeout(timer);
  return { ...reading, values: [...reading.values] };
}

export function busboyReading(contentType: string, body: Uint8Array, cuts: number[]): Promise<OriginReading> {
  return readWith("busboy", (reading) => busboyRead(contentType, body, cuts, reading));
}

function busboyRead(
  contentType: string,
  body: Uint8Array,
  cuts: number[],
  reading: OriginReading,
): Promise<void> {
  return new Promise((resolve) => {
    let bb: busboy.Busboy;
    try {
      // latin1 keeps a text field's bytes one char each, unless the part names a charset.
      bb = busboy({ headers: { "content-type": contentType }, defCharset: "latin1" });
    } catch (e) {
      reading.error = String(e);
      resolve();
      return;
    }
    let open = 0;
    let closed = false;
    const done = () => {
      if (!closed || open > 0) return;
      // busboy's urlencoded reading is not a multipart one.
      if (!/^\s*multipart\//i.test(contentType)) reading.values = [];
      resolve();
    };
    bb.on("file", (_name, stream) => {
      open++;
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        reading.values.push({ kind: "file", bytes: new Uint8Array(Buffer.concat(chunks)) });
        open--;
        done();
      });
      stream.on("error", () => {
        open--;
        done();
      });
    });
    bb.on("field", (_name, value) => reading.values.push({ kind: "field", text: value }));
    const finish = (error: unknown) => {
      if (closed) return;
      if (error) reading.error = String(error);
      closed = true;
      // A file stream cut by an error never ends: what it held is not a stored file.
      setImmediate(() => {
        open = 0;
        done();
      });
    };
    bb.on("error", finish);
    bb.on("close", () => finish(null));
    const src = Readable.from(chunksOf(body, cuts));
    src.pipe(bb);
  });
}

export function formidableReading(
  contentType: string,
  body: Uint8Array,
  cuts: number[],
): Promise<OriginReading> {
  return readWith("formidable", (reading) => formidableRead(contentType, body, cuts, reading));
}

async function formidableRead(
  contentType: string,
  body: Uint8Array,
  cuts: number[],
  reading: OriginReading,
): Promise<void> {
  const files = new Map<unknown, Buffer[]>();
  const form = formidable({
    allowEmptyFiles: true,
    minFileSize: 0,
    maxFields: Infinity,
    fileWriteStreamHandler: (file?: unknown) => {
      const chunks: Buffer[] = [];
      files.set(file, chunks);
      return new Writable({
        write(c: Buffer, _enc, cb) {
          chunks.push(c);
          cb();
        },
      });
    },
  });
  form.on("file", (_name, file) => {
    const chunks = files.get(file);
    if (chunks) reading.values.push({ kind: "file", bytes: new Uint8Array(Buffer.concat(chunks)) });
  });
  form.on("field", (_name, value) => reading.values.push({ kind: "field", text: value }));
  const req = Object.assign(Readable.from(chunksOf(body, cuts)), {
    headers: { "content-type": contentType, "content-length": String(body.length) },
  });
  try {
    // biome-ignore lint/suspicious/noExplicitAny: formidable types want an IncomingMessage; it reads headers and the stream only.
    await form.parse(req as any);
  } catch (e) {
    reading.error = String(e);
  }
  // Formidable accepts anything naming "multipart"; its other plugins (JSON, urlencoded,
  // octet-stream) are not multipart readings.
  if ((form as unknown as { type?: string }).type !== "multipart") reading.values = [];
}

export function formDataReading(contentType: string, body: Uint8Array): Promise<OriginReading> {
  return readWith("Request.formData", (reading) => formDataRead(contentType, body, reading));
}

async function formDataRead(contentType: string, body: Uint8Array, reading: OriginReading): Promise<void> {
  try {
    const req = new Request("http://origin.test/", {
      method: "POST",
      headers: { "content-type": contentType },
      body: Buffer.from(body),
    });
    const entries: FormDataEntryValue[] = [];
    (await req.formData()).forEach((v) => {
      entries.push(v);
    });
    for (const v of entries) {
      if (typeof v === "string") reading.values.push({ kind: "field", text: v });
      else reading.values.push({ kind: "file", bytes: new Uint8Array(await v.arrayBuffer()) });
    }
  } catch (e) {
    reading.error = String(e);
  }
  // An urlencoded or text/plain reading is not a multipart one.
  if (!/^\s*multipart\//i.test(contentType)) reading.values = [];
}

/**
 * The strings a parser may have made of `bytes` (Node's latin1, not WHATWG's windows-1252;
 * formidable never ends its StringDecoder, so it drops an incomplete last character).
 */
function decodings(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes);
  return [
    b.toString("latin1"),
    b.toString("utf16le"),
    new TextDecoder().decode(b),
    new StringDecoder("utf8").write(b),
  ];
}

/** True when `value` is the bytes of one of `parts` (a text field: one of their decodings). */
export function hashedByGate(value: Extracted, parts: Uint8Array[]): boolean {
  if (value.bytes) return parts.some((p) => Buffer.from(p).equals(Buffer.from(value.bytes!)));
  return parts.some((p) => decodings(p).includes(value.text!));
}
