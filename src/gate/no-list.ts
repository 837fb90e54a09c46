/**
 * No active list: a missing manifest, or every list expired, disabled or unpublished, would make
 * every upload clean without a word. The gate says so in the logs (once a minute per isolate)
 * and, with NO_LIST_MODE=closed (the production default), refuses uploads until a list is active.
 */
import type { ListManifest, ListMeta } from "../lists/manifest.ts";
import { listStatus } from "../lists/manifest.ts";

/** At most one log line per isolate this often: a busy gate would otherwise log every upload. */
const LOG_EVERY_MS = 60_000;

let lastLogAt = 0;
/** Uploads this isolate saw while no list was active (health figure; per isolate, since it started). */
let uploadsWithoutList = 0;

/** Notes an upload that found no active list, logging at most once a minute. */
export function noteNoActiveList(manifest: ListManifest, mode: "open" | "closed", now = Date.now()): void {
  uploadsWithoutList++;
  if (now - lastLogAt < LOG_EVERY_MS) return;
  lastLogAt = now;
  const why =
    manifest.lists.length === 0 ? "no list in the manifest" : describe(manifest.lists, new Date(now));
  console.error(
    `hashgate: NO ACTIVE HASH LIST (${why}); uploads are ${mode === "closed" ? "refused (NO_LIST_MODE=closed)" : "forwarded unscanned (NO_LIST_MODE=open)"}`,
  );
}

function describe(lists: ListMeta[], now: Date): string {
  const by = new Map<string, number>();
  for (const l of lists) by.set(listStatus(l, now), (by.get(listStatus(l, now)) ?? 0) + 1);
  return [...by].map(([s, n]) => `${n} ${s}`).join(", ");
}

/** This isolate's count of uploads seen with no active list. */
export function uploadsWithoutActiveList(): number {
  return uploadsWithoutList;
}
