/**
 * Worker-side access to the PDQ core: the .wasm is imported as a module (workerd refuses to
 * compile bytes at runtime) and instantiated once per isolate, on first use.
 */
import core from "../../wasm/build/core.wasm";
import type { DecodedImage } from "../image/types.ts";
import type { MemoryBudget } from "../scan/budget.ts";
import { PdqHasher, type PdqResult } from "./core.ts";
import { PdqIndex, type PdqIndexPart } from "./index.ts";

/**
 * WASM memory never shrinks, so an instance that grew for a big image is dropped after use
 * rather than kept for the isolate's lifetime (workerd isolates have 128 MB).
 */
const RETAIN_MEMORY_BYTES = 64 * 1024 * 1024;

let hasher: PdqHasher | undefined;

/** The compiled core module, for code that needs its own instance (e.g. a PdqIndex). */
export const coreModule: WebAssembly.Module = core;

/** The isolate's PDQ hasher (one instance, reused across requests). */
export function pdqHasher(): PdqHasher {
  hasher ??= PdqHasher.fromModule(core);
  return hasher;
}

/** PDQ of decoded pixels with the isolate's hasher; releases the instance if it grew large. */
export function pdqHash(img: DecodedImage): PdqResult {
  const h = pdqHasher();
  try {
    return h.hash(img);
  } finally {
    if (h.memoryBytes() > RETAIN_MEMORY_BYTES) hasher = undefined;
  }
}

interface CachedIndex {
  version: string;
  index: Promise<PdqIndex>;
  /** Bytes taken from the isolate's memory budget while this index is cached. */
  charged: { budget: MemoryBudget; bytes: number } | null;
}
const indexes = new Map<string, CachedIndex>();

/**
 * The isolate's PdqIndex for `listId`, loaded once per `version` (e.g. the list's published
 * version): concurrent requests share one load, and a new version replaces the old index (its
 * WASM instance is then garbage). A failed load is forgotten so the next request retries.
 */
export function cachedPdqIndex(
  listId: string,
  version: string,
  load: () => Promise<readonly PdqIndexPart[]>,
  budget?: MemoryBudget,
): Promise<PdqIndex> {
  const hit = indexes.get(listId);
  if (hit && hit.version === version) return hit.index;
  if (hit) release(hit);
  const entry: CachedIndex = { version, index: Promise.resolve(null as unknown as PdqIndex), charged: null };
  entry.index = (async () => {
    const pdq = PdqIndex.fromModule(core);
    pdq.load(await load());
    // The index is needed to match at all, so it is charged even past the budget: images then find less room.
    if (budget && indexes.get(listId) === entry) {
      const bytes = pdq.memoryBytes() + pdq.size * 4;
      budget.forceTake(bytes);
      entry.charged = { budget, bytes };
    }
    return pdq;
  })();
  indexes.set(listId, entry);
  entry.index.catch(() => {
    if (indexes.get(listId) === entry) indexes.delete(listId);
  });
  return entry.index;
}

function release(entry: CachedIndex): void {
  if (entry.charged) entry.charged.budget.give(entry.charged.bytes);
  entry.charged = null;
}
