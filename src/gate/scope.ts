import type { GateConfig } from "./config.ts";

/** Whether a request's body is scanned (by method and path); everything else is proxied untouched. */
export function isScanned(request: Request, cfg: GateConfig): boolean {
  if (!cfg.scanMethods.has(request.method.toUpperCase())) return false;
  const path = new URL(request.url).pathname;
  return cfg.scanPaths.some((re) => re.test(path));
}
