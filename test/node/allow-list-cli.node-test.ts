/**
 * `hashgate allow-list list|revoke` against a local D1 (wrangler --persist-to a temporary
 * directory), with the repository's migrations applied. Digests are TEST DATA.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { listStatement, revokeStatement } from "../../src/cli/allow-list.ts";
import { wranglerBin } from "../../src/cli/wrangler-kv.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "hashgate-allow-"));
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

function wrangler(...args: string[]): string {
  return execFileSync(process.execPath, [wranglerBin(), ...args, "--local", "--persist-to", dir], {
    cwd: ROOT,
    env,
    encoding: "utf8",
  });
}

function hashgate(...args: string[]): { out: string; code: number } {
  try {
    const out = execFileSync(
      process.execPath,
      ["bin/hashgate.mjs", "allow-list", ...args, "--local", "--persist-to", dir],
      {
        cwd: ROOT,
        env,
        encoding: "utf8",
      },
    );
    return { out, code: 0 };
  } catch (e) {
    return { out: String((e as { stdout?: string }).stdout ?? ""), code: (e as { status: number }).status };
  }
}

before(() => {
  wrangler("d1", "migrations", "apply", "DB");
  wrangler(
    "d1",
    "execute",
    "DB",
    "--command",
    `INSERT INTO allow_entries (algo, digest, list_id, cancels_exact, added_at, added_by, case_id, file_index, reason)
     VALUES ('md5', '${"0f".repeat(16)}', 'demo', 0, '2026-11-30T00:00:00Z', 'test', 'hg_test', 1, 'test data')`,
  );
});

after(() => rmSync(dir, { recursive: true, force: true }));

test("lists entries and revokes one; a revoked entry is listed only with --revoked", () => {
  // Each wrangler run costs seconds: one list, one revoke, one list of everything.
  const listed = JSON.parse(hashgate("list", "--json").out) as { id: number; list_id: string }[];
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.list_id, "demo");
  assert.equal(hashgate("revoke", String(listed[0]!.id), "--actor", "cli:test").code, 0);
  const all = JSON.parse(hashgate("list", "--revoked", "--json").out) as { revoked_by: string }[];
  assert.equal(all.length, 1);
  assert.equal(all[0]!.revoked_by, "cli:test");
});

test("statements quote list ids and refuse ids that are not positive integers", () => {
  assert.match(listStatement({ listId: "a'b" }), /list_id = 'a''b'/);
  assert.throws(() => revokeStatement(Number("1; DROP TABLE cases"), "x"));
  assert.throws(() => revokeStatement(0, "x"));
});
