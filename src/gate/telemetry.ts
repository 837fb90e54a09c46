/**
 * What the gate tells its operators about each scanned request: one data point in Workers
 * Analytics Engine (the `METRICS` binding, optional), and for every block, flag, unscanned
 * upload and error one JSON log line that Workers Logs (`[observability]`) keeps. Neither
 * carries a secret, a digest, the uploader's address or any file content: the case id leads to
 * the rest, behind the review UI's access control.
 */

/** What became of a scanned request. */
export type Outcome = "clean" | "block" | "flag" | "unscanned" | "refused" | "error";

export interface ScanTelemetry {
  outcome: Outcome;
  /** HTTP status the client got. */
  status: number;
  method: string;
  /** The request path (no query: queries can carry tokens). */
  path: string;
  /** Body bytes read (0 when refused before the body). */
  bytes: number;
  /** Files judged (multipart parts, decoded text-carried files, or the one body). */
  files: number;
  /** Images decoded and PDQ-hashed. */
  imagesHashed: number;
  /** Wall time of the whole request inside the gate, in milliseconds. */
  ms: number;
  caseId?: string;
  /** Ids of the lists that matched (never which hash). */
  lists?: string[];
  /** Why an upload went unscanned or was refused, or the error's stable code. */
  reason?: string;
}

/** The Analytics Engine binding's one method the gate uses. */
export interface MetricsSink {
  writeDataPoint(point: { blobs?: string[]; doubles?: number[]; indexes?: string[] }): void;
}

/**
 * Column layout of the data point, for the SQL in docs/observability.md:
 * blob1 outcome, blob2 reason, blob3 lists (comma-separated), blob4 method;
 * double1 bytes, double2 files, double3 images hashed, double4 ms, double5 status.
 */
export function dataPoint(t: ScanTelemetry): { blobs: string[]; doubles: number[]; indexes: string[] } {
  return {
    blobs: [t.outcome, (t.reason ?? "").slice(0, 200), (t.lists ?? []).join(",").slice(0, 500), t.method],
    doubles: [t.bytes, t.files, t.imagesHashed, t.ms, t.status],
    indexes: [t.outcome],
  };
}

/** The log line of a request worth a line (everything but a clean upload), or null. */
export function logLine(t: ScanTelemetry): string | null {
  if (t.outcome === "clean") return null;
  return JSON.stringify({
    hashgate: t.outcome,
    status: t.status,
    method: t.method,
    path: t.path.slice(0, 300),
    ...(t.caseId ? { caseId: t.caseId } : {}),
    ...(t.lists?.length ? { lists: t.lists } : {}),
    ...(t.reason ? { reason: t.reason.slice(0, 300) } : {}),
    bytes: t.bytes,
    files: t.files,
    imagesHashed: t.imagesHashed,
    ms: Math.round(t.ms),
  });
}

/** Records one request: never throws (telemetry must not change what the gate answers). */
export function recordTelemetry(sink: MetricsSink | undefined, t: ScanTelemetry): void {
  const line = logLine(t);
  if (line !== null) (t.outcome === "error" ? console.error : console.log)(line);
  try {
    sink?.writeDataPoint(dataPoint(t));
  } catch (e) {
    console.error(JSON.stringify({ hashgate: "telemetry-error", reason: String(e).slice(0, 200) }));
  }
}
