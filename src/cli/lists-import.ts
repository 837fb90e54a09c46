/**
 * `hashgate lists import`: streams a list file into a new list version, with progress and ETA
 * on stderr and a checkpoint file so an interrupted import resumes where its writes stopped.
 * Aborting is always safe: nothing is visible to scans until the final manifest write.
 */
import { createReadStream, existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { deltaLines } from "../lists/import/delta-lines.ts";
import { type ImportFormat, type ImportOptions, ImportTally, importEvents } from "../lists/import/index.ts";
import type { ListKeyring } from "../lists/keyring.ts";
import type { ListMeta } from "../lists/manifest.ts";
import type { ListOp } from "../lists/ops.ts";
import { PUBLISH_BATCH, type PublishResult, VersionBuilder } from "../lists/publish.ts";
import type { ListStore } from "../lists/store.ts";

export interface ImportJob {
  store: ListStore;
  listId: string;
  /** A provider format, or "delta": `add|remove <algo> <hex>` lines as the admin API takes. */
  format: ImportFormat | "delta";
  file: string;
  options: ImportOptions;
  actor: string;
  /** The list secrets (HASHGATE_LIST_KEY, and the previous one during a rotation). */
  keys: ListKeyring;
  /** Names the target (e.g. "local", "remote:production") so a checkpoint is not reused elsewhere. */
  target: string;
  checkpointPath: string;
  /** The file is the provider's whole list: entries of the current version not in it are removed. */
  replace?: boolean;
  /** Abort (publish nothing) on the first malformed line. */
  strict?: boolean;
  progress?: (p: Progress) => void;
  /** True for a new version to stage instead of switching to (src/cli/gate-switch.ts). */
  stage?: (next: ListMeta) => boolean;
  /** Ops written between checkpoints (default CHECKPOINT_EVERY_OPS). */
  checkpointEveryOps?: number;
}

export interface Progress {
  bytes: number;
  totalBytes: number;
  ops: number;
  elapsedMs: number;
}

interface Checkpoint {
  file: string;
  size: number;
  mtimeMs: number;
  listId: string;
  format: ImportFormat | "delta";
  replace: boolean;
  target: string;
  base: number;
  version: number;
  /** The key the version is published with: a checkpoint made under another key is not reused. */
  keyId: string;
  /** Every op of lines ≤ this is written (and flushed) to the store. */
  linesDone: number;
}

/** Ops between checkpoints; each checkpoint flushes the store first. */
const CHECKPOINT_EVERY_OPS = 50_000;
const PROGRESS_EVERY_MS = 1000;

export class StrictImportError extends Error {}

/** An import that read no valid operation: publishing it would only use up the rollback step. */
export class EmptyImportError extends Error {
  readonly tally: ImportTally;
  constructor(tally: ImportTally) {
    super(
      `nothing published: no valid operation read (${tally.errorCount} malformed line${tally.errorCount === 1 ? "" : "s"}${tally.skipped.size ? ", the rest skipped" : ""})`,
    );
    this.tally = tally;
  }
}

function readCheckpoint(path: string, want: Omit<Checkpoint, "linesDone">): number {
  if (!existsSync(path)) return 0;
  const cp = JSON.parse(readFileSync(path, "utf8")) as Checkpoint;
  const same = (Object.keys(want) as (keyof typeof want)[]).every((k) => cp[k] === want[k]);
  return same ? cp.linesDone : 0;
}

export async function runImport(
  job: ImportJob,
): Promise<{ tally: ImportTally; result: PublishResult; resumedAfterLine: number; unlisted: number }> {
  const file = resolve(job.file);
  const st = statSync(file);
  const builder = await VersionBuilder.begin(job.store, job.listId, {
    actor: job.actor,
    keys: job.keys,
    replace: job.replace ?? false,
    ...(job.stage ? { stage: job.stage } : {}),
  });
  const identity = {
    file,
    size: st.size,
    mtimeMs: st.mtimeMs,
    listId: job.listId,
    format: job.format,
    replace: job.replace ?? false,
    target: job.target,
    base: builder.base,
    version: builder.next,
    keyId: builder.key.id,
  };
  const resumeAfter = readCheckpoint(job.checkpointPath, identity);
  const tally = new ImportTally();
  const started = Date.now();
  let bytes = 0;
  let lastReport = 0;
  async function* counted() {
    for await (const chunk of createReadStream(file)) {
      bytes += (chunk as Buffer).length;
      yield chunk as Uint8Array;
    }
  }
  let batch: ListOp[] = [];
  let batchLine = 0;
  let sinceCheckpoint = 0;
  const applyBatch = async () => {
    if (batch.length === 0) return;
    const replay = batchLine <= resumeAfter;
    await builder.apply(batch, replay);
    if (!replay) sinceCheckpoint += batch.length;
    batch = [];
    if (sinceCheckpoint >= (job.checkpointEveryOps ?? CHECKPOINT_EVERY_OPS)) {
      await job.store.flush();
      writeFileSync(job.checkpointPath, JSON.stringify({ ...identity, linesDone: batchLine }));
      sinceCheckpoint = 0;
    }
  };
  const events =
    job.format === "delta" ? deltaLines(counted()) : importEvents(job.format, counted(), job.options);
  for await (const ev of events) {
    tally.count(ev);
    if (ev.kind === "error" && job.strict) throw new StrictImportError(`line ${ev.line}: ${ev.message}`);
    if (ev.kind !== "op") continue;
    // Batches end at line boundaries (a CSV row may yield several ops) and at the resume point.
    const boundary =
      ev.line !== batchLine &&
      (batch.length >= PUBLISH_BATCH || (batchLine <= resumeAfter && ev.line > resumeAfter));
    if (boundary) await applyBatch();
    batch.push(ev.op);
    batchLine = ev.line;
    const now = Date.now();
    if (job.progress && now - lastReport >= PROGRESS_EVERY_MS) {
      lastReport = now;
      job.progress({
        bytes,
        totalBytes: st.size,
        ops: tally.adds + tally.removes + tally.entries + tally.tombstones,
        elapsedMs: now - started,
      });
    }
  }
  await applyBatch();
  if (tally.adds + tally.removes + tally.entries + tally.tombstones === 0) throw new EmptyImportError(tally);
  const unlisted = job.replace ? await builder.removeUnlisted() : 0;
  const result = await builder.finish();
  rmSync(job.checkpointPath, { force: true });
  return { tally, result, resumedAfterLine: resumeAfter, unlisted };
}

/** "37% 120 MB/320 MB 210,000 ops/s ETA 1:35" */
export function formatProgress(p: Progress): string {
  const pct = p.totalBytes ? p.bytes / p.totalBytes : 0;
  const rate = p.elapsedMs > 0 ? (p.ops * 1000) / p.elapsedMs : 0;
  const etaS = pct > 0 ? Math.round(((p.elapsedMs / pct) * (1 - pct)) / 1000) : 0;
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  const eta = `${Math.floor(etaS / 60)}:${String(etaS % 60).padStart(2, "0")}`;
  return `${(pct * 100).toFixed(0)}% ${mb(p.bytes)}/${mb(p.totalBytes)} ${Math.round(rate).toLocaleString("en")} ops/s ETA ${eta}`;
}
