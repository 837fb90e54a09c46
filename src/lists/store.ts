/**
 * Where list data is read and written. The publisher only sees this interface, so the same
 * code drives a KV binding (admin API, tests) and wrangler bulk files (the CLI).
 */

export interface ListStore {
  /** JSON values of `keys`, in order; null where a key is absent. */
  getJsonMany<T>(keys: string[]): Promise<(T | null)[]>;
  getBytes(key: string): Promise<Uint8Array | null>;
  /** May be buffered; `flush` makes every earlier put durable. */
  put(key: string, value: string | Uint8Array): Promise<void>;
  flush(): Promise<void>;
}

export async function getJson<T>(store: ListStore, key: string): Promise<T | null> {
  return (await store.getJsonMany<T>([key]))[0] ?? null;
}

/** The part of a KV binding the store uses (structural, so Node code type-checks without workers-types). */
export interface KvBinding {
  get(key: string, type: "json"): Promise<unknown>;
  get(key: string, type: "arrayBuffer"): Promise<ArrayBuffer | null>;
  put(key: string, value: string | ArrayBuffer | ArrayBufferView): Promise<void>;
}

/** Parallel KV operations in flight at once; well under the runtime's connection limits. */
const KV_CONCURRENCY = 32;

/** A ListStore over a KV binding. Writes go out in parallel and are awaited by `flush`. */
export class KvListStore implements ListStore {
  private readonly kv: KvBinding;
  private inFlight: Promise<void>[] = [];
  /** Read and write operations issued, for callers that must respect a per-request budget. */
  operations = 0;

  constructor(kv: KvBinding) {
    this.kv = kv;
  }

  async getJsonMany<T>(keys: string[]): Promise<(T | null)[]> {
    const out: (T | null)[] = [];
    for (let i = 0; i < keys.length; i += KV_CONCURRENCY) {
      const part = keys.slice(i, i + KV_CONCURRENCY);
      this.operations += part.length;
      out.push(...((await Promise.all(part.map((k) => this.kv.get(k, "json")))) as (T | null)[]));
    }
    return out;
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    this.operations++;
    const buf = await this.kv.get(key, "arrayBuffer");
    return buf ? new Uint8Array(buf) : null;
  }

  async put(key: string, value: string | Uint8Array): Promise<void> {
    this.operations++;
    const put = this.kv.put(key, value);
    // Handled here so a failure waits for `flush` (which rethrows it) instead of surfacing as an unhandled rejection.
    put.catch(() => undefined);
    this.inFlight.push(put);
    if (this.inFlight.length >= KV_CONCURRENCY) await this.flush();
  }

  async flush(): Promise<void> {
    const pending = this.inFlight;
    this.inFlight = [];
    await Promise.all(pending);
  }
}
