/**
 * Admin API for lists, a Hono sub-app. Mount it in src/index.ts before the gate's catch-all:
 *   app.route("/admin", adminRoutes);
 * Needs the `HASHES` KV and `DB` D1 bindings and the `ADMIN_TOKEN` secret
 * (`wrangler secret put ADMIN_TOKEN`). No route returns a list's hashes: only metadata,
 * counts and history. Every change is written to D1 `audit_log` with the acting token's name.
 */
import { Hono } from "hono";
import { auditLog } from "../cases/audit.ts";
import { type ListKeyEnv, listKeyring } from "../lists/env-keyring.ts";
import { createList, removeList, rollbackList, setEnabled } from "../lists/govern.ts";
import { deltaLines, jsonDeltaEvents } from "../lists/import/delta-lines.ts";
import { type ImportEvent, importEvents, isImportFormat } from "../lists/import/index.ts";
import { findList, ListError, readHistory, readManifest } from "../lists/layout.ts";
import { forgetManifest, type ListMeta, listStatus } from "../lists/manifest.ts";
import { isHashAlgo, type ListOp } from "../lists/ops.ts";
import { publishDelta } from "../lists/publish.ts";
import { KvListStore } from "../lists/store.ts";
import { buildShardObjects, discardStagedList, switchStagedList } from "../match/shard-switch.ts";
import { adminAuth } from "./auth.ts";
import { opsRoutes } from "./ops-routes.ts";

export interface AdminEnv extends ListKeyEnv {
  HASHES: KVNamespace;
  DB: D1Database;
  ADMIN_TOKEN?: string;
  NO_LIST_MODE?: string;
}

type AdminApp = { Bindings: AdminEnv; Variables: { actor: string } };

/**
 * Ops per admin delta. Each costs up to three KV operations (record read, record write, id
 * index) against the Workers limit of 1,000 per request; bigger changes go through the CLI.
 */
export const MAX_ADMIN_DELTA_OPS = 250;
/** Bytes of a delta body read at most (~250 lines of the longest form fit easily). */
const MAX_DELTA_BODY_BYTES = 256 * 1024;

function describe(list: ListMeta, now: Date) {
  return { ...list, status: listStatus(list, now) };
}

export const adminRoutes = new Hono<AdminApp>();

adminRoutes.use("*", adminAuth());

adminRoutes.get("/lists", async (c) => {
  const now = new Date();
  const manifest = await readManifest(new KvListStore(c.env.HASHES));
  return c.json({
    revision: manifest.revision,
    updatedAt: manifest.updatedAt,
    lists: manifest.lists.map((l) => describe(l, now)),
  });
});

adminRoutes.get("/lists/:id", async (c) => {
  const store = new KvListStore(c.env.HASHES);
  const list = findList(await readManifest(store), c.req.param("id"));
  return c.json({ list: describe(list, new Date()), history: await readHistory(store, list.id) });
});

/** Runs a change, records it in the audit log, and drops this isolate's cached manifest. */
async function changed<T>(
  c: { env: AdminEnv; var: { actor: string } },
  action: string,
  subject: string,
  detail: Record<string, unknown>,
  result: T,
): Promise<T> {
  await auditLog(c.env.DB).write({ actor: c.var.actor, action, subject, detail });
  forgetManifest(c.env.HASHES);
  return result;
}

adminRoutes.post("/lists", async (c) => {
  const body = await c.req.json().catch(() => {
    throw new ListError("invalid", "body must be JSON");
  });
  const meta = await createList(new KvListStore(c.env.HASHES), body);
  return c.json(
    await changed(c, "list.create", `list:${meta.id}`, { ...meta }, { list: describe(meta, new Date()) }),
    201,
  );
});

for (const [path, enabled] of [
  ["enable", true],
  ["disable", false],
] as const) {
  adminRoutes.post(`/lists/:id/${path}`, async (c) => {
    const list = await setEnabled(new KvListStore(c.env.HASHES), c.req.param("id"), enabled);
    return c.json(
      await changed(c, `list.${path}`, `list:${list.id}`, {}, { list: describe(list, new Date()) }),
    );
  });
}

adminRoutes.post("/lists/:id/rollback", async (c) => {
  const id = c.req.param("id");
  const before = findList(await readManifest(new KvListStore(c.env.HASHES)), id).version;
  const list = await rollbackList(new KvListStore(c.env.HASHES), id, c.var.actor);
  const detail = { from: before, to: list.version };
  return c.json(
    await changed(c, "list.rollback", `list:${id}`, detail, { list: describe(list, new Date()) }),
  );
});

// A staged version (a CLI publish of a list searched on PDQ shard objects) is switched in now:
// the objects build its indexes, then the manifest names it (src/lists/staged.ts).
adminRoutes.post("/lists/:id/switch", async (c) => {
  const id = c.req.param("id");
  const before = findList(await readManifest(new KvListStore(c.env.HASHES)), id).version;
  const list = await switchStagedList(c.env, id);
  if (!list) throw new ListError("not-found", `list ${id} has no staged version`);
  const detail = { from: before, to: list.version };
  return c.json(await changed(c, "list.switch", `list:${id}`, detail, { list: describe(list, new Date()) }));
});

// A staged version whose build keeps failing is dropped, so the list takes a new publish again:
// marker, history line, the version's data and the indexes its shard objects built (src/lists/staged.ts).
// A discard racing a switch: one of them wins, the other gets 409.
adminRoutes.delete("/lists/:id/staged", async (c) => {
  const id = c.req.param("id");
  const r = await discardStagedList(c.env, id, c.var.actor);
  const s = r.staged;
  const detail = { version: s.version, kind: s.kind, stagedAt: s.stagedAt, deletedKeys: r.deletedKeys };
  const discarded = { id, version: s.version, kind: s.kind, stagedAt: s.stagedAt };
  const body = { discarded, deletedKeys: r.deletedKeys, releasedObjects: r.released };
  return c.json(await changed(c, "list.discard-staged", `list:${id}`, detail, body));
});

adminRoutes.delete("/lists/:id", async (c) => {
  const id = c.req.param("id");
  await removeList(new KvListStore(c.env.HASHES), id);
  return c.json(await changed(c, "list.remove", `list:${id}`, {}, { removed: id }));
});

/** Reads a delta body: JSON `{ ops }`, a text delta, or a list file with `?format=`. */
async function deltaEvents(req: Request, url: URL): Promise<ImportEvent[]> {
  const size = Number(req.headers.get("content-length") ?? "0");
  if (size > MAX_DELTA_BODY_BYTES)
    throw new ListError("invalid", `delta larger than ${MAX_DELTA_BODY_BYTES} bytes: use the CLI`);
  const text = await req.text();
  if (text.length > MAX_DELTA_BODY_BYTES)
    throw new ListError("invalid", `delta larger than ${MAX_DELTA_BODY_BYTES} bytes: use the CLI`);
  const source = [text];
  const format = url.searchParams.get("format");
  const events: ImportEvent[] = [];
  if ((req.headers.get("content-type") ?? "").includes("json") && !format) {
    const body = (() => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new ListError("invalid", "body is not JSON");
      }
    })();
    return jsonDeltaEvents(body);
  }
  const algo = url.searchParams.get("algo") ?? undefined;
  if (algo !== undefined && !isHashAlgo(algo)) throw new ListError("invalid", `unknown algorithm ${algo}`);
  if (format !== null && !isImportFormat(format)) throw new ListError("invalid", `unknown format ${format}`);
  const gen = format ? importEvents(format, source, algo ? { algo } : {}) : deltaLines(source);
  for await (const ev of gen) events.push(ev);
  return events;
}

adminRoutes.post("/lists/:id/delta", async (c) => {
  const id = c.req.param("id");
  const events = await deltaEvents(c.req.raw, new URL(c.req.url));
  const errors = events.flatMap((e) => (e.kind === "error" ? [{ line: e.line, message: e.message }] : []));
  if (errors.length > 0)
    return c.json(
      { error: "invalid", message: "delta has malformed lines", errors: errors.slice(0, 50) },
      400,
    );
  const ops: ListOp[] = events.flatMap((e) => (e.kind === "op" ? [e.op] : []));
  if (ops.length === 0) throw new ListError("invalid", "delta has no operations");
  if (ops.length > MAX_ADMIN_DELTA_OPS)
    throw new ListError("invalid", `more than ${MAX_ADMIN_DELTA_OPS} ops: use the CLI`);
  const skipped = events.filter((e) => e.kind === "skip").length;
  const r = await publishDelta(new KvListStore(c.env.HASHES), id, ops, {
    actor: c.var.actor,
    keys: await listKeyring(c.env),
    beforeSwitch: (list) => buildShardObjects(c.env, list),
  });
  const detail = {
    version: r.version,
    base: r.base,
    ops: ops.length,
    added: r.added,
    removed: r.removed,
    skipped,
  };
  return c.json(await changed(c, "list.publish", `list:${id}`, detail, { published: r, skipped }));
});

// Health, unscanned counts and the allow-list (src/admin/ops-routes.ts), behind the same auth.
adminRoutes.route("/", opsRoutes);
