/** Messages on the MATCHES queue (see docs/storage.md). Version 1. */
import type { ListAction } from "../lists/manifest.ts";
import type { MatchHit } from "../match/types.ts";
import type { Digests } from "../scan/digests.ts";

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
  evidenceKey: string;
  matches: MatchHit[];
}

export interface MatchMessage {
  type: "match";
  v: 1;
  caseId: string;
  at: string;
  verdict: ListAction;
  request: RequestInfo;
  files: MatchedFile[];
}

export interface UnscannedMessage {
  type: "unscanned";
  v: 1;
  id: string;
  at: string;
  reason: string;
  request: RequestInfo;
}

export type GateMessage = MatchMessage | UnscannedMessage;

/** Queue messages must stay under 128 KB; the gate keeps them well below. */
export const MAX_MESSAGE_BYTES = 120 * 1024;

/** True if a value looks like a GateMessage of a version this code reads. */
export function isGateMessage(x: unknown): x is GateMessage {
  if (typeof x !== "object" || x === null) return false;
  const m = x as { type?: unknown; v?: unknown };
  return (m.type === "match" || m.type === "unscanned") && m.v === 1;
}
