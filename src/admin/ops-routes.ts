/**
 * Admin routes for operating the gate's limits (issue 10), added to the admin app behind its
 * bearer-token auth: health (`/status`, `/health`), unscanned uploads counted by reason (`/unscanned`),
 * and allow-list entries listed and revoked (`/allow-list`). Read-only except revocation,
 * which is audited.
 */
import { Hono } from "hono";
import { allowListStore } from "../cases/allow-store.ts";
import { auditLog } from "../cases/audit.ts";
import { unscannedStore } from "../cases/unscanned-store.ts";
import { uploadsWithoutActiveList } from "../gate/no-list.ts";
import { activeLists, EMPTY_MANIFEST, type ListManifest, MANIFEST_KEY } from "../lists/manifest.ts";
import { type PdqShardSettings, pdqSearchFigures } from "../match/pdq-remote.ts";
import { stagedVersions } from "../match/shard-switch.ts";
import { healthReport, listCounts } from "./health.ts";

export interface OpsEnv extends PdqShardSettings {
  HASHES: KVNamespace;
  DB: D1Database;
  EVIDENCE: R2Bucket;
  NO_LIST_MODE?: string;
}

type OpsApp = { Bindings: OpsEnv; Variables: { actor: string } };

/** Recent unscanned records listed by `/unscanned` (counts cover every record since `since`). */
const RECENT_UNSCANNED = 50;
const DAY_MS = 86_400_000;

export const opsRoutes = new Hono<OpsApp>();

opsRoutes.get("/status", async (c) => {
  const now = new Date();
  const manifest = await c.env.HASHES.get<ListManifest>(MANIFEST_KEY, "json");
  const lists = listCounts(manifest, now);
  return c.json({
    manifest: manifest ? { revision: manifest.revision, updatedAt: manifest.updatedAt } : null,
    lists,
    noActiveList: lists.active === 0,
    noListMode: (c.env.NO_LIST_MODE ?? "open").trim().toLowerCase(),
    // Large PDQ lists are searched on shard objects (README: Large PDQ lists).
    pdq: {
      ...pdqSearchFigures(c.env, activeLists(manifest ?? EMPTY_MANIFEST, now)),
      // Versions staged by the CLI, waiting for their shard objects (README: Large PDQ lists).
      staged: (await stagedVersions(c.env.HASHES)).map((s) => ({
        id: s.listId,
        version: s.version,
        kind: s.kind,
        stagedAt: s.stagedAt,
      })),
    },
    // Per isolate, since it started: a hint that traffic met the gate without a list, not a total.
    isolate: { uploadsWithoutActiveList: uploadsWithoutActiveList() },
  });
});

// Everything an operator checks first; 503 "degraded" for monitors (src/admin/health.ts).
opsRoutes.get("/health", async (c) => {
  const report = await healthReport(c.env);
  return c.json(report, report.status === "ok" ? 200 : 503, { "cache-control": "no-store" });
});

opsRoutes.get("/unscanned", async (c) => {
  const since = c.req.query("since") ?? new Date(Date.now() - DAY_MS).toISOString();
  if (Number.isNaN(Date.parse(since)))
    return c.json({ error: "invalid", message: "since: an ISO date" }, 400);
  return c.json({ since, ...(await unscannedStore(c.env.DB).summarySince(since, RECENT_UNSCANNED)) });
});

opsRoutes.get("/allow-list", async (c) => {
  const limit = Number(c.req.query("limit") ?? "100");
  const entries = await allowListStore(c.env.DB).list({
    ...(c.req.query("list") ? { listId: c.req.query("list")! } : {}),
    includeRevoked: c.req.query("revoked") === "1",
    limit: Number.isInteger(limit) ? limit : 100,
  });
  return c.json({ entries });
});

opsRoutes.post("/allow-list/:id/revoke", async (c) => {
  const id = Number(c.req.param("id"));
  if (!Number.isSafeInteger(id) || id <= 0)
    return c.json({ error: "not-found", message: "no such entry" }, 404);
  const entry = await allowListStore(c.env.DB).revoke(id, c.var.actor, new Date().toISOString());
  if (!entry) return c.json({ error: "not-found", message: "no such active entry" }, 404);
  await auditLog(c.env.DB).write({
    actor: c.var.actor,
    action: "allowlist.revoke",
    subject: `allow:${id}`,
    detail: {
      algo: entry.algo,
      listId: entry.listId,
      caseId: entry.caseId,
      cancelsExact: entry.cancelsExact,
    },
  });
  return c.json({ revoked: entry });
});
