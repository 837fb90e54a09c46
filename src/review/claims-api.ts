/** Claim routes of the review API: take a case, let it go, and take the next open one. */
import { Hono } from "hono";
import { requireRole } from "../auth/middleware.ts";
import { isCaseId } from "../cases/case-id.ts";
import { claimCase, claimNext, releaseClaim } from "../cases/claims.ts";
import { AppError } from "../errors.ts";
import { csrfProtect } from "./security.ts";
import type { ReviewBindings } from "./types.ts";

function caseId(id: string): string {
  if (!isCaseId(id)) throw new AppError("not_found", "no such case");
  return id;
}

export function createClaimsApi() {
  const api = new Hono<ReviewBindings>();
  // Per route, not api.use("*"): mounted at "/", a wildcard would guard every API route.
  const guard = [requireRole("reviewer"), csrfProtect()] as const;

  api.post("/cases/:id/claim", ...guard, async (c) =>
    c.json(await claimCase(c.env.DB, caseId(c.req.param("id")), c.var.principal.id)),
  );

  api.delete("/cases/:id/claim", ...guard, async (c) => {
    await releaseClaim(c.env.DB, caseId(c.req.param("id")), c.var.principal.id);
    return c.json({ released: true });
  });

  // The queue's "next" / "previous": the next open case nobody else holds, claimed for me.
  api.post("/next", ...guard, async (c) => {
    let body: Record<string, unknown> = {};
    try {
      body = (await c.req.json()) as Record<string, unknown>;
    } catch {}
    const dir = body.dir === "prev" ? "prev" : "next";
    const after = typeof body.after === "string" ? caseId(body.after) : undefined;
    const claim = await claimNext(c.env.DB, c.var.principal.id, { dir, ...(after ? { after } : {}) });
    if (!claim) throw new AppError("empty", "no open case left that nobody else has");
    return c.json(claim);
  });
  return api;
}
