/** Reads a hash-list file of any supported format into typed list operations. */
import { csvRows } from "./csv.ts";
import { pdqToolLines, plainLines, teSignalLines } from "./line-formats.ts";
import type { TextSource } from "./lines.ts";
import { ncmecEntries } from "./ncmec-xml.ts";
import { stopnciiRecords } from "./stopncii-json.ts";
import { IMPORT_FORMATS, type ImportEvent, type ImportFormat, type ImportOptions } from "./types.ts";

export type { TextSource } from "./lines.ts";
export {
  IMPORT_FORMATS,
  type ImportEvent,
  type ImportFormat,
  type ImportOptions,
  ImportTally,
} from "./types.ts";

export function isImportFormat(s: string): s is ImportFormat {
  return (IMPORT_FORMATS as readonly string[]).includes(s);
}

/** Events (ops, skips, errors with line numbers) of `source` read as `format`, in file order. */
export function importEvents(
  format: ImportFormat,
  source: TextSource,
  opts: ImportOptions = {},
): AsyncGenerator<ImportEvent> {
  switch (format) {
    case "plain":
      return plainLines(source, opts);
    case "csv":
      return csvRows(source, opts);
    case "ncmec-xml":
      return ncmecEntries(source);
    case "stopncii-json":
      return stopnciiRecords(source);
    case "te-signals":
      return teSignalLines(source);
    case "pdq-csv":
      return pdqToolLines(source, opts);
  }
}
