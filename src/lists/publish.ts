/**
 * Publishing a delta as list version v+1. Order matters, because a scan reads the manifest
 * once and then the membership records: (1) membership records tagged with v+1, (2) the
 * prefilter, key set and PDQ shards of v+1, (3) history, (4) LAST the manifest, one KV put
 * that switches every scan from v to v+1. Until (4), scans keep using v: records tagged v+1
 * are invisible at v (see inVersion).
 */

import { EntryLog, readEntries } from "./entries.ts";
import { entryIdInput, hexOf, type ListKey, type ListKeyring, TAG_BYTES } from "./keyring.ts";
import { KeyBuffer, mergeKeys } from "./keyset.ts";
import { entryIdKey, findList, ListError, readHistory } from "./layout.ts";
import type { ListMeta } from "./manifest.ts";
import {
  type EntryMeta,
  type EntryRecord,
  inVersion,
  recordKey,
  recordOfSpans,
  recordSpans,
  tagKeyPair,
  tagWord,
} from "./membership.ts";
import type { DigestAlgo, HashAlgo, HashRef, ListOp } from "./ops.ts";
import { finishVersion, loadBase, type PublishResult } from "./publish-version.ts";
import { manifestForPublish } from "./staged.ts";
import type { ListStore } from "./store.ts";

export type { PublishResult } from "./publish-version.ts";

export interface PublishOptions {
  /** Who publishes (recorded in history and the audit log). */
  actor: string;
  now?: Date;
  /** The list secrets: the new version is keyed with `current`; the base is read with its own. */
  keys: ListKeyring;
  /**
   * The ops are a provider's whole list (snapshot sync): `removeUnlisted` then removes every
   * entry of the base version the ops did not add. Costs a set of every added digest in memory.
   */
  replace?: boolean;
  /**
   * Called with the new version's manifest entry after its data is stored and before the
   * manifest names it (e.g. to have PDQ shard objects build their indexes); a throw stops the
   * publish with the manifest unchanged.
   */
  beforeSwitch?: (list: ListMeta) => Promise<void>;
  /**
   * True for a new version to stage instead of switching to (src/lists/staged.ts): the CLI's
   * shard-sized PDQ versions, which the Worker switches once its shard objects are built.
   */
  stage?: (list: ListMeta) => boolean;
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
const metaOf = (ch: { id?: string; c?: string }): EntryMeta => ({
  ...(ch.id ? { id: ch.id } : {}),
  ...(ch.c ? { c: ch.c } : {}),
});
/** The JSON sealed for a change's metadata; "" (most digests of most lists) for none. */
const metaJson = (ch: { id?: string; c?: string }) => (ch.id || ch.c ? JSON.stringify(metaOf(ch)) : "");

/** Builds one new version from ops given in batches; `finish` publishes it. */
export class VersionBuilder {
  readonly list: ListMeta;
  readonly base: number;
  readonly next: number;
  readonly abandoned: number[];
  /** The list has no membership record under the new version's key, so none is read. */
  readonly skipReads: boolean;
  /** The base version is keyed with another secret: this version re-publishes it under `key`. */
  readonly rekeying: boolean;
  readonly key: ListKey;
  private readonly store: ListStore;
  private readonly opts: PublishOptions;
  private readonly addKeys = new KeyBuffer();
  private readonly removedKeys = new Map<string, [number, number]>();
  /** Base entries whose metadata this delta replaces (their new copy is appended). */
  private readonly replaced = new Set<string>();
  private readonly idsInDelta = new Map<string, string[]>();
  private readonly algos: Set<DigestAlgo>;
  private readonly appended = new EntryLog();
  private baseKeys: Uint32Array | null = null;
  private baseEntries: Uint8Array[] = [];
  private pdq = new Map<string, number>();
  /** With `replace`: the base version's entries, and the digests this version adds. */
  private snapshotBase: Uint8Array[] = [];
  private listed: Set<string> | null = null;
  added = 0;
  removed = 0;

  private constructor(store: ListStore, list: ListMeta, opts: PublishOptions) {
    this.store = store;
    this.list = list;
    this.opts = opts;
    this.key = opts.keys.current;
    this.base = list.version;
    const latest = Math.max(list.latest ?? list.version, list.version);
    this.next = latest + 1;
    const dropped = Array.from({ length: latest - list.version }, (_, i) => list.version + 1 + i);
    this.abandoned = [...(list.abandoned ?? []), ...dropped];
    this.rekeying = list.version > 0 && list.keyId !== this.key.id;
    this.skipReads = this.rekeying || latest === 0;
    this.algos = new Set(this.rekeying ? [] : list.algorithms);
  }

  static async begin(store: ListStore, listId: string, opts: PublishOptions): Promise<VersionBuilder> {
    const list = findList(await manifestForPublish(store, listId), listId);
    const b = new VersionBuilder(store, list, opts);
    if (b.rekeying) {
      // Records of a key this list used before may carry marks that the new version would inherit.
      const history = await readHistory(store, listId);
      if (history.some((h) => h.shape?.keyId === b.key.id))
        throw new ListError(
          "invalid",
          `list ${listId} used key ${b.key.id} before: re-key with a new secret`,
        );
    }
    const baseKey = list.version > 0 ? opts.keys.forId(list.keyId, `list ${listId} v${list.version}`) : b.key;
    const base = await loadBase(store, list, baseKey);
    if (b.rekeying) {
      b.baseKeys = new Uint32Array(0);
      const ops = opsOfEntries(base.entries);
      for (let i = 0; i < ops.length; i += PUBLISH_BATCH) await b.apply(ops.slice(i, i + PUBLISH_BATCH));
    } else {
      b.baseKeys = base.keys;
      b.pdq = base.pdq;
      b.baseEntries = base.entries;
    }
    if (opts.replace) {
      b.snapshotBase = base.entries;
      b.listed = new Set();
    }
    return b;
  }

  /**
   * Applies ops in file order: a later op on the same digest wins. `replay` (resuming an
   * interrupted import) only rebuilds the in-memory key, PDQ and entry sets of ops already written.
   */
  async apply(ops: ListOp[], replay = false): Promise<void> {
    const changes = await this.expand(ops, replay);
    const refs = [...changes.keys()];
    const list = refs.map((r) => changes.get(r)!);
    const tags = await this.key.digestTags(list);
    if (replay) {
      for (const [i, ch] of list.entries()) this.track(refs[i]!, ch, tags, i * TAG_BYTES, true);
      return;
    }
    const keys = list.map((_, i) => recordKey(this.list.id, this.key.id, tags, i * TAG_BYTES));
    const records = this.skipReads ? keys.map(() => null) : await this.store.getJsonMany<EntryRecord>(keys);
    for (let i = 0; i < refs.length; i++)
      await this.applyChange(refs[i]!, list[i]!, records[i] ?? null, keys[i]!, tags, i * TAG_BYTES);
  }

  /**
   * Snapshot sync: removes every entry of the base version that no op of this version added.
   * Call after the last `apply`, before `finish`. Returns how many removals it applied.
   */
  async removeUnlisted(): Promise<number> {
    const listed = this.listed;
    if (!listed) throw new Error("removeUnlisted needs the replace option");
    const ops: ListOp[] = [];
    for (const bytes of this.snapshotBase)
      for (const e of readEntries(bytes))
        if (!listed.has(`${e.algo}:${e.hex}`)) ops.push({ op: "remove", hash: { algo: e.algo, hex: e.hex } });
    for (let i = 0; i < ops.length; i += PUBLISH_BATCH) await this.apply(ops.slice(i, i + PUBLISH_BATCH));
    return ops.length;
  }

  /** Turns entry ops and tombstones into per-digest changes, reading the entry-id index. */
  private async expand(ops: ListOp[], replay: boolean): Promise<Map<string, Change>> {
    const wanted = new Set<string>();
    for (const op of ops)
      if ((op.op === "entry" || op.op === "remove-id") && !this.idsInDelta.has(op.id)) wanted.add(op.id);
    const ids = [...wanted];
    const idKeys = await this.entryIdKeys(ids);
    const known = new Map<string, string[]>();
    if (!this.skipReads) {
      const stored = await this.store.getJsonMany<string>(ids.map((id) => idKeys.get(id)!));
      for (const [i, id] of ids.entries()) {
        const sealed = stored[i];
        if (sealed) known.set(id, JSON.parse(await this.key.openText(sealed, idKeys.get(id)!)) as string[]);
      }
    }
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
        if (!replay) {
          const key = idKeys.get(op.id) ?? (await this.entryIdKeys([op.id])).get(op.id)!;
          await this.store.put(key, JSON.stringify(await this.key.sealText(JSON.stringify(now), key)));
        }
      }
    }
    return changes;
  }

  /** The entry-id index keys of provider entry ids (their tags under the new version's key). */
  private async entryIdKeys(ids: string[]): Promise<Map<string, string>> {
    const tags = await this.key.tags(ids.map(entryIdInput));
    return new Map(
      ids.map((id, i) => [
        id,
        entryIdKey(this.list.id, this.key.id, hexOf(tags.subarray(i * TAG_BYTES, (i + 1) * TAG_BYTES))),
      ]),
    );
  }

  private async applyChange(
    ref: string,
    ch: Change,
    m: EntryRecord | null,
    key: string,
    tags: Uint8Array,
    at: number,
  ): Promise<void> {
    const present = m !== null && inVersion(m, this.base, this.abandoned);
    const spans = m ? recordSpans(m, this.abandoned) : [];
    const open = spans.find((sp) => sp[1] === undefined);
    const meta = metaJson(ch);
    let rec: EntryRecord | null = null;
    let append = false;
    if (ch.add) {
      const same = present && (m.x ? await this.key.openText(m.x, key) : "") === meta;
      if (!same) {
        if (!present) spans.push([this.next, undefined]);
        const x = meta ? await this.key.sealText(meta, key) : undefined;
        rec = recordOfSpans(spans, x);
        append = true;
        if (present) this.replaced.add(ref);
      }
      if (!present) this.added++;
    } else if (present && open) {
      open[1] = this.next;
      rec = recordOfSpans(spans, m.x);
      this.removed++;
    } else if (this.skipReads || m?.a === this.next) {
      // cancels an add earlier in this version
      if (open) open[1] = this.next;
      else spans.push([this.next, this.next]);
      rec = recordOfSpans(spans, m?.x);
    }
    if (rec) await this.store.put(key, JSON.stringify(rec));
    this.track(ref, ch, tags, at, append, meta);
  }

  /** Keeps the key set, PDQ set and entry log of the new version in step with the change. */
  private track(ref: string, ch: Change, tags: Uint8Array, at: number, append: boolean, meta?: string): void {
    if (ch.add) {
      this.listed?.add(ref);
      if (append) this.appended.append(ch.algo, ch.hex, meta ?? metaJson(ch));
      this.removedKeys.delete(ref);
      if (ch.algo === "pdq") this.pdq.set(ch.hex, ch.quality ?? 255);
      else {
        this.algos.add(ch.algo);
        this.addKeys.push(tagWord(tags, at), tagWord(tags, at + 4));
      }
    } else {
      this.listed?.delete(ref);
      this.removedKeys.set(ref, tagKeyPair(tags, at));
      if (ch.algo === "pdq") this.pdq.delete(ch.hex);
    }
  }

  /** The new version's entries: the base's minus removed and replaced ones, then the appended. */
  private entries(): EntryLog {
    if (this.baseEntries.length === 0 && this.removedKeys.size === 0) return this.appended;
    const out = new EntryLog();
    const gone = (e: { algo: string; hex: string }) => this.removedKeys.has(`${e.algo}:${e.hex}`);
    const filter = this.removedKeys.size + this.replaced.size > 0;
    for (const bytes of this.baseEntries)
      if (!filter) out.appendRaw(bytes);
      else out.appendFiltered(bytes, (e) => !gone(e) && !this.replaced.has(`${e.algo}:${e.hex}`));
    for (const part of this.appended.parts())
      if (this.removedKeys.size === 0) out.appendRaw(part);
      else out.appendFiltered(part, (e) => !gone(e));
    return out;
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
      entries: this.entries(),
      key: this.key,
      algorithms: [...this.algos].sort(),
      added: this.added,
      removed: this.removed,
      actor: this.opts.actor,
      now: this.opts.now ?? new Date(),
      ...(this.opts.beforeSwitch ? { beforeSwitch: this.opts.beforeSwitch } : {}),
      ...(this.opts.stage ? { stage: this.opts.stage } : {}),
    });
  }
}

/** A version's stored entries as ops, to re-publish them under another key. */
function opsOfEntries(shards: Uint8Array[]): ListOp[] {
  const ops: ListOp[] = [];
  const byId = new Map<string, { hashes: HashRef[]; category?: string }>();
  for (const bytes of shards)
    for (const e of readEntries(bytes)) {
      const m = (e.meta ? JSON.parse(e.meta) : {}) as EntryMeta;
      const hash = { algo: e.algo, hex: e.hex };
      if (!m.id) ops.push({ op: "add", hash, ...(m.c ? { category: m.c } : {}) });
      else {
        const entry = byId.get(m.id) ?? { hashes: [], ...(m.c ? { category: m.c } : {}) };
        entry.hashes.push(hash);
        byId.set(m.id, entry);
      }
    }
  for (const [id, e] of byId) ops.push({ op: "entry", id, ...e });
  return ops;
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
