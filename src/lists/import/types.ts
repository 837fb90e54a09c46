/** What an importer yields, and the running summary of an import. */
import type { HashAlgo, ListOp } from "../ops.ts";

export type ImportFormat = "plain" | "csv" | "ncmec-xml" | "stopncii-json" | "te-signals" | "pdq-csv";

export const IMPORT_FORMATS: readonly ImportFormat[] = [
  "plain",
  "csv",
  "ncmec-xml",
  "stopncii-json",
  "te-signals",
  "pdq-csv",
];

export interface ImportOptions {
  /** Algorithm of every hash (plain) or of 64-digit hashes (which are SHA-256 or PDQ). */
  algo?: HashAlgo;
  /** PDQ hashes of lower quality are skipped (default 50, PDQ's own cut-off). */
  minPdqQuality?: number;
}

export const DEFAULT_MIN_PDQ_QUALITY = 50;

/**
 * `line` is where the item starts: a line number for text formats, the record number for
 * StopNCII JSON. `skip` is well-formed input hashgate does not use; `error` is malformed input.
 */
export type ImportEvent =
  | { kind: "op"; op: ListOp; line: number }
  | { kind: "skip"; line: number; reason: string }
  | { kind: "error"; line: number; message: string };

/** Errors kept verbatim in a summary; beyond this only the count grows. */
const MAX_ERRORS_KEPT = 100;

/** Counts of an import, for the report at its end. */
export class ImportTally {
  adds = 0;
  removes = 0;
  entries = 0;
  tombstones = 0;
  readonly skipped = new Map<string, number>();
  readonly errors: { line: number; message: string }[] = [];
  errorCount = 0;
  lastLine = 0;

  count(ev: ImportEvent): void {
    this.lastLine = Math.max(this.lastLine, ev.line);
    if (ev.kind === "skip") this.skipped.set(ev.reason, (this.skipped.get(ev.reason) ?? 0) + 1);
    else if (ev.kind === "error") {
      this.errorCount++;
      if (this.errors.length < MAX_ERRORS_KEPT) this.errors.push({ line: ev.line, message: ev.message });
    } else if (ev.op.op === "add") this.adds++;
    else if (ev.op.op === "remove") this.removes++;
    else if (ev.op.op === "entry") this.entries++;
    else this.tombstones++;
  }

  toJSON() {
    return {
      adds: this.adds,
      removes: this.removes,
      entries: this.entries,
      tombstones: this.tombstones,
      skipped: Object.fromEntries(this.skipped),
      errorCount: this.errorCount,
      errors: this.errors,
    };
  }
}
