/**
 * The review app: UI at /review, JSON API at /review/api. Mount with
 * `app.route("/review", reviewApp)` before the gate's catch-all.
 */
import { Hono } from "hono";
import { localSigninRefusal } from "../auth/local-signin.ts";
import { type AuthOptions, authenticate, requireRole } from "../auth/middleware.ts";
import { isCaseId } from "../cases/case-id.ts";
import { caseStore } from "../cases/case-store.ts";
import { unscannedStore } from "../cases/unscanned-store.ts";
import type { ReportDeps } from "../report/deps.ts";
import { createApi } from "./api.ts";
import { createExport } from "./export.ts";
import { parseCaseQuery } from "./query.ts";
import { csrfToken, securityHeaders } from "./security.ts";
import { getSettings } from "./settings.ts";
import { createSigninRoutes, signinPage, wantsHtml } from "./signin.ts";
import { REVIEW_CSS, REVIEW_JS } from "./static.ts";
import { statsRoutes } from "./stats.ts";
import type { ReviewBindings } from "./types.ts";
import { casePage, queuePage, unscannedPage } from "./ui.ts";

/** Unscanned records shown on one page: each holds up to a queue message's worth of file detail. */
const UNSCANNED_PAGE = 50;

export interface ReviewAppOptions extends AuthOptions, ReportDeps {}

export function createReviewApp(opts: ReviewAppOptions = {}) {
  const app = new Hono<ReviewBindings>();
  app.use("*", securityHeaders());
  app.get("/static/review.css", (c) =>
    c.body(REVIEW_CSS, 200, { "content-type": "text/css; charset=utf-8" }),
  );
  // Before authentication: the sign-in page and the local code exchange need no session.
  app.route("/", createSigninRoutes());
  // A browser without credentials gets the sign-in page; API clients keep the JSON 401.
  app.use("*", async function signinForBrowsers(c, next) {
    await next();
    if (c.res.status === 401 && c.req.method === "GET" && wantsHtml(c.req.raw)) {
      c.res = new Response(signinPage(null, localSigninRefusal(c.env, c.req.raw) === null), {
        status: 401,
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    }
  });
  app.use("*", authenticate(opts));
  app.use("*", requireRole("viewer"));

  app.get("/static/review.js", (c) =>
    c.body(REVIEW_JS, 200, { "content-type": "text/javascript; charset=utf-8" }),
  );

  app.route("/api", createApi(opts));
  app.route("/export", createExport());

  app.get("/", async (c) => {
    const params = new URL(c.req.url).searchParams;
    // The reviewer's default view is the open work, oldest first.
    if (!params.has("status")) params.set("status", "open");
    const q = parseCaseQuery(params);
    const store = caseStore(c.env.DB);
    const [{ cases, total }, counts, bulk] = await Promise.all([
      store.list(q),
      store.statusCounts(q),
      q.digest ? store.openCasesWithDigest(q.digest) : Promise.resolve(null),
    ]);
    const data = { cases, total, counts, ...(bulk ? { bulkCount: bulk.length } : {}) };
    return c.html(queuePage(c.var.principal, csrfToken(c), q, data));
  });

  app.get("/unscanned", async (c) =>
    c.html(
      unscannedPage(c.var.principal, csrfToken(c), await unscannedStore(c.env.DB).recent(UNSCANNED_PAGE)),
    ),
  );

  app.route("/stats", statsRoutes);

  app.get("/cases/:id", async (c) => {
    const id = c.req.param("id");
    const detail = isCaseId(id) ? await caseStore(c.env.DB).detail(id) : null;
    if (!detail) return c.text("No such case.", 404);
    const s = await getSettings(c.env.DB, c.var.principal.id);
    return c.html(casePage(c.var.principal, csrfToken(c), detail, s));
  });

  app.notFound((c) => c.json({ error: "not_found", message: "not found" }, 404));
  return app;
}

/** The review app with production dependencies (remote JWKS, global fetch). */
export const reviewApp = createReviewApp();
