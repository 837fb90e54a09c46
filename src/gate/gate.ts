/**
 * The upload gate: scan → match → decide → act. Clean uploads are forwarded byte-identical;
 * a block is answered without a byte reaching the origin; a flag is forwarded and queued.
 */
import { newCaseId } from "../cases/case-id.ts";
import { evidenceFileKey, preserveEvidence } from "../cases/evidence.ts";
import type { MatchedFile, MatchMessage, RequestInfo, UnscannedMessage } from "../cases/messages.ts";
import { recordCase, recordUnscanned } from "../cases/record.ts";
import type { Env } from "../env.ts";
import { AppError, errorResponse, viaBinding } from "../errors.ts";
import { sniffType } from "../image/sniff.ts";
import { activeAlgorithms, activeLists, type ListMeta, loadManifest } from "../lists/manifest.ts";
import { isolateBudget } from "../scan/budget.ts";
import { BodyHold, spoolKey } from "../scan/hold.ts";
import { type ScannedFile, type ScanResult, scanUpload } from "../scan/scan-upload.ts";
import { BodySha256 } from "./body-digest.ts";
import { configFor, type GateConfig } from "./config.ts";
import { type GateCredentials, gateCredentialsFor } from "./credentials.ts";
import { type Delivery, forward } from "./forward.ts";
import { type FileJudgement, judgeUpload } from "./judge.ts";
import type { OriginVerdict } from "./origin-signature.ts";
import { requestInfo } from "./request-info.ts";
import { scopeOf } from "./scope.ts";
import { verdictOf } from "./verdict.ts";

/** Header carrying the case id of a blocked upload. */
export const CASE_HEADER = "x-hashgate-case";

/** The part of the execution context the gate uses (Hono's and workerd's types differ in the rest). */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

/** Handles one request in front of the origin. */
export async function gateRequest(request: Request, env: Env, ctx: WaitUntil): Promise<Response> {
  const cfg = configFor(env);
  const credentials = await gateCredentialsFor(env);
  const scope = scopeOf(request, cfg);
  if (scope === "pass") return passThrough(request, cfg, credentials);
  if (scope === "refuse") {
    await request.body?.cancel().catch(() => undefined);
    return errorResponse(new AppError("bad_request", `${request.method} does not take a body here`));
  }
  const info = requestInfo(request, cfg);
  let lists: ListMeta[];
  try {
    lists = activeLists(await viaBinding("KV", () => loadManifest(env.HASHES)), new Date());
  } catch (e) {
    // Nothing read yet: in fail-open mode the body can still stream through unscanned.
    return scanFailed(e, cfg, env, info, () => passThrough(request, cfg, credentials));
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
    budget: isolateBudget(cfg.holdIsolateBytes),
  });
  let scan: ScanResult;
  try {
    scan = await scanUpload(bodySha256 ? bodySha256.wrap(request) : request, {
      algos: activeAlgorithms(lists),
      maxBodyBytes: cfg.maxBodyBytes,
      maxPartHeaderBytes: cfg.maxPartHeaderBytes,
      hold,
    });
  } catch (e) {
    // The body is consumed and not held: nothing can be forwarded, whatever the fail mode.
    return scanFailed(e, cfg, env, info, null);
  }
  try {
    let judged: FileJudgement[];
    try {
      judged = await judgeUpload(env, cfg, lists, scan);
    } catch (e) {
      return await scanFailed(e, cfg, env, info, async () =>
        forwardHeld(request, cfg, scan, await deliver("unscanned")),
      );
    }
    let verdict = verdictOf(judged.flatMap((j) => j.hits));
    const imageErrors = judged.flatMap((j, i) => (j.imageError ? [`file ${i}: ${j.imageError}`] : []));
    if (verdict === "clean" && imageErrors.length > 0) {
      // An image that could not be hashed is never silently treated as clean.
      if (cfg.imageFailurePolicy === "hold") verdict = "block";
      else await recordUnscanned(env, unscannedMessage(`image not hashed: ${imageErrors.join(", ")}`, info));
    }
    if (verdict === "clean") return await forwardHeld(request, cfg, scan, await deliver("clean"));
    const caseId = newCaseId();
    const message = matchMessage(caseId, verdict, info, scan.files, judged);
    try {
      await preserveEvidence(env.EVIDENCE, message, scan.body, scan.files);
      await recordCase(env, message);
    } catch (e) {
      // A match whose evidence or case could not be kept is never forwarded, in either fail mode.
      console.error("hashgate: match could not be recorded", caseId, e);
      return errorResponse(new AppError("scan_unavailable", "upload could not be processed, retry later"));
    }
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

/** Bad input answers its own error; a failing binding follows FAIL_MODE. */
async function scanFailed(
  e: unknown,
  cfg: GateConfig,
  env: Env,
  info: RequestInfo,
  forwardUnscanned: (() => Promise<Response>) | null,
): Promise<Response> {
  if (e instanceof AppError && e.status < 500) return errorResponse(e);
  console.error("hashgate: scan failed", e);
  if (cfg.failMode === "open" && forwardUnscanned) {
    const reason = e instanceof Error ? e.message.slice(0, 500) : String(e);
    await recordUnscanned(env, unscannedMessage(reason, info));
    return forwardUnscanned();
  }
  return errorResponse(new AppError("scan_unavailable", "upload could not be scanned, retry later"));
}

/** The case message: every file with a hit, or whose image could not be hashed. */
function matchMessage(
  caseId: string,
  verdict: "block" | "flag",
  info: RequestInfo,
  files: ScannedFile[],
  judged: FileJudgement[],
): MatchMessage {
  const matched: MatchedFile[] = [];
  files.forEach((f, i) => {
    const j = judged[i]!;
    if (j.hits.length === 0 && !j.imageError) return;
    matched.push({
      index: f.index,
      field: f.field.slice(0, 200),
      filename: f.filename?.slice(0, 500) ?? null,
      declaredType: f.declaredType?.slice(0, 200) ?? null,
      sniffedType: sniffType(f.head),
      size: f.end - f.start,
      digests: f.digests,
      ...(j.pdq ? { pdq: j.pdq } : {}),
      ...(j.imageError ? { imageError: j.imageError } : {}),
      evidenceKey: evidenceFileKey(caseId, f.index),
      matches: j.hits,
    });
  });
  return {
    type: "match",
    v: 1,
    caseId,
    at: new Date().toISOString(),
    verdict,
    request: info,
    files: matched,
  };
}

function unscannedMessage(reason: string, request: RequestInfo): UnscannedMessage {
  return { type: "unscanned", v: 1, id: crypto.randomUUID(), at: new Date().toISOString(), reason, request };
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
