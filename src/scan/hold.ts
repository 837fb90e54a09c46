/**
 * Holds an upload body until the verdict, so that no byte of a blocked upload reaches the
 * origin. Small bodies stay in memory while they fit both `holdMemoryBytes` and the isolate's
 * shared budget; otherwise the body is spooled to R2. A body of declared length is streamed
 * into one R2 put through a FixedLengthStream (one write operation instead of one per part,
 * and 1.5x faster on 50 MiB locally: bench/README.md); a body of unknown length goes up as a
 * multipart upload in fixed 5 MiB parts. Either way memory stays bounded whatever the body's
 * size: about one block for a put, about one part for a multipart upload.
 */
import { concatBytes } from "../bytes.ts";
import { viaBinding } from "../errors.ts";
import type { MemoryBudget } from "./budget.ts";

/** R2 multipart parts must be at least 5 MiB (all but the last); the spool writes parts of exactly this size. */
export const SPOOL_PART_BYTES = 5 * 1024 * 1024;

/** The R2 key a request's body is spooled under (see docs/storage.md). */
export function spoolKey(requestId: string): string {
  return `spool/${requestId}`;
}

export interface HoldOptions {
  bucket: R2Bucket;
  /** R2 key used if the body is spooled. */
  spoolKey: string;
  holdMemoryBytes: number;
  /** Memory shared by all uploads held in this isolate. */
  budget: MemoryBudget;
}

/** The held body, readable once for forwarding and by range for evidence. */
export interface HeldBody {
  readonly size: number;
  readonly spooled: boolean;
  /** The whole body as a stream of known length. */
  stream(): Promise<ReadableStream<Uint8Array> | Uint8Array>;
  /** Bytes [start, end) as a stream of known length, or as an array when held in memory. */
  range(start: number, end: number): Promise<ReadableStream<Uint8Array> | Uint8Array>;
  /** Removes any spooled copy. Safe to call more than once. */
  discard(): Promise<void>;
}

export class BodyHold {
  private readonly opts: HoldOptions;
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private total = 0;
  /** Set once the body has been declared with its length (Content-Length). */
  private declared: number | null = null;
  /** The spool of a body of known length: one put, fed through a FixedLengthStream. */
  private put: {
    writer: WritableStreamDefaultWriter<Uint8Array>;
    done: Promise<unknown>;
    /** Rejects as soon as the put fails (never settles otherwise), to race writes against. */
    failed: Promise<never>;
  } | null = null;
  /** The spool of a body of unknown length: a multipart upload. */
  private upload: R2MultipartUpload | null = null;
  private parts: R2UploadedPart[] = [];
  /** Bytes taken from the shared budget (while held in memory), returned on spool, discard or abort. */
  private reserved = 0;
  /** Most bytes held in memory at once; tests use it to check the bound. */
  peakBuffered = 0;

  constructor(opts: HoldOptions) {
    this.opts = opts;
  }

  /**
   * Declares the body's exact length before the first append (the caller checks that the body
   * then has exactly this length, and aborts the hold if not). Lets a spool be a single put.
   */
  declareLength(bytes: number): void {
    if (this.total > 0) throw new Error("BodyHold.declareLength after append");
    this.declared = bytes;
  }

  private get spooling(): boolean {
    return this.put !== null || this.upload !== null;
  }

  /** Appends the next chunk. The hold takes it over: the caller must not modify it afterwards. */
  async append(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    if (this.declared !== null && this.total + chunk.length > this.declared) {
      throw new Error("BodyHold.append past the declared length");
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.total += chunk.length;
    this.peakBuffered = Math.max(this.peakBuffered, this.buffered);
    if (!this.spooling) {
      if (this.total <= this.opts.holdMemoryBytes && this.opts.budget.tryTake(chunk.length)) {
        this.reserved += chunk.length;
        return;
      }
      this.release();
      await this.startSpool();
    }
    if (this.put !== null) {
      const { writer, failed } = this.put;
      // A put that failed without reading its stream would leave a write waiting forever.
      for (const c of this.chunks.splice(0))
        await viaBinding("R2", () => Promise.race([writer.write(c), failed]));
      this.buffered = 0;
    } else {
      while (this.buffered >= SPOOL_PART_BYTES) await this.flushPart(SPOOL_PART_BYTES);
    }
  }

  private async startSpool(): Promise<void> {
    const { bucket, spoolKey } = this.opts;
    if (this.declared === null) {
      this.upload = await viaBinding("R2", () => bucket.createMultipartUpload(spoolKey));
      return;
    }
    const { readable, writable } = new FixedLengthStream(this.declared);
    const done = viaBinding("R2", () => bucket.put(spoolKey, readable));
    // A put succeeds only once every declared byte is written, so it never ends while a write waits.
    const failed = done.then(() => new Promise<never>(() => undefined));
    // Both are awaited later (writes and close race `failed`; close and abort await `done`).
    done.catch(() => undefined);
    failed.catch(() => undefined);
    this.put = { writer: writable.getWriter(), done, failed };
  }

  /** Ends the body; returns the held body. */
  async close(): Promise<HeldBody> {
    const put = this.put;
    if (put !== null) {
      await viaBinding("R2", () => Promise.race([put.writer.close(), put.failed]));
      await put.done;
      return spooledBody(this.opts.bucket, this.opts.spoolKey, this.total);
    }
    const upload = this.upload;
    if (upload === null) {
      const bytes = concatBytes(this.chunks);
      this.chunks = [];
      return memoryBody(bytes, () => this.release());
    }
    if (this.buffered > 0 || this.parts.length === 0) await this.flushPart(this.buffered);
    await viaBinding("R2", () => upload.complete(this.parts));
    return spooledBody(this.opts.bucket, this.opts.spoolKey, this.total);
  }

  /** Abandons the body (on error): aborts any spool upload. */
  async abort(): Promise<void> {
    this.chunks = [];
    this.release();
    const put = this.put;
    this.put = null;
    if (put) {
      // An unfinished put stores nothing: R2 writes an object whole or not at all.
      await put.writer.abort(new Error("upload abandoned")).catch(() => undefined);
      await put.done.catch(() => undefined);
    }
    const upload = this.upload;
    this.upload = null;
    if (upload) await upload.abort().catch(() => undefined);
  }

  private release(): void {
    this.opts.budget.give(this.reserved);
    this.reserved = 0;
  }

  private async flushPart(size: number): Promise<void> {
    const upload = this.upload!;
    const part = takeBytes(this.chunks, size);
    this.buffered -= size;
    const n = this.parts.length + 1;
    this.parts.push(await viaBinding("R2", () => upload.uploadPart(n, part)));
  }
}

function memoryBody(bytes: Uint8Array, release: () => void): HeldBody {
  return {
    size: bytes.length,
    spooled: false,
    stream: async () => bytes,
    range: async (start, end) => bytes.subarray(start, end),
    discard: async () => release(),
  };
}

function spooledBody(bucket: R2Bucket, key: string, size: number): HeldBody {
  let discarded = false;
  const read = async (range?: R2Range) => {
    const obj = await viaBinding("R2", () => bucket.get(key, range ? { range } : {}));
    if (!obj) throw new Error(`spooled body ${key} vanished`);
    return obj.body;
  };
  return {
    size,
    spooled: true,
    stream: () => read(),
    range: (start, end) => read({ offset: start, length: end - start }),
    discard: async () => {
      if (discarded) return;
      discarded = true;
      await bucket.delete(key);
    },
  };
}

/** Removes exactly `size` bytes from the front of `chunks` and returns them as one array. */
function takeBytes(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const head = chunks[0]!;
    const need = size - filled;
    if (head.length <= need) {
      out.set(head, filled);
      filled += head.length;
      chunks.shift();
    } else {
      out.set(head.subarray(0, need), filled);
      filled += need;
      chunks[0] = head.subarray(need);
    }
  }
  return out;
}
