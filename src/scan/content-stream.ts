/**
 * An upload's body read once: every block as it came goes into the hold (what is forwarded),
 * and the content (the body decoded, when it has a Content-Encoding) goes to the scanner.
 * Decoding runs beside the reading, through the runtime's pipes, so the body is held encoded
 * and only about one block of decoded data is in memory at a time.
 */

import { AppError } from "../errors.ts";
import { readBlocks, SCAN_BLOCK_BYTES } from "./blocks.ts";
import { type ContentDecoder, decodedBlocks } from "./content-encoding.ts";
import type { BodyHold } from "./hold.ts";

export interface ContentOptions {
  hold: BodyHold;
  maxBodyBytes: number;
  /** Largest decoded/encoded ratio. */
  maxDecodeRatio: number;
  /** The declared Content-Length, if any. */
  declared: number | null;
}

export class UploadContent {
  /** Bytes of the body as it came, read so far. */
  rawBytes = 0;
  private failure: unknown;
  private stopped = false;
  private inflight: Promise<unknown> = Promise.resolve();

  private readonly body: ReadableStream<Uint8Array> | null;
  private readonly decoders: ContentDecoder[];
  private readonly opts: ContentOptions;

  constructor(body: ReadableStream<Uint8Array> | null, decoders: ContentDecoder[], opts: ContentOptions) {
    this.body = body;
    this.decoders = decoders;
    this.opts = opts;
  }

  /** The content, in owned blocks. */
  async *blocks(): AsyncGenerator<Uint8Array> {
    if (!this.body) {
      // No body at all, though the headers declare one (a GET with a Content-Length).
      if ((this.opts.declared ?? 0) > 0) throw lengthMismatch();
      return;
    }
    const raw = this.raw(this.body);
    if (this.decoders.length === 0) {
      yield* raw;
      return;
    }
    let cancelled = false;
    const encoded = new ReadableStream<Uint8Array>({
      pull: async (ctrl) => {
        const next = raw.next();
        this.inflight = next;
        let r: IteratorResult<Uint8Array>;
        try {
          r = await next;
        } catch (e) {
          // A failure after the decoder gave up (and cancelled the read) is only its consequence.
          if (!cancelled) this.failure = e;
          throw e;
        }
        if (cancelled) return;
        if (r.done) ctrl.close();
        else ctrl.enqueue(r.value);
      },
      cancel: async () => {
        cancelled = true;
        await this.inflight.catch(() => undefined);
        await raw.return(undefined);
      },
    });
    yield* decodedBlocks(
      encoded,
      this.decoders,
      { maxBytes: this.opts.maxBodyBytes, maxRatio: this.opts.maxDecodeRatio },
      () => this.rawBytes,
      () => this.failure,
      SCAN_BLOCK_BYTES,
    );
  }

  /** Stops reading after a failure; once it resolves, nothing more goes into the hold. */
  async stop(): Promise<void> {
    this.stopped = true;
    // Leaving the decoded blocks early cancelled the decoder's pipe, and with it this read.
    await this.inflight.catch(() => undefined);
  }

  private async *raw(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
    const { hold, maxBodyBytes, declared } = this.opts;
    for await (const value of readBlocks(body)) {
      if (this.stopped) throw new Error("upload content read after stop");
      this.rawBytes += value.length;
      if (this.rawBytes > maxBodyBytes) throw tooLarge(maxBodyBytes);
      if (declared !== null && this.rawBytes > declared) throw lengthMismatch();
      await hold.append(value);
      yield value;
    }
    if (declared !== null && this.rawBytes !== declared) throw lengthMismatch();
  }
}

export function tooLarge(max: number): AppError {
  return new AppError("body_too_large", `upload larger than the ${max}-byte limit`);
}

export function lengthMismatch(): AppError {
  return new AppError("length_mismatch", "body length does not match Content-Length");
}
