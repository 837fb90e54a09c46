/**
 * One [vars] value of the Worker's wrangler.toml, for the CLI to follow the Worker's settings
 * without being told twice (PDQ_SHARD_THRESHOLD). The file is found as wrangler finds it: in
 * the working directory or the nearest parent. Own reader rather than a TOML library: it reads
 * only the `KEY = "value"` lines of one `[vars]` / `[env.NAME.vars]` table, the form this
 * repository's wrangler.toml and its README use; the project has no TOML parser as a
 * dependency (wrangler bundles its own, not for use), and a value written in another form
 * (an inline table, a number) is reported as unreadable, not guessed.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

export interface WranglerVar {
  value: string;
  /** Where it was read, e.g. "wrangler.toml [env.production.vars]". */
  source: string;
}

/** The nearest wrangler.toml from `dir` upwards, or null. */
export function findWranglerToml(dir = process.cwd()): string | null {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const path = join(d, "wrangler.toml");
    if (existsSync(path)) return path;
    if (dirname(d) === d) return null;
  }
}

/**
 * `name` in the vars table of `env` (top-level [vars] without one) of the TOML text; undefined
 * when the table or the key is absent. A key written other than as a basic string throws.
 */
export function varOfToml(text: string, name: string, env?: string): string | undefined {
  const table = env ? `env.${env}.vars` : "vars";
  let inTable = false;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) {
      inTable = line === `[${table}]`;
      continue;
    }
    if (!inTable || !line.startsWith(name)) continue;
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const value = /^"([^"\\]*)"\s*(#.*)?$/.exec(m[2]!);
    if (!value) throw new Error(`[${table}] ${name}: write it as a quoted string, got ${m[2]}`);
    return value[1]!;
  }
  return undefined;
}

/** `name` from the nearest wrangler.toml's vars of `env`, or null when not set there. */
export function wranglerVar(name: string, env?: string, dir?: string): WranglerVar | null {
  const path = findWranglerToml(dir);
  if (!path) return null;
  const value = varOfToml(readFileSync(path, "utf8"), name, env);
  if (value === undefined) return null;
  return { value, source: `${path} [${env ? `env.${env}.vars` : "vars"}]` };
}
