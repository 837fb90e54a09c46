/**
 * The review app: UI at /review, JSON API at /review/api. Mount with
 * `app.route("/review", reviewApp)` before the gate's catch-all.
 */
import { Hono } from "hono";
import { type AuthOptions, authenticate, requireRole } from "../auth/middleware.ts";
import { isCaseId } from "../cases/case-id.ts";
import { getCase, listCases } from "../cases/store.ts";
import type { ReportDeps } from "../report/deps.ts";
import { createApi } from "./api.ts";
import { toApiError } from "./errors.ts";
import { parseCaseQuery } from "./query.ts";
import { csrfToken, securityHeaders } from "./security.ts";
import { getSettings } from "./settings.ts";
import { REVIEW_CSS, REVIEW_JS } from "./static.ts";
import { statsRoutes } from "./stats.ts";
import type { ReviewBindings } from "./types.ts";
import { casePage, queuePage, unscannedPage } from "./ui.ts";
import { recentUnscanned } from "./unscanned.ts";

export interface ReviewAppOptions extends AuthOptions, ReportDeps {}

export function createReviewApp(opts: ReviewAppOptions = {}) {
  const app = new Hono<ReviewBindings>();
  app.use("*", securityHeaders());
  app.use("*", authenticate(opts));
  app.use("*", requireRole("viewer"));

  app.get("/static/review.js", (c) =>
    c.body(REVIEW_JS, 200, { "content-type": "text/javascript; charset=utf-8" }),
  );
  app.get("/static/review.css", (c) =>
    c.body(REVIEW_CSS, 200, { "content-type": "text/css; charset=utf-8" }),
  );

  app.route("/api", createApi(opts));

  app.get("/", async (c) => {
    const q = parseCaseQuery(new URL(c.req.url).searchParams);
    const { cases, total } = await listCases(c.env.DB, q);
    return c.html(queuePage(c.var.principal, csrfToken(c), q, cases, total));
  });

  app.get("/unscanned", async (c) =>
    c.html(unscannedPage(c.var.principal, csrfToken(c), await recentUnscanned(c.env.DB))),
  );

  app.route("/stats", statsRoutes);

  app.get("/cases/:id", async (c) => {
    const id = c.req.param("id");
    const detail = isCaseId(id) ? await getCase(c.env.DB, id) : null;
    if (!detail) return c.text("No such case.", 404);
    const s = await getSettings(c.env.DB, c.var.principal.id);
    return c.html(casePage(c.var.principal, csrfToken(c), detail, s));
  });

  app.notFound((c) => c.json({ error: "not_found", message: "not found" }, 404));
  app.onError((err, c) => {
    const e = toApiError(err);
    return c.json({ error: e.code, message: e.message }, e.status);
  });
  return app;
}

/** The review app with production dependencies (remote JWKS, global fetch). */
export const reviewApp = createReviewApp();
