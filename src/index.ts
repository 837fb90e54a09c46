/** hashgate: the Worker's entry points (HTTP gate, queue consumer, scheduled sweep). */
import { Hono } from "hono";
import { dlqRoutes } from "./admin/dlq.ts";
import { adminRoutes } from "./admin/routes.ts";
import { consumeMatches } from "./cases/consumer.ts";
import { runScheduled } from "./cases/cron-runs.ts";
import { isDeadLetterQueue, parkDeadLetters } from "./cases/dead-letter.ts";
import type { Env } from "./env.ts";
import { AppError, unexpectedError } from "./errors.ts";
import { gateRequest } from "./gate/gate.ts";
import { appHosts, surfaceNotFound, surfaceOf } from "./gate/surfaces.ts";
import { switchStagedVersions } from "./match/shard-switch.ts";
import { reviewApp } from "./review/app.ts";

export { PdqShardObject } from "./pdq-shards/object.ts";
export { StagedDecisionObject } from "./pdq-shards/staged-decision.ts";

export const app = new Hono<{ Bindings: Env }>();

// One router, dispatched by host first (src/gate/surfaces.ts): the apps' routes below answer
// only where their host (or, unset, their path) says; everything else is the gate's.
app.use("*", async (c, next) => {
  const url = new URL(c.req.url);
  const hosts = appHosts(c.env);
  const surface = surfaceOf(url, hosts);
  if (surface === "gate") return gateRequest(c.req.raw, c.env, c.executionCtx);
  if (surface === "apps") return next();
  if (url.pathname === "/" && hosts.review !== null && surfaceOf(new URL("/review", url), hosts) === "apps") {
    return c.redirect("/review", 302);
  }
  return surfaceNotFound();
});

app.route("/admin/dlq", dlqRoutes);
app.route("/admin", adminRoutes);
// "/review/" is where people type the queue's address; it lives at "/review" (query kept).
app.get("/review/", (c) => c.redirect(`/review${new URL(c.req.url).search}`, 308));
app.route("/review", reviewApp);

// A path of the apps' namespace without a route: answered here, never forwarded.
app.all("*", () => surfaceNotFound());

// The one error handler of the Worker's HTTP side (gate, review, admin): an AppError answers
// for itself, with its detail logged when it is the Worker's fault; anything else is logged
// and answered with a generic 503.
app.onError((err) => {
  if (err instanceof AppError) {
    if (err.status >= 500) console.error(`hashgate: ${err.code}`, err.message);
    return err.getResponse();
  }
  console.error("hashgate: unhandled error", err);
  return unexpectedError().getResponse();
});

export default {
  fetch: app.fetch,
  queue: (batch, env) =>
    isDeadLetterQueue(batch.queue) ? parkDeadLetters(batch, env) : consumeMatches(batch, env),
  async scheduled(_controller, env, ctx) {
    // Sweep, retention and notifications, logged as one JSON line and recorded for /admin/health.
    ctx.waitUntil(runScheduled(env));
    // Staged list versions (CLI publishes of shard-sized PDQ lists): build the objects, then switch.
    ctx.waitUntil(switchStagedVersions(env));
  },
} satisfies ExportedHandler<Env>;
