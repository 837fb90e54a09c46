/** Messages on the MATCHES queue (see docs/storage.md). Version 1. */
import type { ListAction } from "../lists/manifest.ts";
import type { MatchHit } from "../match/types.ts";
import type { Digests } from "../scan/digests.ts";
import type { Carrier } from "../scan/scanned-file.ts";

export interface RequestInfo {
  method: string;
  host: string;
  path: string;
  query: string;
  ip: string | null;
  userAgent: string | null;
  /** Configured identity headers present on the request (lower-case name → value). */
  identity: Record<string, string>;
  contentType: string | null;
  contentLength: number | null;
  /** The body's Content-Encoding, when it had one: files and evidence are the decoded bytes. */
  contentEncoding?: string;
}

export interface MatchedFile {
  index: number;
  field: string;
  filename: string | null;
  declaredType: string | null;
  sniffedType: string;
  size: number;
  digests: Digests;
  pdq?: { hash: string; quality: number };
  /** Set when the file is an image that could not be decoded or hashed (ImageDecodeError code). */
  imageError?: string;
  /**
   * R2 key of the file's bytes. A byte-identical copy (same digests) points at the first copy's
   * key; null when the bytes were not kept (over MAX_EVIDENCE_FILES, see `evidenceNotKept`).
   */
  evidenceKey: string | null;
  /** Set for a file decoded from a text value (base64, a `data:` URL): where it sat, how it was decoded. */
  carrier?: Carrier;
  matches: MatchHit[];
}

/** Files counted, with the first MAX_LISTED_INDICES of their indices. */
export interface FileCount {
  count: number;
  indices: number[];
}

/** What a message leaves out to stay under MAX_MESSAGE_BYTES; the whole message is in R2 `upload.json`. */
export interface Omitted {
  /** Files of the case not listed in `files`. */
  files: number;
  /** Strings (names, types, request fields) cut short. */
  truncatedStrings: number;
  /** R2 key of the complete message (match cases; unscanned records keep only the cut one). */
  full?: string;
}

export interface MatchMessage {
  type: "match";
  v: 1;
  caseId: string;
  at: string;
  verdict: ListAction;
  request: RequestInfo;
  files: MatchedFile[];
  /** Files not judged because the upload was already certain to be blocked (images not PDQ-hashed). */
  notJudged?: FileCount;
  /** Matched files whose bytes were not kept: more distinct files than MAX_EVIDENCE_FILES. */
  evidenceNotKept?: FileCount;
  /** Set when the message was cut to fit a queue message. */
  omitted?: Omitted;
}

/** A file the gate forwarded (or held) without a perceptual verdict, with what it knows of it. */
export interface UnscannedFile {
  index: number;
  field: string;
  filename: string | null;
  declaredType: string | null;
  sniffedType: string;
  size: number;
  digests: Digests;
  /** Why it was not scanned: an ImageDecodeError code, "too-many-images", … */
  reason: string;
}

export interface UnscannedMessage {
  type: "unscanned";
  v: 1;
  id: string;
  at: string;
  /** Stable reason code: "scan-failed" (a binding failed, FAIL_MODE=open) or "files-not-hashed". */
  code?: UnscannedCode;
  reason: string;
  request: RequestInfo;
  /** The files that were not hashed, when the request itself was read (at most MAX_UNSCANNED_FILES). */
  files?: UnscannedFile[];
  omitted?: Omitted;
}

export type UnscannedCode = "scan-failed" | "files-not-hashed";

export type GateMessage = MatchMessage | UnscannedMessage;

/**
 * Queue messages must stay under 128 KB (and a D1 row under 2 MB): the gate cuts a message above
 * this many bytes of JSON (src/cases/message-size.ts), leaving 8 KB for the queue's own envelope.
 */
export const MAX_MESSAGE_BYTES = 120 * 1024;

/** True if a value looks like a GateMessage of a version this code reads. */
export function isGateMessage(x: unknown): x is GateMessage {
  if (typeof x !== "object" || x === null) return false;
  const m = x as { type?: unknown; v?: unknown };
  return (m.type === "match" || m.type === "unscanned") && m.v === 1;
}
