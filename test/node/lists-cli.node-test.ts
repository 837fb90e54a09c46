/**
 * `hashgate lists` as a user runs it (the CLI process, against a temporary local state):
 * errors are one clear line, `show` prints a table. Hashes are TEST DATA (random hex).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const ROOT = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "hashgate-lists-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function hashgate(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, ["bin/hashgate.mjs", "lists", ...args], {
    cwd: ROOT,
    env: { ...env, WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const local = ["--local", "--persist-to", dir];

/** One line on stderr, no stack trace. */
function oneLine(err: string): string {
  const lines = err.trim().split("\n");
  assert.equal(lines.length, 1, `expected one line, got:\n${err}`);
  assert.doesNotMatch(err, /\n\s+at /);
  return lines[0]!;
}

test("a missing list file is one clear line (import and dry run)", () => {
  const missing = join(dir, "no-such-list.txt");
  const r = hashgate(["import", "--list", "t", "--format", "plain", missing, ...local]);
  assert.notEqual(r.code, 0);
  assert.equal(oneLine(r.err), `hashgate lists: ${missing}: no such file`);
  const d = hashgate(["import", "--dry-run", "--format", "plain", missing]);
  assert.notEqual(d.code, 0);
  assert.equal(oneLine(d.err), `hashgate lists: ${missing}: no such file`);
});

test("--remote without a wrangler login is one clear line", () => {
  const home = mkdtempSync(join(dir, "home-"));
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CONFIG_HOME: home };
  delete env.CLOUDFLARE_API_TOKEN;
  delete env.CLOUDFLARE_API_KEY;
  const r = hashgate(["show", "--remote"], env);
  assert.notEqual(r.code, 0);
  assert.match(oneLine(r.err), /not logged in to Cloudflare: run `npx wrangler login`/);
});

const TERMS = ["--provider", "test", "--licence-ref", "test data", "--licensed-until", "2099-12-31"];

test("lists show prints a labelled, aligned table, and JSON with --json", () => {
  for (const id of ["a", "a-much-longer-list-id"]) {
    const c = hashgate(["create", id, ...TERMS, "--allowed-uses", "block", "--action", "flag", ...local]);
    assert.equal(c.code, 0, c.err);
  }
  const r = hashgate(["show", ...local]);
  assert.equal(r.code, 0, r.err);
  const [header, ...rows] = r.out.trimEnd().split("\n");
  assert.match(header!, /^ID\s+STATUS\s+VERSION\s+ACTION\s+LICENSED UNTIL\s+EXACT\s+PDQ\s+KEY$/);
  assert.equal(rows.length, 2);
  // Every column starts where its header does.
  for (const [label, cell] of [
    ["STATUS", "unpublished"],
    ["ACTION", "flag"],
    ["LICENSED UNTIL", "2099-12-31"],
  ] as const)
    for (const row of rows) assert.equal(row.indexOf(cell), header!.indexOf(label), `${label} in "${row}"`);
  const json = JSON.parse(hashgate(["show", "--json", ...local]).out) as { id: string; status: string }[];
  assert.deepEqual(
    json.map((l) => [l.id, l.status]),
    [
      ["a", "unpublished"],
      ["a-much-longer-list-id", "unpublished"],
    ],
  );
  const one = hashgate(["show", "a", ...local]).out.split("\n");
  assert.match(one[0]!, /^FIELD\s+VALUE$/);
  assert.ok(one.some((l) => /^action\s+flag$/.test(l)));
  assert.equal(
    (JSON.parse(hashgate(["show", "a", "--json", ...local]).out) as { action: string }).action,
    "flag",
  );
});

test("import --delta reads add/remove lines (dry run), and takes --format or --delta, not both", () => {
  const file = join(dir, "changes.delta");
  const hex = "0123456789abcdef0123456789abcdef"; // test data
  writeFileSync(file, `# test data\nadd md5 ${hex}\nremove md5 ${hex}\nadd sha1 ${hex}\n`);
  const r = hashgate(["import", "--dry-run", "--delta", "--json", file]);
  assert.equal(r.code, 1, "one malformed line (a SHA-1 of 32 digits)");
  const s = JSON.parse(r.out) as { adds: number; removes: number; errors: { line: number }[] };
  assert.deepEqual([s.adds, s.removes, s.errors.map((e) => e.line)], [1, 1, [4]]);
  const both = hashgate(["import", "--dry-run", "--delta", "--format", "plain", file]);
  assert.equal(both.code, 2);
  assert.match(both.err, /give --format or --delta, not both/);
});
