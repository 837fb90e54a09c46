/**
 * StopNCII FetchHashes responses: `{ hashRecords: [{ signalType, hashValue, hashStatus, … }] }`.
 * A file may hold one page, a JSON array of pages, or one page per line (pages saved in turn).
 * `line` in the events is the record's position in the file, counted from 1.
 */
import { checkHex, type HashAlgo } from "../ops.ts";
import { type TextSource, wholeText } from "./lines.ts";
import type { ImportEvent } from "./types.ts";

/** Signal types hashgate can match. VideoTMK, Text and URL are skipped. */
const SIGNALS: Record<string, HashAlgo> = { ImagePDQ: "pdq", VideoMD5: "md5" };
const REMOVE_STATUS = new Set(["Withdrawn", "Deleted"]);
const ADD_STATUS = new Set(["Received", "Active"]);
/** A page is a few MB at most; this bounds a file of pages held whole. */
const MAX_DOCUMENT_CHARS = 512 << 20;

function pagesOf(text: string): unknown[] | { error: string; line: number } {
  try {
    const doc: unknown = JSON.parse(text);
    return Array.isArray(doc) ? doc : [doc];
  } catch {
    // Not one document: try one page per line.
  }
  const pages: unknown[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() === "") continue;
    try {
      pages.push(JSON.parse(lines[i]!));
    } catch (e) {
      return { error: `not JSON: ${(e as Error).message}`, line: i + 1 };
    }
  }
  return pages;
}

function recordEvent(rec: unknown, no: number): ImportEvent {
  if (typeof rec !== "object" || rec === null)
    return { kind: "error", line: no, message: "record is not an object" };
  const { signalType, hashValue, hashStatus } = rec as Record<string, unknown>;
  if (typeof signalType !== "string" || typeof hashValue !== "string" || typeof hashStatus !== "string")
    return { kind: "error", line: no, message: "record needs string signalType, hashValue and hashStatus" };
  const algo = SIGNALS[signalType];
  if (!algo) return { kind: "skip", line: no, reason: `signal type ${signalType} not supported` };
  const r = checkHex(algo, hashValue);
  if ("error" in r) return { kind: "error", line: no, message: r.error };
  const hash = { algo, hex: r.hex };
  if (REMOVE_STATUS.has(hashStatus)) return { kind: "op", line: no, op: { op: "remove", hash } };
  if (ADD_STATUS.has(hashStatus)) return { kind: "op", line: no, op: { op: "add", hash } };
  return { kind: "error", line: no, message: `unknown hashStatus ${hashStatus}` };
}

export async function* stopnciiRecords(source: TextSource): AsyncGenerator<ImportEvent> {
  const pages = pagesOf(await wholeText(source, MAX_DOCUMENT_CHARS));
  if (!Array.isArray(pages)) {
    yield { kind: "error", line: pages.line, message: pages.error };
    return;
  }
  let no = 0;
  for (const page of pages) {
    const records = (page as { hashRecords?: unknown } | null)?.hashRecords;
    if (!Array.isArray(records)) {
      yield { kind: "error", line: no + 1, message: "page without a hashRecords array" };
      continue;
    }
    for (const rec of records) yield recordEvent(rec, ++no);
  }
}
