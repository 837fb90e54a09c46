/**
 * Serving preserved evidence to a reviewer: only with a stated reason, and only after the
 * reveal is in the audit log (a failed audit write means no bytes). The reveal record is
 * what a CyberTipline report's fileViewedByEsp is decided from.
 */

import { AUDIT, auditStatement, fileSubject } from "../cases/audit.ts";
import type { MatchMessage } from "../cases/messages.ts";
import { getSettings } from "./settings.ts";

/** Types served inline (shown in an <img>); anything else is an attachment. */
const INLINE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

export const MIN_REASON = 3;
export const MAX_REASON = 500;

export type RevealError = "not_found" | "bad_reason" | "purged" | "gone";

export interface RevealRequest {
  caseId: string;
  index: number;
  reason: string;
  actor: string;
}

/** Records the reveal and returns the evidence response, or an error code. */
export async function revealEvidence(
  db: D1Database,
  bucket: R2Bucket,
  req: RevealRequest,
): Promise<Response | RevealError> {
  const reason = req.reason.trim();
  if (reason.length < MIN_REASON || reason.length > MAX_REASON) return "bad_reason";
  const row = await db
    .prepare("SELECT message, purged_at FROM cases WHERE id = ?1")
    .bind(req.caseId)
    .first<{ message: string; purged_at: string | null }>();
  if (!row) return "not_found";
  if (row.purged_at) return "purged";
  const msg = JSON.parse(row.message) as MatchMessage;
  const file = msg.files?.find((f) => f.index === req.index);
  if (!file) return "not_found";
  // null: the bytes were not kept (over the case's evidence cap, see evidenceNotKept).
  const obj = file.evidenceKey === null ? null : await bucket.get(file.evidenceKey);
  if (!obj) return "gone";
  const settings = await getSettings(db, req.actor);
  await auditStatement(db, {
    actor: req.actor,
    action: AUDIT.reveal,
    subject: fileSubject(req.caseId, req.index),
    detail: {
      reason,
      sha256: file.digests.sha256 ?? null,
      size: obj.size,
      blur: settings.blur,
      greyscale: settings.greyscale,
    },
  }).run();
  const type = INLINE_TYPES.has(file.sniffedType) ? file.sniffedType : "application/octet-stream";
  return new Response(obj.body, {
    headers: {
      "content-type": type,
      "content-length": String(obj.size),
      "content-disposition":
        type === "application/octet-stream" ? `attachment; filename="evidence-${req.index}"` : "inline",
      // Evidence is data, never a document: no script, no plugins, even if opened directly.
      "content-security-policy": "default-src 'none'; sandbox",
    },
  });
}
