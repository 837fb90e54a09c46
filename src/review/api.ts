/** JSON API of the review app, mounted at /review/api. */
import { Hono } from "hono";
import { requireRole } from "../auth/middleware.ts";
import { roleAtLeast } from "../auth/roles.ts";
import { type AllowGrant, allowListStatements } from "../cases/allow-list.ts";
import { AUDIT, auditLog } from "../cases/audit.ts";
import { isCaseId } from "../cases/case-id.ts";
import { caseStore } from "../cases/case-store.ts";
import { assertNotHeldByOther, releaseClaimStatement } from "../cases/claims.ts";
import type { MatchMessage } from "../cases/messages.ts";
import { applyTogether } from "../cases/transaction.ts";
import { appealOutcomeStatement, type CaseAction, fileAppeal, transition } from "../cases/workflow.ts";
import { AppError } from "../errors.ts";
import { retractReport } from "../report/cybertip-flow.ts";
import type { ReportDeps } from "../report/deps.ts";
import { previewReport } from "../report/preview.ts";
import { reportCase } from "../report/report-flow.ts";
import { resolveUncertain } from "../report/resolve.ts";
import { reportStore } from "../report/store.ts";
import { createClaimsApi } from "./claims-api.ts";
import { revealEvidence } from "./evidence-view.ts";
import { parseCaseQuery } from "./query.ts";
import { csrfProtect } from "./security.ts";
import { getSettings, parseSettings } from "./settings.ts";
import { reviewerSettingsStore } from "./settings-store.ts";
import type { ReviewBindings } from "./types.ts";

const DECISIONS = ["start", "confirm", "dismiss", "escalate"] as const;
type Decision = (typeof DECISIONS)[number];

/**
 * What a dismissal allow-lists. `true` (the UI's plain checkbox, and older clients): every file
 * of the case without an exact hit, for the lists that hit it. An object picks the files and
 * lists; `cancelsExact` names the lists whose exact hits the entries cancel too.
 */
interface AllowChoice {
  files?: number[];
  lists?: string[];
  cancelsExact: string[];
}

interface DecisionBody {
  action: Decision;
  reason: string;
  allowList: AllowChoice | null;
}

function parseAllowChoice(v: unknown): AllowChoice | null {
  if (v === undefined || v === false || v === null) return null;
  if (v === true) return { cancelsExact: [] };
  if (typeof v !== "object" || Array.isArray(v))
    throw new AppError("bad_request", "allowList: true or an object");
  const o = v as Record<string, unknown>;
  const ints = (x: unknown) =>
    Array.isArray(x) && x.length <= 1000 && x.every((n) => Number.isInteger(n) && n >= 0)
      ? (x as number[])
      : null;
  const strs = (x: unknown) =>
    Array.isArray(x) && x.length <= 100 && x.every((n) => typeof n === "string" && n.length <= 200)
      ? (x as string[])
      : null;
  const files = o.files === undefined ? undefined : ints(o.files);
  const lists = o.lists === undefined ? undefined : strs(o.lists);
  const cancelsExact = o.cancelsExact === undefined ? [] : strs(o.cancelsExact);
  if (files === null || lists === null || cancelsExact === null)
    throw new AppError(
      "bad_request",
      "allowList: { files?: number[], lists?: string[], cancelsExact?: string[] }",
    );
  return { ...(files ? { files } : {}), ...(lists ? { lists } : {}), cancelsExact };
}

/** The grants a choice makes on a case's files: which file, which lists, which of them cancel exact hits. */
function grantsOf(msg: MatchMessage, choice: AllowChoice): AllowGrant[] {
  return msg.files.flatMap((f) => {
    const exact = f.matches.some((m) => m.kind === "exact");
    if (choice.files ? !choice.files.includes(f.index) : exact) return [];
    const hitLists = [...new Set(f.matches.map((m) => m.listId))];
    const listIds = choice.lists ? hitLists.filter((l) => choice.lists!.includes(l)) : hitLists;
    if (listIds.length === 0) return [];
    return [
      {
        digests: { ...f.digests, ...(f.pdq ? { pdq: f.pdq.hash } : {}) },
        fileIndex: f.index,
        listIds,
        cancelsExact: choice.cancelsExact.filter((l) => listIds.includes(l)),
      },
    ];
  });
}

async function readJson(req: Request): Promise<Record<string, unknown>> {
  try {
    const v = (await req.json()) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {}
  throw new AppError("bad_request", "body must be a JSON object");
}

function parseDecision(b: Record<string, unknown>): DecisionBody {
  const action = b.action;
  if (typeof action !== "string" || !(DECISIONS as readonly string[]).includes(action)) {
    throw new AppError("bad_request", `action must be one of ${DECISIONS.join(", ")}`);
  }
  const reason = typeof b.reason === "string" ? b.reason.trim() : "";
  if (action !== "start" && reason.length === 0) throw new AppError("bad_request", "a reason is required");
  const allowList = parseAllowChoice(b.allowList);
  if (allowList && action !== "dismiss") throw new AppError("bad_request", "allowList only with dismiss");
  return { action: action as Decision, reason, allowList };
}

function caseIdParam(id: string): string {
  if (!isCaseId(id)) throw new AppError("not_found", "no such case");
  return id;
}

/** Applies one decision, with the appeal outcome and allow-list additions in the same batch. */
async function decide(db: D1Database, caseId: string, d: DecisionBody, actor: string) {
  // Another reviewer's live claim: a clear refusal naming them, not a bare conflict.
  await assertNotHeldByOther(db, caseId, actor);
  const msgRow = d.allowList ? await caseStore(db).getRow(caseId) : null;
  return transition(
    db,
    { caseId, action: d.action as CaseAction, actor, reason: d.reason },
    (from, _to, at) => {
      const extra: D1PreparedStatement[] = [];
      // A decision that hands the case on (confirm, dismiss, escalate) lets go of my claim.
      if (d.action !== "start") extra.push(releaseClaimStatement(db, caseId, actor));
      if (from === "appealed" && (d.action === "confirm" || d.action === "dismiss")) {
        extra.push(
          appealOutcomeStatement(db, caseId, d.action === "confirm" ? "upheld" : "overturned", actor, at),
        );
      }
      if (msgRow && d.allowList) {
        const grants = grantsOf(JSON.parse(msgRow.message) as MatchMessage, d.allowList);
        for (const g of grants) extra.push(...allowListStatements(db, g, actor, caseId, d.reason, at));
        const detail = {
          reason: d.reason,
          files: grants.map((g) => ({ index: g.fileIndex, lists: g.listIds, cancelsExact: g.cancelsExact })),
        };
        extra.push(
          auditLog(db).insert({ actor, action: AUDIT.allowList, subject: `case:${caseId}`, detail }, { at }),
        );
      }
      return extra;
    },
  );
}

export function createApi(deps: ReportDeps = {}) {
  const api = new Hono<ReviewBindings>();
  api.route("/", createClaimsApi());

  api.get("/cases", async (c) => {
    const q = parseCaseQuery(new URL(c.req.url).searchParams);
    return c.json(await caseStore(c.env.DB).list(q));
  });

  api.get("/cases/:id", async (c) => {
    const detail = await caseStore(c.env.DB).detail(caseIdParam(c.req.param("id")));
    if (!detail) throw new AppError("not_found", "no such case");
    return c.json(detail);
  });

  api.get("/cases/:id/files/:n", requireRole("reviewer"), csrfProtect(true), async (c) => {
    const n = Number(c.req.param("n"));
    if (!Number.isInteger(n) || n < 0) throw new AppError("not_found", "no such file");
    const res = await revealEvidence(c.env.DB, c.env.EVIDENCE, {
      caseId: caseIdParam(c.req.param("id")),
      index: n,
      reason: c.req.query("reason") ?? "",
      actor: c.var.principal.id,
    });
    if (res instanceof Response) return res;
    if (res === "bad_reason")
      throw new AppError("reason_required", "state why you open this file (3-500 characters)");
    if (res === "purged" || res === "gone") throw new AppError("gone", "evidence no longer held");
    throw new AppError("not_found", "no such file");
  });

  api.post("/cases/:id/decision", requireRole("reviewer"), csrfProtect(), async (c) => {
    const d = parseDecision(await readJson(c.req.raw));
    if (d.allowList && !roleAtLeast(c.var.principal.role, "admin")) {
      throw new AppError("forbidden", "adding to the allow-list needs the admin role");
    }
    return c.json(await decide(c.env.DB, caseIdParam(c.req.param("id")), d, c.var.principal.id));
  });

  api.post("/bulk", requireRole("reviewer"), csrfProtect(), async (c) => {
    const b = await readJson(c.req.raw);
    const digest = typeof b.digest === "string" ? b.digest.toLowerCase() : "";
    if (!/^[0-9a-f]{32,64}$/.test(digest)) throw new AppError("bad_request", "digest must be hex");
    const d = parseDecision(b);
    if (d.action !== "confirm" && d.action !== "dismiss")
      throw new AppError("bad_request", "bulk: confirm or dismiss");
    if (d.allowList && !roleAtLeast(c.var.principal.role, "admin"))
      throw new AppError("forbidden", "admin only");
    const results = [];
    for (const id of await caseStore(c.env.DB).openCasesWithDigest(digest)) {
      try {
        results.push({ ok: true, ...(await decide(c.env.DB, id, d, c.var.principal.id)) });
      } catch (e) {
        results.push({ ok: false, caseId: id, error: e instanceof Error ? e.message : String(e) });
      }
    }
    return c.json({ digest, results });
  });

  api.get("/settings", async (c) => c.json(await getSettings(c.env.DB, c.var.principal.id)));

  api.put("/settings", csrfProtect(), async (c) => {
    const me = c.var.principal.id;
    const s = parseSettings(await readJson(c.req.raw), await getSettings(c.env.DB, me));
    if (!s)
      throw new AppError(
        "bad_request",
        "want { blur: boolean, greyscale: boolean, blurPx?: 4..40, breakAfter?: 1..500 }",
      );
    await applyTogether(c.env.DB, [
      reviewerSettingsStore(c.env.DB).putStatement(me, s, new Date().toISOString()),
      auditLog(c.env.DB).insert({
        actor: me,
        action: AUDIT.settings,
        subject: `reviewer:${me}`,
        detail: { ...s },
      }),
    ]);
    return c.json(s);
  });

  api.get("/cases/:id/report", requireRole("reviewer"), async (c) => {
    const row = await reportStore(c.env.DB).get(caseIdParam(c.req.param("id")));
    if (!row) throw new AppError("not_found", "no report for this case");
    return c.json({ ...row, files: JSON.parse(row.files) });
  });

  // What would be sent, with no side effect: the UI shows it and asks for an explicit confirmation.
  api.get("/cases/:id/report/preview", requireRole("reviewer"), async (c) =>
    c.json(await previewReport(c.env, caseIdParam(c.req.param("id")))),
  );

  api.post("/cases/:id/report", requireRole("reviewer"), csrfProtect(), async (c) => {
    return c.json(await reportCase(c.env, caseIdParam(c.req.param("id")), c.var.principal.id, deps));
  });

  api.post("/cases/:id/report/retract", requireRole("admin"), csrfProtect(), async (c) => {
    await retractReport(c.env, caseIdParam(c.req.param("id")), c.var.principal.id, deps);
    return c.json({ state: "retracted" });
  });

  api.post("/cases/:id/report/resolve", requireRole("admin"), csrfProtect(), async (c) => {
    const b = await readJson(c.req.raw);
    // The id NCMEC has: a report id for an uncertain submit, a file id for an uncertain upload.
    const pick = (v: unknown) => (typeof v === "string" && v ? v : null);
    const id = pick(b.reportId) ?? pick(b.fileId);
    if (!id && b.resubmit !== true && b.reupload !== true)
      throw new AppError("bad_request", "give reportId or fileId, or resubmit/reupload: true");
    await resolveUncertain(c.env.DB, caseIdParam(c.req.param("id")), c.var.principal.id, id);
    return c.json({ ok: true });
  });

  // The platform forwards an uploader's complaint (API token only: it is not a reviewer action).
  api.post("/appeals", async (c) => {
    if (c.var.principal.via !== "token")
      throw new AppError("forbidden", "appeals are filed with an API token");
    const b = await readJson(c.req.raw);
    const caseId = typeof b.caseId === "string" ? caseIdParam(b.caseId) : caseIdParam("");
    const complaint = typeof b.complaint === "string" ? b.complaint.trim() : "";
    if (!complaint || complaint.length > 5000)
      throw new AppError("bad_request", "complaint: 1-5000 characters");
    const r = await fileAppeal(c.env.DB, caseId, c.var.principal.id, complaint);
    return c.json({ caseId, ...r }, r.reopened ? 201 : 200);
  });

  return api;
}
