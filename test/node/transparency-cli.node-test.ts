/**
 * `hashgate transparency`: its JSON, CSV and Markdown, its argument errors, and one run through
 * wrangler against a local D1 (a temporary --persist-to directory, the repository's migrations
 * applied). Cases are TEST DATA: made-up ids and lists.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Transparency } from "../../src/cases/stats.ts";
import { formatReport, inlineParams } from "../../src/cli/transparency.ts";
import { wranglerBin } from "../../src/cli/wrangler-kv.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "hashgate-transparency-"));
const env = { ...process.env, WRANGLER_SEND_METRICS: "false" };

const FIGURES: Transparency = {
  from: "2026-03-01",
  to: "2026-03-31",
  uploadsBlocked: 5,
  uploadsFlagged: 2,
  blockedByListCategory: [
    { list: "alpha", category: "A1", uploads: 4 },
    { list: 'be|ta,"x"', category: "=cmd()", uploads: 1 },
  ],
  reportsMade: 3,
  appealsReceived: 2,
  appealsUpheld: 1,
  decisionsReversed: 1,
  blocksDismissedOnReview: 1,
  decisions: 6,
  medianSecondsToDecision: 5400,
};

function hashgate(...args: string[]) {
  const r = spawnSync(process.execPath, ["bin/hashgate.mjs", "transparency", ...args], {
    cwd: ROOT,
    env,
    encoding: "utf8",
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test("JSON is the figures as they are", () => {
  assert.deepEqual(JSON.parse(formatReport(FIGURES, "json")), FIGURES);
});

test("CSV: one row per figure and per list and category, cells quoted and spreadsheet formulas neutralised", () => {
  const lines = formatReport(FIGURES, "csv").trimEnd().split("\n");
  assert.match(lines[0]!, /^# hashgate transparency report 2026-03-01 to 2026-03-31/);
  assert.equal(lines[1], "figure,list,category,value");
  assert.ok(lines.includes("uploads_blocked,,,5"));
  assert.ok(lines.includes("median_seconds_to_decision,,,5400"));
  assert.ok(lines.includes("uploads_blocked_by_list,alpha,A1,4"));
  assert.ok(lines.includes(`uploads_blocked_by_list,"be|ta,""x""","'=cmd()",1`));
  assert.equal(lines.length, 2 + 9 + 2);
});

test("Markdown: a table of figures and one of lists, pipes escaped", () => {
  const md = formatReport(FIGURES, "md");
  assert.match(md, /^# Transparency report, 2026-03-01 to 2026-03-31/);
  assert.match(md, /\| Appeals received \| 2 \|/);
  assert.match(md, /\| Decisions reversed on appeal \| 1 \|/);
  assert.match(md, /\| alpha \| A1 \| 4 \|/);
  assert.match(md, /\| be\\\|ta,"x" \| =cmd\(\) \| 1 \|/);
  const none = formatReport({ ...FIGURES, blockedByListCategory: [], medianSecondsToDecision: null }, "md");
  assert.match(none, /\| Median time to decision \(seconds\) \| – \|/);
});

test("parameters are inlined as quoted literals", () => {
  assert.equal(
    inlineParams("a >= ?1 AND b < ?2 OR c = ?1", ["x'y", "z"]),
    "a >= 'x''y' AND b < 'z' OR c = 'x''y'",
  );
  assert.throws(() => inlineParams("?3", ["a"]), /no value/);
});

test("bad arguments are one clear line and exit 2", () => {
  for (const [args, msg] of [
    [["--from", "2026-02-30", "--to", "2026-03-01", "--local"], /not a date/],
    [["--from", "2026-03-02", "--to", "2026-03-01", "--local"], /after/],
    [["--from", "2026-03-01", "--to", "2026-03-02", "--format", "xml", "--local"], /--format/],
    [["--from", "2026-03-01", "--to", "2026-03-02"], /--local or --remote/],
  ] as const) {
    const r = hashgate(...args);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err.split("\n")[0]!, msg);
    assert.doesNotMatch(r.err, /at .*\.ts:\d+/);
  }
});

before(() => {
  execFileSync(
    process.execPath,
    [wranglerBin(), "d1", "migrations", "apply", "DB", "--local", "--persist-to", dir],
    {
      cwd: ROOT,
      env,
      encoding: "utf8",
    },
  );
  const msg = (list: string, category: string) =>
    JSON.stringify({ files: [{ matches: [{ listId: list, category }] }] }).replaceAll("'", "''");
  const rows = [
    ["c1", "2026-03-02T10:00:00.000Z", "block", "alpha", msg("alpha", "A1")],
    ["c2", "2026-03-03T10:00:00.000Z", "block", "alpha", msg("alpha", "A1")],
    ["c3", "2026-03-04T10:00:00.000Z", "flag", "gamma", msg("gamma", "B2")],
    ["c4", "2026-04-01T00:00:00.000Z", "block", "alpha", msg("alpha", "A1")],
  ];
  const inserts = rows.map(
    ([id, at, verdict, list, m]) =>
      `INSERT INTO cases (id, created_at, verdict, source, file_count, list_ids, message, updated_at) VALUES ('${id}', '${at}', '${verdict}', 'queue', 1, '["${list}"]', '${m}', '${at}');`,
  );
  const events = [
    "INSERT INTO case_events (case_id, at, actor, action, from_status, to_status) VALUES ('c1', '2026-03-02T11:00:00.000Z', 'a', 'confirm', 'new', 'confirmed');",
    "INSERT INTO case_events (case_id, at, actor, action, from_status, to_status) VALUES ('c1', '2026-03-02T12:00:00.000Z', 'a', 'report', 'confirmed', 'reported');",
  ];
  execFileSync(
    process.execPath,
    [
      wranglerBin(),
      "d1",
      "execute",
      "DB",
      "--local",
      "--persist-to",
      dir,
      "--command",
      [...inserts, ...events].join(" "),
    ],
    { cwd: ROOT, env, encoding: "utf8" },
  );
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("a local D1 through wrangler: the range's figures", () => {
  const r = hashgate(
    "--from",
    "2026-03-01",
    "--to",
    "2026-03-31",
    "--format",
    "json",
    "--local",
    "--persist-to",
    dir,
  );
  assert.equal(r.code, 0, r.err);
  const t = JSON.parse(r.out) as Transparency;
  assert.equal(t.uploadsBlocked, 2);
  assert.equal(t.uploadsFlagged, 1);
  assert.deepEqual(t.blockedByListCategory, [{ list: "alpha", category: "A1", uploads: 2 }]);
  assert.equal(t.reportsMade, 1);
  assert.equal(t.medianSecondsToDecision, 3600);
});
