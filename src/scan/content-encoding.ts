/**
 * Content-Encoding of an upload body. Origins decode what they are sent (Express's body
 * parsers inflate gzip and deflate, Apache's DEFLATE input filter gunzips), so the gate judges
 * the decoded bytes and forwards the encoded ones unchanged. Decoding is the runtime's native
 * DecompressionStream, as a stream: memory stays at about one block per layer.
 *
 * What workerd decodes (tested in test/scan/encoded-body.attack.test.ts): `gzip` (and its
 * alias `x-gzip`) and `deflate`. HTTP's `deflate` is the zlib format (RFC 9110 §8.4.1.2);
 * raw deflate sent under that name fails to decode here, as it does in Node's
 * `zlib.createInflate` that Express uses, and is refused as corrupt. Brotli (`br`), `zstd`,
 * `compress` and anything else are refused with 415: the gate cannot read them.
 */
import { GateError } from "../errors.ts";

/** A DecompressionStream format the gate uses. */
export type ContentDecoder = "gzip" | "deflate";

/** Formats of DecompressionStream for the HTTP content codings the gate decodes. */
const DECODERS: Record<string, ContentDecoder> = {
  gzip: "gzip",
  "x-gzip": "gzip",
  deflate: "deflate",
};

/**
 * Most codings stacked on one body. Each layer costs a full decompression pass; no real client
 * stacks more than two.
 */
export const MAX_ENCODING_LAYERS = 2;

/** Decoded bytes always allowed, whatever the ratio: a small body may compress well. */
export const DECODE_RATIO_FLOOR_BYTES = 1024 * 1024;

function unsupported(detail: string): GateError {
  return new GateError("unsupported_encoding", "the upload's Content-Encoding is not supported", detail);
}

/**
 * The decoders to apply, in decoding order (the reverse of the header's order, which lists the
 * codings as they were applied). An empty list means the body is not encoded.
 */
export function contentDecoders(headers: Headers): ContentDecoder[] {
  const raw = headers.get("content-encoding");
  if (raw === null) return [];
  const codings = raw
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c.length > 0);
  // `identity` alone means "not encoded" (Express accepts it); mixed with others it means nothing sane.
  if (codings.length === 1 && codings[0] === "identity") return [];
  if (codings.length > MAX_ENCODING_LAYERS) throw unsupported(`${codings.length} stacked codings`);
  return codings
    .map((c) => {
      const format = DECODERS[c];
      if (!format) throw unsupported(`Content-Encoding ${c.slice(0, 40)}`);
      return format;
    })
    .reverse();
}

export interface DecodeLimits {
  /** Largest decoded size (MAX_BODY_BYTES). */
  maxBytes: number;
  /** Largest decoded/encoded ratio (MAX_DECODE_RATIO), checked against the encoded bytes read so far. */
  maxRatio: number;
}

/** Decoded data outside the limits: a decompression bomb, or simply too large. */
export function decodedTooLarge(detail: string): GateError {
  return new GateError("decoded_too_large", "the upload decodes to more than the gate accepts", detail);
}

/** A compressed stream that does not decode: truncated, corrupt, or followed by trailing bytes. */
export function corruptEncoding(cause: unknown): GateError {
  return new GateError(
    "corrupt_encoding",
    "the upload's compressed body could not be decoded",
    String(cause),
    {
      cause,
    },
  );
}

/**
 * The decoded content of `encoded`, in owned blocks of `blockBytes`, checked against the
 * limits as it streams (`encodedSoFar` reports the encoded bytes read so far). Errors of
 * `encoded` itself come out unchanged (`sourceError`); a decoder's failure comes out as
 * corrupt_encoding. The decoder emits 4 KiB chunks; reading them in one loop here, rather than
 * through further transform streams, keeps the cost per chunk low.
 */
export async function* decodedBlocks(
  encoded: ReadableStream<Uint8Array>,
  decoders: ContentDecoder[],
  limits: DecodeLimits,
  encodedSoFar: () => number,
  sourceError: () => unknown,
  blockBytes: number,
): AsyncGenerator<Uint8Array> {
  let out = encoded;
  decoders.forEach((format, i) => {
    out = out.pipeThrough(new DecompressionStream(format));
    // Between stacked layers too: an inner layer of empty blocks could cost much CPU for little output.
    if (i < decoders.length - 1) out = out.pipeThrough(limitLayer(limits, encodedSoFar));
  });
  const reader = out.getReader();
  const check = limitCheck(limits, encodedSoFar);
  let block = new Uint8Array(blockBytes);
  let fill = 0;
  let ended = false;
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        const source = sourceError();
        if (source !== undefined) throw source;
        if (e instanceof GateError) throw e;
        throw corruptEncoding(e);
      }
      if (r.done) break;
      check(r.value.length);
      let at = 0;
      while (at < r.value.length) {
        const n = Math.min(blockBytes - fill, r.value.length - at);
        block.set(r.value.subarray(at, at + n), fill);
        fill += n;
        at += n;
        if (fill === blockBytes) {
          yield block;
          block = new Uint8Array(blockBytes);
          fill = 0;
        }
      }
    }
    ended = true;
    if (fill > 0) yield block.subarray(0, fill);
  } finally {
    // Left early (the scan failed): cancelling the pipe stops the read of the body as it came.
    if (ended) reader.releaseLock();
    else await reader.cancel().catch(() => undefined);
  }
}

/** Counts decoded bytes; throws decoded_too_large past the limits. */
function limitCheck(limits: DecodeLimits, encodedSoFar: () => number): (n: number) => void {
  let decoded = 0;
  return (n) => {
    decoded += n;
    if (decoded > limits.maxBytes) throw decodedTooLarge(`decoded past ${limits.maxBytes} bytes`);
    const allowed = Math.max(DECODE_RATIO_FLOOR_BYTES, limits.maxRatio * encodedSoFar());
    if (decoded > allowed) throw decodedTooLarge(`decoded ${decoded} bytes from ${encodedSoFar()}`);
  };
}

function limitLayer(
  limits: DecodeLimits,
  encodedSoFar: () => number,
): TransformStream<Uint8Array, Uint8Array> {
  const check = limitCheck(limits, encodedSoFar);
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctrl) {
      check(chunk.length);
      ctrl.enqueue(chunk);
    },
  });
}
