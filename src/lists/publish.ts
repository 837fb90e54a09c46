/**
 * Publishing a delta as list version v+1. Order matters, because a scan reads the manifest
 * once and then the membership records: (1) membership records tagged with v+1, (2) the
 * prefilter, key set and PDQ shards of v+1, (3) history, (4) LAST the manifest, one KV put
 * that switches every scan from v to v+1. Until (4), scans keep using v: records tagged v+1
 * are invisible at v (see inVersion).
 */

import { foldInto } from "./fold.ts";
import { KeyBuffer, mergeKeys } from "./keyset.ts";
import { entryIdKey, findList, ListError, readManifest } from "./layout.ts";
import type { ListMeta } from "./manifest.ts";
import { type EntryMembership, entryKey, inVersion } from "./membership.ts";
import type { DigestAlgo, HashAlgo, HashRef, ListOp } from "./ops.ts";
import { finishVersion, loadBase, type PublishResult } from "./publish-version.ts";
import type { ListStore } from "./store.ts";

export type { PublishResult } from "./publish-version.ts";

export interface PublishOptions {
  /** Who publishes (recorded in history and the audit log). */
  actor: string;
  now?: Date;
}

/** Ops applied per round of reads and writes. */
export const PUBLISH_BATCH = 1000;

interface Change {
  add: boolean;
  algo: HashAlgo;
  hex: string;
  id?: string;
  c?: string;
  quality?: number;
}

const refOf = (h: HashRef) => `${h.algo}:${h.hex}`;

/** Builds one new version from ops given in batches; `finish` publishes it. */
export class VersionBuilder {
  readonly list: ListMeta;
  readonly base: number;
  readonly next: number;
  readonly abandoned: number[];
  /** No list has published anything yet, so no membership record exists to be read. */
  readonly skipReads: boolean;
  private readonly store: ListStore;
  private readonly opts: PublishOptions;
  private readonly addKeys = new KeyBuffer();
  private readonly removedKeys = new Map<string, [number, number]>();
  private readonly idsInDelta = new Map<string, string[]>();
  private readonly algos: Set<DigestAlgo>;
  private readonly fold = new Uint32Array(2);
  private baseKeys: Uint32Array | null = null;
  private pdq = new Map<string, number>();
  added = 0;
  removed = 0;

  private constructor(store: ListStore, list: ListMeta, skipReads: boolean, opts: PublishOptions) {
    this.store = store;
    this.list = list;
    this.opts = opts;
    this.base = list.version;
    const latest = Math.max(list.latest ?? list.version, list.version);
    this.next = latest + 1;
    const dropped = Array.from({ length: latest - list.version }, (_, i) => list.version + 1 + i);
    this.abandoned = [...(list.abandoned ?? []), ...dropped];
    this.skipReads = skipReads;
    this.algos = new Set(list.algorithms);
  }

  static async begin(store: ListStore, listId: string, opts: PublishOptions): Promise<VersionBuilder> {
    const manifest = await readManifest(store);
    const list = findList(manifest, listId);
    const othersPublished = manifest.lists.some((l) => l.id !== listId && (l.latest ?? l.version) > 0);
    const b = new VersionBuilder(store, list, !othersPublished && (list.latest ?? list.version) === 0, opts);
    const base = await loadBase(store, list);
    b.baseKeys = base.keys;
    b.pdq = base.pdq;
    return b;
  }

  /**
   * Applies ops in file order: a later op on the same digest wins. `replay` (resuming an
   * interrupted import) only rebuilds the in-memory key and PDQ sets of ops already written.
   */
  async apply(ops: ListOp[], replay = false): Promise<void> {
    const changes = await this.expand(ops, replay);
    const refs = [...changes.keys()];
    if (replay) {
      for (const ref of refs) this.track(ref, changes.get(ref)!);
      return;
    }
    const records = this.skipReads
      ? refs.map(() => null)
      : await this.store.getJsonMany<EntryMembership>(
          refs.map((r) => entryKey(changes.get(r)!.algo, changes.get(r)!.hex)),
        );
    for (let i = 0; i < refs.length; i++)
      await this.applyChange(refs[i]!, changes.get(refs[i]!)!, records[i] ?? null);
  }

  /** Turns entry ops and tombstones into per-digest changes, reading the entry-id index. */
  private async expand(ops: ListOp[], replay: boolean): Promise<Map<string, Change>> {
    const wanted = new Set<string>();
    for (const op of ops)
      if ((op.op === "entry" || op.op === "remove-id") && !this.idsInDelta.has(op.id)) wanted.add(op.id);
    const ids = [...wanted];
    const stored = this.skipReads
      ? ids.map(() => null)
      : await this.store.getJsonMany<string[]>(ids.map((id) => entryIdKey(this.list.id, id)));
    const known = new Map(ids.map((id, i) => [id, stored[i] ?? []]));
    const changes = new Map<string, Change>();
    const set = (h: HashRef, ch: Omit<Change, "algo" | "hex">) => {
      const ref = refOf(h);
      changes.delete(ref); // re-insert so the map keeps the last op's order
      changes.set(ref, {
        algo: h.algo,
        hex: h.hex,
        ...ch,
        ...(h.quality === undefined ? {} : { quality: h.quality }),
      });
    };
    const removeRef = (ref: string) => {
      const [algo, hex] = ref.split(":") as [HashAlgo, string];
      set({ algo, hex }, { add: false });
    };
    for (const op of ops) {
      if (op.op === "add") set(op.hash, { add: true, ...(op.category ? { c: op.category } : {}) });
      else if (op.op === "remove") set(op.hash, { add: false });
      else {
        const old = this.idsInDelta.get(op.id) ?? known.get(op.id) ?? [];
        const now = op.op === "entry" ? op.hashes.map(refOf) : [];
        for (const ref of old) if (!now.includes(ref)) removeRef(ref);
        if (op.op === "entry")
          for (const h of op.hashes)
            set(h, { add: true, id: op.id, ...(op.category ? { c: op.category } : {}) });
        this.idsInDelta.set(op.id, now);
        if (!replay) await this.store.put(entryIdKey(this.list.id, op.id), JSON.stringify(now));
      }
    }
    return changes;
  }

  private async applyChange(ref: string, ch: Change, existing: EntryMembership | null): Promise<void> {
    const L = this.list.id;
    const rec: EntryMembership = existing ?? {};
    const m = rec[L];
    const present = m !== undefined && inVersion(m, this.base, this.abandoned);
    const meta = { ...(ch.id ? { id: ch.id } : {}), ...(ch.c ? { c: ch.c } : {}) };
    let write = true;
    if (ch.add) {
      if (present && m.id === ch.id && m.c === ch.c) write = false;
      else rec[L] = { a: present ? m.a : this.next, ...meta };
      if (!present) this.added++;
    } else if (present) {
      rec[L] = { ...m, r: this.next };
      this.removed++;
    } else if (this.skipReads)
      rec[L] = { a: this.next, r: this.next }; // cancels an add earlier in this delta
    else if (m && m.a === this.next) delete rec[L];
    else write = false;
    if (write) await this.store.put(entryKey(ch.algo, ch.hex), JSON.stringify(rec));
    this.track(ref, ch);
  }

  /** Keeps the key set and PDQ set of the new version in step with the change. */
  private track(ref: string, ch: Change): void {
    if (ch.algo === "pdq") {
      if (ch.add) this.pdq.set(ch.hex, ch.quality ?? 255);
      else this.pdq.delete(ch.hex);
      return;
    }
    if (ch.add) {
      this.algos.add(ch.algo);
      foldInto(ch.algo, ch.hex, this.fold, 0);
      this.addKeys.push(this.fold[0]!, this.fold[1]!);
      this.removedKeys.delete(ref);
    } else {
      foldInto(ch.algo, ch.hex, this.fold, 0);
      this.removedKeys.set(ref, [this.fold[0]!, this.fold[1]!]);
    }
  }

  /** Writes the version's derived data, history and finally the manifest. */
  async finish(): Promise<PublishResult> {
    const removes = new Uint32Array(this.removedKeys.size * 2);
    let i = 0;
    for (const [lo, hi] of this.removedKeys.values()) {
      removes[i++] = lo;
      removes[i++] = hi;
    }
    const keys = this.baseKeys ? mergeKeys(this.baseKeys, this.addKeys.pairs(), removes) : null;
    return finishVersion(this.store, {
      list: this.list,
      base: this.base,
      next: this.next,
      abandoned: this.abandoned,
      keys,
      pdq: this.pdq,
      algorithms: [...this.algos].sort(),
      added: this.added,
      removed: this.removed,
      actor: this.opts.actor,
      now: this.opts.now ?? new Date(),
    });
  }
}

/** Publishes `ops` as the list's next version. */
export async function publishDelta(
  store: ListStore,
  listId: string,
  ops: Iterable<ListOp> | AsyncIterable<ListOp>,
  opts: PublishOptions,
): Promise<PublishResult> {
  const b = await VersionBuilder.begin(store, listId, opts);
  let batch: ListOp[] = [];
  for await (const op of ops) {
    batch.push(op);
    if (batch.length >= PUBLISH_BATCH) {
      await b.apply(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await b.apply(batch);
  return b.finish();
}

export { ListError };
