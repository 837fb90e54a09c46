/**
 * The bytes of one scanned file, cut again from the held body when they are needed (an image
 * to hash, evidence to keep). The hold keeps the body as it came, so a file inside an encoded
 * body is decoded again, and a file carried as text is decoded from its value again, each time
 * as a stream: nothing but the held body is kept between the scan and the verdict.
 */

import { concatBytes } from "../bytes.ts";
import type { ContentDecoder } from "./content-encoding.ts";
import type { HeldBody } from "./hold.ts";
import { JsonStringUnescaper } from "./json-strings.ts";
import type { Carrier, ScannedFile } from "./scanned-file.ts";
import { PercentDecoder, TextValueDecoder } from "./text-value.ts";

export type Bytes = ReadableStream<Uint8Array> | Uint8Array;

/** Where the judge and the evidence read files from. */
export interface FileSource {
  /** The file's bytes, exactly `file.size` of them. */
  bytes(file: Pick<ScannedFile, "start" | "end" | "carrier">): Promise<Bytes>;
}

/** Files of a held body whose content was encoded with `decoders` (in decoding order; none: plain). */
export function fileSource(body: HeldBody, decoders: ContentDecoder[]): FileSource {
  return {
    async bytes(file) {
      const span = await contentRange(body, decoders, file.start, file.end);
      return file.carrier ? decodeCarried(span, file.carrier) : span;
    },
  };
}

async function contentRange(body: HeldBody, decoders: ContentDecoder[], start: number, end: number) {
  if (decoders.length === 0) return body.range(start, end);
  let content = asStream(await body.stream());
  for (const format of decoders) content = content.pipeThrough(new DecompressionStream(format));
  return slice(content, start, end);
}

function asStream(data: Bytes): ReadableStream<Uint8Array> {
  if (!(data instanceof Uint8Array)) return data;
  return new ReadableStream<Uint8Array>({
    start(ctrl) {
      if (data.length > 0) ctrl.enqueue(data);
      ctrl.close();
    },
  });
}

/** Bytes [start, end) of a stream, as a stream; the rest is cancelled. */
function slice(src: ReadableStream<Uint8Array>, start: number, end: number): ReadableStream<Uint8Array> {
  const reader = src.getReader();
  let at = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      for (;;) {
        if (at >= end) {
          ctrl.close();
          await reader.cancel().catch(() => undefined);
          return;
        }
        const { done, value } = await reader.read();
        if (done) throw new Error("decoded body shorter than at scan time");
        const from = Math.max(0, start - at);
        const to = Math.min(value.length, end - at);
        at += value.length;
        if (to > from) {
          ctrl.enqueue(value.subarray(from, to));
          return;
        }
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

type Step = { push(b: Uint8Array): Uint8Array; finish(): Uint8Array };

/** Turns the span of a text value back into the file it carries. */
function decodeCarried(span: Bytes, carrier: Carrier): Bytes {
  const steps: Step[] = [];
  if (carrier.in === "json") steps.push(new JsonStringUnescaper());
  if (carrier.in === "form") steps.push(new PercentDecoder(true));
  steps.push(new TextValueDecoder(carrier.recipe));
  const run = (chunk: Uint8Array | null): Uint8Array => {
    let bytes = chunk ?? new Uint8Array(0);
    for (const step of steps) {
      const out = chunk === null ? concatBytes([step.push(bytes), step.finish()]) : step.push(bytes);
      bytes = out;
    }
    return bytes;
  };
  if (span instanceof Uint8Array) return concatBytes([run(span), run(null)]);
  const reader = span.getReader();
  let ended = false;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      for (;;) {
        if (ended) return ctrl.close();
        const { done, value } = await reader.read();
        const out = done ? run(null) : run(value);
        ended = done;
        if (out.length > 0) return ctrl.enqueue(out);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}
