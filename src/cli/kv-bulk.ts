/**
 * Writes KV pairs as wrangler bulk files (`[{ key, value, base64? }]`) within KV's bulk limits,
 * and hands each finished file to an uploader (wrangler) or leaves it on disk.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** KV's bulk write limit: 10,000 pairs per request. */
export const BULK_MAX_PAIRS = 10_000;
/** Under KV's 100 MB request limit, with room for JSON escaping and base64 growth. */
export const BULK_MAX_BYTES = 90_000_000;

export type BulkUploader = (file: string) => Promise<void>;

export class BulkWriter {
  private readonly dir: string;
  private readonly upload: BulkUploader | undefined;
  private readonly concurrency: number;
  private uploads: Promise<void>[] = [];
  private parts: string[] = [];
  private bytes = 0;
  private fileNo = 0;
  pairsWritten = 0;
  filesWritten = 0;

  /** `concurrency`: bulk files uploading at once (their order does not matter until `flush`). */
  constructor(dir: string, upload?: BulkUploader, concurrency = 1) {
    this.dir = dir;
    this.upload = upload;
    this.concurrency = concurrency;
    mkdirSync(dir, { recursive: true });
  }

  async add(key: string, value: string | Uint8Array): Promise<void> {
    const pair =
      typeof value === "string"
        ? `{"key":${JSON.stringify(key)},"value":${JSON.stringify(value)}}`
        : `{"key":${JSON.stringify(key)},"value":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")}","base64":true}`;
    if (this.parts.length >= BULK_MAX_PAIRS || this.bytes + pair.length > BULK_MAX_BYTES)
      await this.writeFile();
    this.parts.push(pair);
    this.bytes += pair.length + 1;
  }

  /** Writes the pending pairs and waits until every file written so far is uploaded. */
  async flush(): Promise<void> {
    await this.writeFile();
    const pending = this.uploads;
    this.uploads = [];
    await Promise.all(pending);
  }

  /** Writes the pending pairs as one bulk file and starts its upload. */
  private async writeFile(): Promise<void> {
    if (this.parts.length === 0) return;
    const file = join(this.dir, `bulk-${String(this.fileNo++).padStart(6, "0")}.json`);
    writeFileSync(file, `[${this.parts.join(",\n")}]`);
    this.pairsWritten += this.parts.length;
    this.filesWritten++;
    this.parts = [];
    this.bytes = 0;
    if (!this.upload) return;
    const up = this.upload(file);
    // Rejections surface at the next flush (or here, once the slots are full).
    up.catch(() => {});
    this.uploads.push(up);
    if (this.uploads.length >= this.concurrency) await this.uploads.shift();
  }
}
