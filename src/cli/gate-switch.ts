/**
 * The CLI's side of staged versions (src/lists/staged.ts): which new versions it stages (from
 * the gate's own PDQ_SHARD_THRESHOLD when it talks to the gate), asking the gate (admin API,
 * admin token) to switch one now, optionally waiting until it has, or to discard one. The CLI
 * writes KV through wrangler and cannot reach the gate's PDQ shard objects, so a shard-sized
 * PDQ version is switched by the Worker.
 */
import type { ListMeta } from "../lists/manifest.ts";
import { DEFAULT_PDQ_SHARD_THRESHOLD } from "../pdq-shards/protocol.ts";

/** The admin token for --gate (the Worker's ADMIN_TOKEN secret), never an argument. */
export const ADMIN_TOKEN_ENV = "HASHGATE_ADMIN_TOKEN";
/** Between switch attempts with --wait, and how long --wait waits at most. */
const WAIT_POLL_MS = 10_000;
const WAIT_MAX_MS = 30 * 60_000;

/**
 * The CLI stages a version the gate searches on shard objects: `threshold` is the Worker's
 * PDQ_SHARD_THRESHOLD (--shard-threshold, default the Worker's default). A version the Worker
 * then searches in the isolate after all is switched by its next scheduled run without a build.
 */
export function stagesAt(threshold: number | undefined) {
  const t = threshold ?? DEFAULT_PDQ_SHARD_THRESHOLD;
  return (next: ListMeta) => (next.pdqShards ?? 0) > 0 && (next.pdqEntries ?? 0) >= t;
}

export class GateSwitchError extends Error {}

export interface GateSwitch {
  /** The gate's base URL, e.g. https://uploads.example.com. */
  gate: string;
  token: string;
  wait: boolean;
  pollMs?: number;
  maxMs?: number;
}

async function post(g: GateSwitch, id: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(`/admin/lists/${encodeURIComponent(id)}/switch`, g.gate);
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${g.token}` } });
  } catch (e) {
    return { status: 0, body: { message: `${url.origin} did not answer: ${(e as Error).message}` } };
  }
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, body };
}

/** The admin API at `path`, or a GateSwitchError saying why not (status 0: no answer). */
async function gateCall(
  g: GateSwitch,
  method: string,
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = new URL(path, g.gate);
  let res: Response;
  try {
    res = await fetch(url, { method, headers: { authorization: `Bearer ${g.token}` } });
  } catch (e) {
    throw new GateSwitchError(`${url.origin} did not answer: ${(e as Error).message}`);
  }
  if (res.status === 401 || res.status === 403)
    throw new GateSwitchError(`the gate refused the admin token in ${ADMIN_TOKEN_ENV}`);
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { status: res.status, body };
}

const reason = (r: { status: number; body: Record<string, unknown> }) =>
  String(r.body.message ?? r.body.error ?? `HTTP ${r.status}`);

/**
 * The gate's PDQ_SHARD_THRESHOLD, from GET /admin/status: the entry count from which it searches
 * a list on shard objects. Null: the gate has no shard objects (every list in the isolate).
 */
export async function gateShardThreshold(g: Pick<GateSwitch, "gate" | "token">): Promise<number | null> {
  const r = await gateCall({ ...g, wait: false }, "GET", "/admin/status");
  if (r.status !== 200) throw new GateSwitchError(`the gate's /admin/status answered ${reason(r)}`);
  const pdq = r.body.pdq as { shardThreshold?: unknown; error?: unknown } | undefined;
  if (pdq && typeof pdq.error === "string")
    throw new GateSwitchError(`the gate's PDQ shard settings are invalid: ${pdq.error}`);
  const t = pdq?.shardThreshold;
  if (t === null) return null;
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0)
    throw new GateSwitchError(
      "the gate's /admin/status does not say its PDQ shard threshold (an older gate?)",
    );
  return t;
}

export interface GateDiscard {
  discarded: { id: string; version: number; kind: string; stagedAt: string };
  deletedKeys: number;
  releasedObjects: number;
}

/** Has the gate discard list `id`'s staged version (DELETE /admin/lists/:id/staged). */
export async function discardOnGate(g: Pick<GateSwitch, "gate" | "token">, id: string): Promise<GateDiscard> {
  const r = await gateCall({ ...g, wait: false }, "DELETE", `/admin/lists/${encodeURIComponent(id)}/staged`);
  if (r.status !== 200) throw new GateSwitchError(`${id}: not discarded (${reason(r)})`);
  return r.body as unknown as GateDiscard;
}

async function listVersion(g: GateSwitch, id: string): Promise<number | null> {
  const res = await fetch(new URL(`/admin/lists/${encodeURIComponent(id)}`, g.gate), {
    headers: { authorization: `Bearer ${g.token}` },
  }).catch(() => null);
  if (!res?.ok) return null;
  return ((await res.json()) as { list?: { version?: number } }).list?.version ?? null;
}

/**
 * Has the gate switch `version` of list `id` in. Without `wait` one attempt; with it, attempts
 * every pollMs until switched (by this call or the gate's scheduled run) or maxMs passed.
 */
export async function switchOnGate(g: GateSwitch, id: string, version: number): Promise<void> {
  const deadline = Date.now() + (g.maxMs ?? WAIT_MAX_MS);
  for (;;) {
    const r = await post(g, id);
    if (r.status === 200) return;
    if (r.status === 401 || r.status === 403)
      throw new GateSwitchError(`the gate refused the admin token in ${ADMIN_TOKEN_ENV}`);
    // 404: nothing staged any more — switched meanwhile (scheduled run) if the list names it.
    if (r.status === 404 && (await listVersion(g, id)) === version) return;
    const why = String(r.body.message ?? r.body.error ?? `HTTP ${r.status}`);
    if (!g.wait || Date.now() >= deadline)
      throw new GateSwitchError(
        `${id}: version ${version} stays staged (${why}); the gate's scheduled run retries it`,
      );
    await new Promise((resolve) => setTimeout(resolve, g.pollMs ?? WAIT_POLL_MS));
  }
}
