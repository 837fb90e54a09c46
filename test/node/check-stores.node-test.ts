/**
 * scripts/check-stores.ts, the check of `npm run check` that keeps D1 statements inside the
 * stores: on a small tree written to a temp dir it reports each offender by file and line and
 * exits 1, leaves RegExp's `.exec` and the store files alone, and src/ itself passes.
 * Run: npm run test:node
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, test } from "node:test";
import { d1Uses, STORE_FILES, storeViolations } from "../../scripts/check-stores.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const dir = mkdtempSync(join(tmpdir(), "hashgate-stores-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function tree(root: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A route that reads a table itself, as src/review/claims-api.ts's `/next` once did. */
const OFFENDER = `export async function next(c: { env: { DB: D1Database } }, id: string) {
  const row = await c.env.DB.prepare("SELECT id, created_at FROM cases WHERE id = ?1")
    .bind(id)
    .first();
  return row;
}
`;

test("a statement prepared outside a store is reported with its file and line", () => {
  const root = tree(join(dir, "offender"), {
    "src/review/claims-api.ts": OFFENDER,
    "src/cases/claim-store.ts":
      'export const take = (db: D1Database) => db.prepare("UPDATE cases SET x = 1");\n',
  });
  assert.deepEqual(storeViolations(root), ["src/review/claims-api.ts:2: c.env.DB.prepare"]);
});

test("batch, exec, an aliased prepare and bracket access are D1 uses too", () => {
  const text = `const RE = /a/;
export async function f(db: D1Database, s: string) {
  await db.batch([]);
  await db.exec("DELETE FROM cases");
  const p = db.prepare.bind(db);
  db["prepare"]("SELECT 1");
  return [/b/.exec(s), RE.exec(s), new RegExp("c").exec(s), (/d/ as RegExp).exec(s), p];
}
`;
  assert.deepEqual(
    d1Uses("src/x.ts", text).map((u) => u.split(": ")[0]),
    ["src/x.ts:3", "src/x.ts:4", "src/x.ts:5", "src/x.ts:6"],
  );
});

test("the check exits 1 on a tree with an offender and 0 once it is routed through a store", () => {
  const root = tree(join(dir, "cli"), { "src/report/preview.ts": OFFENDER });
  const run = () =>
    spawnSync(process.execPath, [join(ROOT, "scripts/check-stores.ts"), root], { encoding: "utf8" });
  const bad = run();
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /1 D1 statement\(s\) outside a store/);
  assert.match(bad.stderr, /src\/report\/preview\.ts:2: c\.env\.DB\.prepare/);
  tree(root, {
    "src/report/preview.ts":
      'import { reportStore } from "./store.ts";\nexport const next = (db: D1Database, id: string) => reportStore(db).get(id);\n',
    "src/report/store.ts": OFFENDER,
  });
  const good = run();
  assert.equal(good.status, 0, good.stderr);
});

test("src/ of this repository runs D1 statements only in its stores, and every listed store exists", () => {
  assert.deepEqual(storeViolations(ROOT), []);
  for (const path of Object.keys(STORE_FILES)) {
    assert.ok(
      d1Uses(path, readFileSync(join(ROOT, path), "utf8")).length > 0,
      `${path} is listed as a store but runs no statement`,
    );
  }
});
