/** hashgate: the Worker's entry points (HTTP gate, queue consumer, scheduled sweep). */
import { Hono } from "hono";
import { sweepPending } from "./act/record.ts";
import { dlqRoutes } from "./admin/dlq.ts";
import { adminRoutes } from "./admin/routes.ts";
import { consumeMatches } from "./consumer/cases.ts";
import { isDeadLetterQueue, parkDeadLetters } from "./consumer/dead-letter.ts";
import type { Env } from "./env.ts";
import { errorResponse, GateError } from "./errors.ts";
import { gateRequest } from "./gate/gate.ts";
import { enforceRetention } from "./retention/retention.ts";
import { reviewApp } from "./review/app.ts";
import { notifyUnnotified } from "./review/notify.ts";

export const app = new Hono<{ Bindings: Env }>();

app.route("/admin/dlq", dlqRoutes);
app.route("/admin", adminRoutes);
// "/review/" is where people type the queue's address; it lives at "/review" (query kept).
app.get("/review/", (c) => c.redirect(`/review${new URL(c.req.url).search}`, 308));
app.route("/review", reviewApp);

// Everything not claimed by a more specific route (admin, review) goes through the gate.
app.all("*", (c) => gateRequest(c.req.raw, c.env, c.executionCtx));

app.onError((err) => {
  if (err instanceof GateError) return errorResponse(err);
  console.error("hashgate: unhandled error", err);
  return errorResponse(new GateError("scan_unavailable", "upload could not be processed, retry later"));
});

export default {
  fetch: app.fetch,
  queue: (batch, env) =>
    isDeadLetterQueue(batch.queue) ? parkDeadLetters(batch, env) : consumeMatches(batch, env),
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(
      sweepPending(env).then((r) => {
        if (r.recorded > 0) console.log(`hashgate: swept ${r.recorded} pending case(s)`);
        if (r.failed.length + r.unreadable.length > 0)
          console.error(
            `hashgate: sweep skipped ${r.failed.length} pending marker(s) (retried next run) and moved ${r.unreadable.length} unreadable one(s) to pending-unreadable/`,
          );
      }),
    );
    ctx.waitUntil(enforceRetention(env));
    ctx.waitUntil(notifyUnnotified(env));
  },
} satisfies ExportedHandler<Env>;
