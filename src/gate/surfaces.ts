/**
 * Which of the Worker's surfaces answers a request: the review or admin app, the gate (proxy
 * to the origin), or nobody. The apps live under `/review` and `/admin`. With REVIEW_HOST or
 * ADMIN_HOST set, an app answers only on its host, where the gate never runs; on every other
 * host its paths belong to the platform and go through the gate like any other. Unset (local
 * development), the app answers at its path on every host, and no path of its namespace — by
 * any reading of the path — ever falls through to the origin.
 */
import type { Env } from "../env.ts";
import { pathReadings } from "./path.ts";

export type GateApp = "admin" | "review";
export type Surface = "apps" | "gate" | "none";

const PREFIX: Record<GateApp, string> = { admin: "/admin", review: "/review" };

export type AppHosts = Record<GateApp, string | null>;

function hostVar(raw: string | undefined): string | null {
  let h = (raw ?? "").trim().toLowerCase();
  if (h === "") return null;
  // Accept a URL as written by mistake (https://review.example.com/): only its host counts.
  if (h.includes("://")) h = new URL(h).host;
  return h.replace(/\.$/, "");
}

/** The hosts configured for the apps (lower case), null where an app is path-mounted. */
export function appHosts(env: Env): AppHosts {
  return { admin: hostVar(env.ADMIN_HOST), review: hostVar(env.REVIEW_HOST) };
}

/** Whether the request's host is `want` (with its port, if `want` names one). */
function isHost(url: URL, want: string): boolean {
  const have = (want.includes(":") ? url.host : url.hostname).toLowerCase().replace(/\.$/, "");
  return have === want;
}

/** The app whose namespace a path is in, by any reading of it (case-insensitive), or null. */
export function appOfPath(rawPath: string): GateApp | null {
  for (const reading of pathReadings(rawPath)) {
    for (const app of ["admin", "review"] as const) {
      const p = PREFIX[app];
      if (reading === p || reading.startsWith(`${p}/`)) return app;
    }
  }
  return null;
}

/** Which surface answers this URL. */
export function surfaceOf(url: URL, hosts: AppHosts): Surface {
  const onAppHost = [hosts.admin, hosts.review].some((h) => h !== null && isHost(url, h));
  const app = appOfPath(url.pathname);
  if (app !== null) {
    const home = hosts[app];
    if (home === null || isHost(url, home)) return "apps";
  }
  return onAppHost ? "none" : "gate";
}

/** The gate's answer for a path of its own that has no route: never the origin's. */
export function surfaceNotFound(): Response {
  return new Response(JSON.stringify({ error: "not_found", message: "not found" }), {
    status: 404,
    headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
  });
}
