/** One file found in an upload, and the digest accumulator that fills it in as its bytes stream by. */
import { RECOGNITION_HEAD_BYTES } from "../image/recognise.ts";
import { type DigestAlgo, DigestSet, type Digests } from "./digests.ts";
import type { Recipe } from "./text-value.ts";

/**
 * Bytes of each file kept for type sniffing: as many as recognition reads (tar's magic sits at
 * byte 257; with 64 kept, a tar archive was judged "other" instead of an archive).
 */
export const HEAD_BYTES = RECOGNITION_HEAD_BYTES;

/** How a file decoded from a text value sat in the upload. */
export interface Carrier {
  /** What held the value: a JSON string, a form value, or a text field (or body) read whole. */
  in: "json" | "form" | "text";
  /** JSON pointer of the string, or "" for a form value or a text field read whole. */
  at: string;
  /** A `data:` URL, or plain base64. */
  as: "data-url" | "base64";
  /** How the value's characters were decoded (base64 padding rule, percent-decoding). */
  recipe: Recipe;
}

/** One file of an upload: a multipart part, the whole body, or a file decoded from a text value. */
export interface ScannedFile {
  index: number;
  /** Form field name ("" for a non-multipart body). */
  field: string;
  filename: string | null;
  declaredType: string | null;
  /**
   * Offsets in the upload's content (the body, decoded when it has a Content-Encoding): [start,
   * end). For a file carried as text, the span of the text value that holds it.
   */
  start: number;
  end: number;
  /** Size of the file's bytes (end - start, unless carried as text). */
  size: number;
  /** First bytes of the file, for sniffing its type. */
  head: Uint8Array;
  digests: Digests;
  /** Set for a file decoded from a text value (base64, a `data:` URL). */
  carrier?: Carrier;
}

export function newFile(
  index: number,
  start: number,
  field: string,
  filename: string | null,
  type: string | null,
): ScannedFile {
  return {
    index,
    field,
    filename,
    declaredType: type,
    start,
    end: start,
    size: 0,
    head: new Uint8Array(HEAD_BYTES),
    digests: {},
  };
}

/** Digests one file's bytes as they stream, keeping its first bytes for sniffing. */
export class FileDigest {
  readonly set: DigestSet;
  readonly file: ScannedFile;
  private headFill = 0;
  private size = 0;
  constructor(file: ScannedFile, algos: DigestAlgo[]) {
    this.file = file;
    this.set = new DigestSet(algos);
  }
  async update(bytes: Uint8Array): Promise<void> {
    if (this.headFill < HEAD_BYTES) {
      const take = bytes.subarray(0, HEAD_BYTES - this.headFill);
      this.file.head.set(take, this.headFill);
      this.headFill += take.length;
    }
    this.size += bytes.length;
    await this.set.update(bytes);
  }
  async finish(end: number): Promise<void> {
    this.file.end = end;
    this.file.size = this.size;
    this.file.digests = await this.set.finish();
    this.file.head = this.file.head.subarray(0, this.headFill);
  }
}
