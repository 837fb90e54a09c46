/**
 * Reads the few wrangler.toml settings the benchmark needs to run the Worker as configured:
 * top-level compatibility settings and the [vars] table. Only `key = "string"` and
 * `key = ["strings"]` values are understood (all wrangler.toml uses for these); anything else
 * is a clear error rather than a silent default.
 */
import { readFileSync } from "node:fs";

export interface WorkerSettings {
  compatibilityDate: string;
  compatibilityFlags: string[];
  vars: Record<string, string>;
}

export function readWorkerSettings(tomlPath: string): WorkerSettings {
  const top: Record<string, unknown> = {};
  const vars: Record<string, string> = {};
  let section = "";
  for (const [i, raw] of readFileSync(tomlPath, "utf8").split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[\[?([^\]]+)\]\]?$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      continue;
    }
    if (section !== "" && section !== "vars") continue;
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(.+)$/.exec(line);
    if (!kv) continue;
    const value = parseValue(kv[2]!.trim(), `${tomlPath}:${i + 1}`);
    if (section === "vars") {
      if (typeof value !== "string") throw new Error(`${tomlPath}:${i + 1}: var ${kv[1]} is not a string`);
      vars[kv[1]!] = value;
    } else {
      top[kv[1]!] = value;
    }
  }
  const date = top.compatibility_date;
  if (typeof date !== "string") throw new Error(`${tomlPath}: no compatibility_date`);
  const flags = top.compatibility_flags ?? [];
  if (!Array.isArray(flags)) throw new Error(`${tomlPath}: compatibility_flags is not an array`);
  return { compatibilityDate: date, compatibilityFlags: flags.map(String), vars };
}

function parseValue(text: string, where: string): unknown {
  // TOML basic strings and arrays of them are valid JSON once a trailing comment is removed.
  const withoutComment = text.replace(/\s+#.*$/, "");
  if (!/^["[]/.test(withoutComment)) return withoutComment;
  try {
    return JSON.parse(withoutComment);
  } catch {
    throw new Error(`${where}: cannot read value ${text}`);
  }
}
