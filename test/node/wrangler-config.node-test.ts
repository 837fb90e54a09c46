/** Safe defaults in the deployed environments of wrangler.toml (issue 10: no active list). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");

/** The `KEY = "value"` lines of one `[section]` of the file (wrangler.toml's flat vars tables). */
function section(name: string): Record<string, string> {
  const lines = toml.split("\n");
  const start = lines.findIndex((l) => l.trim() === `[${name}]`);
  assert.ok(start >= 0, `no [${name}] in wrangler.toml`);
  const out: Record<string, string> = {};
  for (const line of lines.slice(start + 1)) {
    if (/^\s*\[/.test(line)) break;
    const m = /^\s*([A-Z_]+)\s*=\s*"([^"]*)"/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

test("production and staging refuse uploads when no hash list is active; local development forwards", () => {
  assert.equal(section("env.production.vars").NO_LIST_MODE, "closed");
  assert.equal(section("env.staging.vars").NO_LIST_MODE, "closed");
  assert.equal(section("vars").NO_LIST_MODE, "open");
});

test("every environment sets the binding timeout and the per-request image bound", () => {
  for (const s of ["vars", "env.staging.vars", "env.production.vars"]) {
    assert.match(section(s).BINDING_TIMEOUT_MS ?? "", /^\d+$/, s);
    assert.match(section(s).IMAGE_MAX_PER_REQUEST ?? "", /^\d+$/, s);
  }
});
