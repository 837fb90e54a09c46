/**
 * What the gate and a PDQ shard object (src/pdq-shards/object.ts) say to each other over
 * Durable Object RPC. Kept apart from both so that neither imports the other.
 *
 * Partition: one object per stored PDQ shard of a list version, named
 * `<list id>@<version>#<shard>` (shardObjectName). A stored shard holds at most
 * MAX_SHARD_ENTRIES (700,000) consecutive entries of the version, so an object holds at most
 * 700,000 hashes (~75 MB with its multi-index tables, inside a Durable Object's 128 MB), and a
 * list of n entries runs on ⌈n / 700,000⌉ objects. The version is in the name and in every
 * request: an object only ever answers for the version it was asked about.
 */
import type { ListMeta } from "../lists/manifest.ts";

/** Default entry count from which a list is searched on shard objects (also the CLI's staging default). */
export const DEFAULT_PDQ_SHARD_THRESHOLD = 1_000_000;

/**
 * The list version as a shard object needs it: which version and how many shards (to check the
 * shard number), and the key it is sealed with (to load the shard if the object holds none).
 * Not the whole manifest entry: a query sends it to every object.
 */
export type PdqShardList = Pick<ListMeta, "id" | "version" | "pdqShards" | "keyId">;

export function pdqShardList(list: ListMeta): PdqShardList {
  return { id: list.id, version: list.version, pdqShards: list.pdqShards, keyId: list.keyId };
}

/**
 * One query to one object. The hashes travel as bytes, parsed once by the gate: 8 hex strings
 * copied to and parsed in every object cost about 0.04 ms per object (README, "The fan-out's
 * own cost"), a fifth of a 15-object query's whole cost per object at threshold 0.
 */
export interface PdqShardQuery {
  list: PdqShardList;
  /** Which stored shard of the version (0 .. list.pdqShards - 1). */
  shard: number;
  /** 1 to 8 query hashes of 32 bytes each, back to back, in hex-string byte order (hexToBytes). */
  hashes: Uint8Array;
  threshold: number;
}

/** The shard's best entry within the threshold (PdqIndex's order). */
export interface PdqShardHit {
  /** Position of the entry in its stored shard. */
  index: number;
  /** The entry's id in the version (its position in the list's PDQ entries). */
  id: number;
  hash: string;
  distance: number;
  dihedral: number;
}

export interface PdqShardStats {
  list: string;
  version: number;
  shard: number;
  entries: number;
  memoryBytes: number;
  buildMs: number;
  /** When this object finished building the index (ISO 8601). */
  builtAt: string;
  /** Indexes this object has built since it started (any version): 1 after one load. */
  builds: number;
}

/** The object's RPC surface as the gate sees it. */
export interface PdqShardRpc {
  query(q: PdqShardQuery): Promise<PdqShardHit | null>;
  /** Loads the shard (if not yet) and says what it holds; a publish calls it before the switch. */
  load(list: PdqShardList, shard: number): Promise<PdqShardStats>;
  /** What the object holds now, without loading anything (null: nothing loaded). */
  held(): Promise<PdqShardStats | null>;
  /** Drops the index of exactly this version and shard if held (a discarded staged version). */
  release(list: Pick<ListMeta, "id" | "version">, shard: number): Promise<boolean>;
}

export function shardObjectName(list: Pick<ListMeta, "id" | "version">, shard: number): string {
  return `${list.id}@${list.version}#${shard}`;
}
