/**
 * Admin routes for the dead-letter queue (mounted at /admin/dlq, same bearer token as the
 * lists API): how many messages are parked, and replaying them into MATCHES.
 */
import { Hono } from "hono";
import { AUDIT, auditLog } from "../cases/audit.ts";
import { listDeadLetters, replayDeadLetters } from "../cases/dead-letter.ts";
import type { Env } from "../env.ts";
import { adminAuth } from "./auth.ts";

export const dlqRoutes = new Hono<{ Bindings: Env; Variables: { actor: string } }>();

dlqRoutes.use("*", adminAuth());

dlqRoutes.get("/", async (c) => {
  const ids = await listDeadLetters(c.env);
  return c.json({ parked: ids.length, ids });
});

dlqRoutes.post("/replay", async (c) => {
  const replayed = await replayDeadLetters(c.env);
  await auditLog(c.env.DB).write({
    actor: c.get("actor"),
    action: AUDIT.dlqReplay,
    subject: "queue:matches",
    detail: { replayed },
  });
  return c.json({ replayed });
});
