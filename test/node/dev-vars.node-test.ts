/**
 * `npm start`'s HASHGATE_DEV_VARS: a word that is not NAME=value stops it at once with a clear
 * message, before anything is built, migrated or started.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

test("HASHGATE_DEV_VARS refuses a word that is not NAME=value", () => {
  for (const bad of ["SCAN_PATHS", "scan_paths=/x", "=/x", "SCAN-PATHS=/x"]) {
    const r = spawnSync(process.execPath, ["scripts/dev.ts"], {
      env: { ...process.env, HASHGATE_DEV_VARS: `FAIL_MODE=closed ${bad}`, PORT: "1", DEMO_ORIGIN_PORT: "1" },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(r.status, 2, `${bad}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`HASHGATE_DEV_VARS: "${bad}" is not NAME=value`));
    assert.doesNotMatch(r.stdout, /applying D1 migrations|WebAssembly core/);
  }
});
