import type { GateConfig } from "./config.ts";
import { pathMatches } from "./path.ts";

/** What the gate does with a request: scan its body, refuse it, or proxy it untouched. */
export type Scope = "scan" | "refuse" | "pass";

/**
 * Whether a request carries a body: a non-zero Content-Length, any Transfer-Encoding, or a
 * body stream without a length. An explicit `Content-Length: 0` is no body (many clients
 * send it with DELETE).
 */
export function carriesBody(request: Request): boolean {
  const len = request.headers.get("content-length")?.trim();
  if (len !== undefined && len !== "") return len !== "0" || request.headers.has("transfer-encoding");
  return request.body !== null || request.headers.has("transfer-encoding");
}

/**
 * The gate's rule for a request. On a path outside SCAN_PATHS, nothing is scanned. On a
 * scanned path, a request that carries a body is scanned whatever its method (an origin that
 * routes by path stores a DELETE's body as readily as a POST's) — or refused, if the operator
 * chose OTHER_METHOD_BODIES=refuse for methods outside SCAN_METHODS; a bodiless request is
 * scanned (trivially clean) only with an upload method, so its origin signature says so.
 */
export function scopeOf(request: Request, cfg: GateConfig): Scope {
  const path = new URL(request.url).pathname;
  if (!pathMatches(path, cfg.scanPaths, cfg.scanPathsCaseSensitive)) return "pass";
  const uploadMethod = cfg.scanMethods.has(request.method.toUpperCase());
  if (!carriesBody(request)) return uploadMethod ? "scan" : "pass";
  if (uploadMethod || cfg.otherMethodBodies === "scan") return "scan";
  return "refuse";
}
