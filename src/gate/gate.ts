/**
 * The upload gate: scan → match → decide → act. Clean uploads are forwarded byte-identical;
 * a block is answered without a byte reaching the origin; a flag is forwarded and queued.
 */
import { newCaseId } from "../cases/case-id.ts";
import { assignEvidence, evidenceMetaKey, preserveEvidence } from "../cases/evidence.ts";
import { MAX_LISTED_INDICES } from "../cases/message-size.ts";
import type {
  FileCount,
  MatchedFile,
  MatchMessage,
  RequestInfo,
  UnscannedCode,
  UnscannedFile,
  UnscannedMessage,
} from "../cases/messages.ts";
import { recordCase, recordUnscanned } from "../cases/record.ts";
import type { Env } from "../env.ts";
import { AppError, errorResponse, isLimitError, ScanInfrastructureError, viaBinding } from "../errors.ts";
import { sniffType } from "../image/sniff.ts";
import { activeAlgorithms, activeLists, type ListMeta, loadManifest } from "../lists/manifest.ts";
import { holdShare, isolateBudget } from "../scan/budget.ts";
import { BodyHold, spoolKey } from "../scan/hold.ts";
import { type ScannedFile, type ScanResult, scanUpload } from "../scan/scan-upload.ts";
import { BodySha256 } from "./body-digest.ts";
import { configFor, type GateConfig } from "./config.ts";
import { type GateCredentials, gateCredentialsFor } from "./credentials.ts";
import { type Delivery, forward } from "./forward.ts";
import { type FileJudgement, judgeUpload, unscannedReason } from "./judge.ts";
import { noteNoActiveList } from "./no-list.ts";
import type { OriginVerdict } from "./origin-signature.ts";
import { requestInfo } from "./request-info.ts";
import { scopeOf } from "./scope.ts";
import { type Outcome, recordTelemetry } from "./telemetry.ts";
import { verdictOf } from "./verdict.ts";

/** Header carrying the case id of a blocked upload. */
export const CASE_HEADER = "x-hashgate-case";

/** The part of the execution context the gate uses (Hono's and workerd's types differ in the rest). */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** What the scan of one request came to, filled in as it goes (src/gate/telemetry.ts records it). */
interface Tally {
  outcome: Outcome;
  bytes: number;
  files: number;
  imagesHashed: number;
  caseId?: string;
  lists?: string[];
  reason?: string;
}

/** Handles one request in front of the origin; every scanned request is counted once. */
export async function gateRequest(request: Request, env: Env, ctx: WaitUntil): Promise<Response> {
  const cfg = configFor(env);
  const credentials = await gateCredentialsFor(env);
  const scope = scopeOf(request, cfg);
  if (scope === "pass") return passThrough(request, cfg, credentials);
  const started = Date.now();
  const tally: Tally = { outcome: "error", bytes: 0, files: 0, imagesHashed: 0 };
  let status = 500;
  try {
    const response = await (scope === "refuse"
      ? refuseBody(request, tally)
      : scanRequest(request, env, ctx, cfg, credentials, tally));
    status = response.status;
    return response;
  } catch (e) {
    tally.outcome = "error";
    tally.reason ??= errorCode(e);
    throw e;
  } finally {
    const path = new URL(request.url).pathname;
    recordTelemetry(env.METRICS, {
      ...tally,
      status,
      method: request.method,
      path,
      ms: Date.now() - started,
    });
  }
}

/** A stable name for an error in telemetry: its code, or its class (never its message). */
function errorCode(e: unknown): string {
  return e instanceof AppError ? e.code : e instanceof Error ? e.name : "unexpected";
}

async function refuseBody(request: Request, tally: Tally): Promise<Response> {
  await request.body?.cancel().catch(() => undefined);
  Object.assign(tally, { outcome: "refused", reason: "method-body" });
  return errorResponse(new AppError("bad_request", `${request.method} does not take a body here`));
}

async function scanRequest(
  request: Request,
  env: Env,
  ctx: WaitUntil,
  cfg: GateConfig,
  credentials: GateCredentials,
  tally: Tally,
): Promise<Response> {
  const info = requestInfo(request, cfg);
  let lists: ListMeta[];
  try {
    const manifest = await viaBinding("KV", () => loadManifest(env.HASHES), cfg.bindingTimeoutMs);
    lists = activeLists(manifest, new Date());
    if (lists.length === 0) {
      noteNoActiveList(manifest, cfg.noListMode);
      // Open: forwarded with no list to match against, which is an unscanned upload.
      Object.assign(tally, {
        outcome: cfg.noListMode === "closed" ? "refused" : "unscanned",
        reason: "no-active-list",
      });
      if (cfg.noListMode === "closed")
        return errorResponse(new AppError("scan_unavailable", "upload could not be scanned, retry later"));
    }
  } catch (e) {
    // Nothing read yet: in fail-open mode the body can still stream through unscanned.
    return scanFailed(e, cfg, env, info, tally, () => passThrough(request, cfg, credentials));
  }
  // Signing covers the body's SHA-256: computed in the scan's one pass, only when signing.
  const bodySha256 = cfg.originSigningKey !== null ? new BodySha256() : null;
  const deliver = async (verdict: OriginVerdict): Promise<Delivery> => ({
    verdict,
    credentials,
    bodySha256: verdict !== "unscanned" && bodySha256 ? await bodySha256.hex() : null,
  });
  const hold = new BodyHold({
    bucket: env.EVIDENCE,
    spoolKey: spoolKey(crypto.randomUUID()),
    holdMemoryBytes: cfg.holdMemoryBytes,
    budget: holdShare(isolateBudget(cfg.isolateMemoryBytes), cfg.holdIsolateBytes),
  });
  let scan: ScanResult;
  try {
    scan = await scanUpload(bodySha256 ? bodySha256.wrap(request) : request, {
      algos: activeAlgorithms(lists),
      maxBodyBytes: cfg.maxBodyBytes,
      maxPartHeaderBytes: cfg.maxPartHeaderBytes,
      maxDecodeRatio: cfg.maxDecodeRatio,
      minTextFileBytes: cfg.minTextFileBytes,
      maxTextFiles: cfg.maxTextFiles,
      hold,
    });
  } catch (e) {
    // The body is consumed and not held: nothing can be forwarded, whatever the fail mode.
    return scanFailed(e, cfg, env, info, tally, null);
  }
  tally.bytes = scan.body.size;
  tally.files = scan.files.length;
  try {
    let judged: FileJudgement[];
    try {
      judged = await judgeUpload(env, cfg, lists, scan);
    } catch (e) {
      return await scanFailed(e, cfg, env, info, tally, async () =>
        forwardHeld(request, cfg, scan, await deliver("unscanned")),
      );
    }
    let verdict = verdictOf(judged.flatMap((j) => j.hits));
    tally.imagesHashed = judged.filter((j) => j.pdq).length;
    tally.lists = [...new Set(judged.flatMap((j) => j.hits.map((h) => h.listId)))];
    const unscanned = unscannedFiles(scan.files, judged);
    if (verdict === "clean" && unscanned.length > 0) {
      // A file that could not be hashed is never silently treated as clean.
      // IMAGE_FAILURE_POLICY is about images; a video or an archive is recorded, not held.
      if (cfg.imageFailurePolicy === "hold" && judged.some((j) => j.imageError)) verdict = "block";
      else {
        const reason = `not hashed: ${unscanned.map((f) => `file ${f.index}: ${f.reason}`).join(", ")}`;
        Object.assign(tally, { outcome: "unscanned", reason: "files-not-hashed" });
        await recordUnscanned(
          env,
          unscannedMessage("files-not-hashed", reason, info, unscanned),
          cfg.bindingTimeoutMs,
        );
      }
    }
    if (verdict === "clean") {
      if (tally.outcome !== "unscanned") tally.outcome = "clean";
      return await forwardHeld(request, cfg, scan, await deliver("clean"));
    }
    const caseId = newCaseId();
    tally.caseId = caseId;
    const message = matchMessage(caseId, verdict, info, scan.files, judged);
    try {
      await preserveEvidence(env.EVIDENCE, message, scan.source, scan.files, cfg.bindingTimeoutMs);
      await recordCase(env, message, evidenceMetaKey(caseId), cfg.bindingTimeoutMs);
    } catch (e) {
      // A match whose evidence or case could not be kept is never forwarded, in either fail mode.
      console.error("hashgate: match could not be recorded", caseId, e);
      tally.reason = "match-not-recorded";
      return errorResponse(new AppError("scan_unavailable", "upload could not be processed, retry later"));
    }
    tally.outcome = verdict;
    if (verdict === "flag") return await forwardHeld(request, cfg, scan, await deliver("flag"));
    return blockResponse(cfg, caseId);
  } finally {
    ctx.waitUntil(scan.body.discard().catch((e) => console.error("hashgate: spool cleanup failed", e)));
  }
}

/** Forwards a request the gate did not scan, body streamed as it comes. */
function passThrough(request: Request, cfg: GateConfig, credentials: GateCredentials): Promise<Response> {
  const len = request.headers.get("content-length");
  const size = len !== null && /^\d+$/.test(len) ? Number(len) : null;
  return forward(request, cfg, request.body, size, { verdict: "unscanned", bodySha256: null, credentials });
}

/** Forwards the held body. Failures are AppErrors, answered by the Worker's one error handler. */
async function forwardHeld(
  request: Request,
  cfg: GateConfig,
  scan: ScanResult,
  delivery: Delivery,
): Promise<Response> {
  let body: ReadableStream<Uint8Array> | Uint8Array | null = null;
  try {
    if (scan.body.size > 0) body = await scan.body.stream();
  } catch (e) {
    throw new AppError("scan_unavailable", "upload could not be processed, retry later", String(e), {
      cause: e,
    });
  }
  return forward(request, cfg, body, body === null ? null : scan.body.size, delivery);
}

/**
 * Bad input answers its own error; a failing or slow binding follows FAIL_MODE. Anything else
 * (a per-invocation limit hit, a bug) is never forwarded: fail-open is for outages only.
 */
async function scanFailed(
  e: unknown,
  cfg: GateConfig,
  env: Env,
  info: RequestInfo,
  tally: Tally,
  forwardUnscanned: (() => Promise<Response>) | null,
): Promise<Response> {
  if (e instanceof AppError && e.status < 500) {
    Object.assign(tally, { outcome: "refused", reason: e.code });
    return errorResponse(e);
  }
  console.error("hashgate: scan failed", e);
  const outage = e instanceof ScanInfrastructureError && !isLimitError(e);
  Object.assign(tally, { outcome: "error", reason: errorCode(e) });
  if (cfg.failMode === "open" && forwardUnscanned && outage) {
    Object.assign(tally, { outcome: "unscanned", reason: "scan-failed" });
    const reason = e.message.slice(0, 500);
    await recordUnscanned(env, unscannedMessage("scan-failed", reason, info), cfg.bindingTimeoutMs);
    return forwardUnscanned();
  }
  return errorResponse(new AppError("scan_unavailable", "upload could not be scanned, retry later"));
}

/**
 * The complete case message (written to R2 as `upload.json`; the queue gets it cut to size):
 * every file with a hit or that could not be hashed, in upload order, evidence assigned.
 */
function matchMessage(
  caseId: string,
  verdict: "block" | "flag",
  info: RequestInfo,
  files: ScannedFile[],
  judged: FileJudgement[],
): MatchMessage {
  const matched: MatchedFile[] = [];
  const skipped: number[] = [];
  files.forEach((f, i) => {
    const j = judged[i]!;
    if (j.skipped) skipped.push(f.index);
    const why = unscannedReason(j);
    if (j.hits.length === 0 && !why) return;
    matched.push({
      ...describeFile(f),
      ...(f.carrier ? { carrier: { ...f.carrier, at: f.carrier.at.slice(0, 500) } } : {}),
      ...(j.pdq ? { pdq: j.pdq } : {}),
      ...(why ? { imageError: why } : {}),
      evidenceKey: null,
      matches: j.hits,
    });
  });
  const notKept = assignEvidence(caseId, matched);
  return {
    type: "match",
    v: 1,
    caseId,
    at: new Date().toISOString(),
    verdict,
    request: info,
    files: matched,
    ...(skipped.length > 0 ? { notJudged: fileCount(skipped) } : {}),
    ...(notKept ? { evidenceNotKept: notKept } : {}),
  };
}

function fileCount(indices: number[]): FileCount {
  return { count: indices.length, indices: indices.slice(0, MAX_LISTED_INDICES) };
}

/** What a record says of a file (names bounded; the queue message is cut further if needed). */
function describeFile(f: ScannedFile) {
  return {
    index: f.index,
    field: f.field.slice(0, 200),
    filename: f.filename?.slice(0, 500) ?? null,
    declaredType: f.declaredType?.slice(0, 200) ?? null,
    sniffedType: sniffType(f.head),
    size: f.size,
    digests: f.digests,
  };
}

/** Files the gate recognised but could not hash, with their digests, type, size and reason. */
function unscannedFiles(files: ScannedFile[], judged: FileJudgement[]): UnscannedFile[] {
  return files.flatMap((f, i) => {
    const reason = unscannedReason(judged[i]!);
    return reason ? [{ ...describeFile(f), reason }] : [];
  });
}

function unscannedMessage(
  code: UnscannedCode,
  reason: string,
  request: RequestInfo,
  files?: UnscannedFile[],
): UnscannedMessage {
  return {
    type: "unscanned",
    v: 1,
    id: crypto.randomUUID(),
    at: new Date().toISOString(),
    code,
    reason: reason.slice(0, 2000),
    request,
    ...(files ? { files } : {}),
  };
}

function blockResponse(cfg: GateConfig, caseId: string): Response {
  // Deliberately generic: nothing says which list or which hash matched.
  return new Response(
    JSON.stringify({ error: "blocked", message: "This upload cannot be accepted.", caseId }),
    {
      status: cfg.blockStatus,
      headers: {
        "content-type": "application/json; charset=utf-8",
        [CASE_HEADER]: caseId,
        "cache-control": "no-store",
      },
    },
  );
}
