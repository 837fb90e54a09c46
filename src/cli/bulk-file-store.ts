/**
 * A write-only ListStore for building a list offline: every put goes into wrangler bulk files
 * in a directory (upload them later with `wrangler kv bulk put`, in file-name order, the
 * manifest's file last), and list metadata it wrote is read back from memory. Membership
 * records (`lists/<id>/e/…`) are never read, so it suits a first import into an empty namespace —
 * the case where the publisher skips reads anyway — and benchmarks of the import path.
 */
import { isRecordKey } from "../lists/membership.ts";
import type { ListStore } from "../lists/store.ts";
import { type BulkUploader, BulkWriter } from "./kv-bulk.ts";

export class BulkFileStore implements ListStore {
  readonly writer: BulkWriter;
  /** Values of non-membership keys written so far (manifest, history, prefilters, shards). */
  readonly meta = new Map<string, string | Uint8Array>();

  constructor(dir: string, onFile?: BulkUploader) {
    this.writer = new BulkWriter(dir, onFile);
  }

  async getJsonMany<T>(keys: string[]): Promise<(T | null)[]> {
    return keys.map((k) => {
      const v = this.meta.get(k);
      return typeof v === "string" ? (JSON.parse(v) as T) : null;
    });
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const v = this.meta.get(key);
    return v instanceof Uint8Array ? v : null;
  }

  async put(key: string, value: string | Uint8Array): Promise<void> {
    // Records and entry shards are the bulk of a list and are never read back in the same run.
    if (!isRecordKey(key) && !key.includes("/entries/")) this.meta.set(key, value);
    await this.writer.add(key, value);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }
}
