/**
 * A PDQ shard object: a Durable Object holding one stored PDQ shard of one list version in
 * memory as a multi-index (src/pdq-shards/mih.ts, in its own instance of the WASM core), loaded
 * once per object from KV through the gate's own shard reader, and answering the gate's queries
 * over RPC. Partition and naming:
 * src/pdq-shards/protocol.ts. The object keeps nothing in storage: evicted, it reloads from KV.
 */
import { DurableObject } from "cloudflare:workers";
import { type ListKeyEnv, listKeyring } from "../lists/env-keyring.ts";
import type { ListMeta } from "../lists/manifest.ts";
import { loadPdqShard } from "../match/pdq.ts";
import { bytesToHex, hexToBytes } from "../pdq/core.ts";
import { coreModule } from "../pdq/worker.ts";
import { MihIndex } from "./mih.ts";
import type { PdqShardHit, PdqShardList, PdqShardQuery, PdqShardRpc, PdqShardStats } from "./protocol.ts";

interface ShardObjectEnv extends ListKeyEnv {
  HASHES: KVNamespace;
}

interface Loaded {
  key: string;
  index: Promise<{ mih: MihIndex; stats: PdqShardStats }>;
  /** Set once the index is built. */
  built?: PdqShardStats;
}

export class PdqShardObject extends DurableObject<ShardObjectEnv> implements PdqShardRpc {
  #loaded: Loaded | null = null;
  #builds = 0;

  /** The shard's index for exactly this list version and shard, loading it when another (or none) is held. */
  #index(list: PdqShardList, shard: number): Loaded["index"] {
    if (!Number.isInteger(shard) || shard < 0 || shard >= (list.pdqShards ?? 0)) {
      throw new Error(`PDQ shard ${shard} is not a shard of ${list.id}@${list.version}`);
    }
    const key = `${list.id}@${list.version}#${shard}`;
    if (this.#loaded?.key === key) return this.#loaded.index;
    // One version at a time: a shard is up to ~75 MB, and the object's memory is 128 MB.
    const index = (async () => {
      const started = Date.now();
      const { hashes, ids } = await loadPdqShard(this.env.HASHES, await listKeyring(this.env), list, shard);
      const mih = MihIndex.build(coreModule, hashes, ids);
      this.#builds++;
      // workerd's clock stands still while code runs: buildMs counts the KV read, not the build.
      const stats: PdqShardStats = {
        list: list.id,
        version: list.version,
        shard,
        entries: mih.size,
        memoryBytes: mih.memoryBytes(),
        buildMs: Date.now() - started,
        builtAt: new Date().toISOString(),
        builds: this.#builds,
      };
      return { mih, stats };
    })();
    const loaded: Loaded = { key, index };
    this.#loaded = loaded;
    index.then(
      ({ stats }) => {
        loaded.built = stats;
      },
      () => {},
    );
    // A failed load (KV down, shard not yet visible) is retried by the next request.
    index.catch(() => {
      if (this.#loaded === loaded) this.#loaded = null;
    });
    return index;
  }

  async load(list: PdqShardList, shard: number): Promise<PdqShardStats> {
    return { ...(await this.#index(list, shard)).stats, builds: this.#builds };
  }

  async held(): Promise<PdqShardStats | null> {
    // A build in progress counts as not held yet.
    const built = this.#loaded?.built;
    return built ? { ...built, builds: this.#builds } : null;
  }

  async query(q: PdqShardQuery): Promise<PdqShardHit | null> {
    const hashes = queryBytes(q.hashes);
    // Before the load: a bad query must not replace the index this object holds.
    if (!Number.isInteger(q.threshold) || q.threshold < 0 || q.threshold > 256) {
      throw new Error(`PDQ threshold must be an integer 0..256, got ${q.threshold}`);
    }
    const { mih } = await this.#index(q.list, q.shard);
    const m = mih.best(hashes, q.threshold);
    if (!m) return null;
    return {
      index: m.index,
      id: m.id,
      hash: bytesToHex(mih.hashBytes(m.index)),
      distance: m.distance,
      dihedral: m.query,
    };
  }

  async release(list: Pick<ListMeta, "id" | "version">, shard: number): Promise<boolean> {
    // A discarded staged version (src/lists/staged.ts): its index goes now, not at eviction.
    if (this.#loaded?.key !== `${list.id}@${list.version}#${shard}`) return false;
    this.#loaded = null;
    return true;
  }
}

/**
 * The query's hashes as bytes. The previous release's gate sent 1 to 8 hex strings; an object
 * of this release still reads them, so that a gate of that release, still answering during a
 * deploy, does not fail its scans here (FAIL_MODE).
 */
function queryBytes(hashes: unknown): Uint8Array {
  if (hashes instanceof Uint8Array) {
    if (hashes.length >= 32 && hashes.length <= 8 * 32 && hashes.length % 32 === 0) return hashes;
  } else if (Array.isArray(hashes) && hashes.length >= 1 && hashes.length <= 8) {
    const out = new Uint8Array(32 * hashes.length);
    // Index by index: every() would skip the holes of a sparse array (zero hashes).
    for (let i = 0; i < hashes.length; i++) {
      const h: unknown = hashes[i];
      if (typeof h !== "string" || !/^[0-9a-f]{64}$/i.test(h)) return refuse();
      out.set(hexToBytes(h), 32 * i);
    }
    return out;
  }
  return refuse();
}

function refuse(): never {
  throw new Error("PDQ shard query takes 1 to 8 hashes of 32 bytes, as one Uint8Array");
}
