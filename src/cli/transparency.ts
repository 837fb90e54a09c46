/**
 * `hashgate transparency --from YYYY-MM-DD --to YYYY-MM-DD`: the figures a platform publishes
 * under the EU interim regulation 2021/1232 (Art. 3(1)(g)(vii)) and the DSA (Art. 15, 24) —
 * uploads blocked by list and category, reports made, appeals received and upheld, decisions
 * reversed, median time to decision — as JSON, CSV or Markdown. The aggregation is
 * src/cases/stats.ts, the same the review UI's stats page runs; here its SQL goes through
 * `wrangler d1 execute`, which takes no bound parameters, so the (validated) dates are inlined.
 */
import { parseArgs } from "node:util";
import { parseRange, type Run, type Transparency, transparencyFigures } from "../cases/stats.ts";
import { d1 } from "./allow-list.ts";
import type { WranglerTarget } from "./wrangler-kv.ts";

const USAGE = `usage: hashgate transparency --from YYYY-MM-DD --to YYYY-MM-DD [--format json|csv|md]
                              (--local | --remote [--env NAME]) [--db DB] [--persist-to DIR]

Days are UTC, both included. Figures: uploads blocked and flagged, blocked by list and
category, reports made, appeals received, upheld (decision kept) and decisions reversed,
blocks dismissed on review, median time to the first decision.`;

const OPTIONS = {
  from: { type: "string" },
  to: { type: "string" },
  format: { type: "string", default: "md" },
  local: { type: "boolean" },
  remote: { type: "boolean" },
  env: { type: "string" },
  db: { type: "string", default: "DB" },
  "persist-to": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const FORMATS = ["json", "csv", "md"] as const;
type Format = (typeof FORMATS)[number];

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** `?1`, `?2`… replaced by quoted literals (wrangler's --command takes no parameters). */
export function inlineParams(sql: string, params: string[]): string {
  return sql.replace(/\?(\d+)/g, (m, n: string) => {
    const v = params[Number(n) - 1];
    if (v === undefined) throw new Error(`no value for ${m}`);
    return literal(v);
  });
}

/** The figures as label → value rows, in the order they are published. */
function scalarRows(t: Transparency): [string, string, number | string][] {
  return [
    ["uploads_blocked", "Uploads blocked", t.uploadsBlocked],
    ["uploads_flagged", "Uploads flagged for review", t.uploadsFlagged],
    ["reports_made", "Reports made (CyberTipline or report webhook)", t.reportsMade],
    ["appeals_received", "Appeals received", t.appealsReceived],
    ["appeals_upheld", "Appeals decided, decision upheld", t.appealsUpheld],
    ["decisions_reversed", "Decisions reversed on appeal", t.decisionsReversed],
    ["blocks_dismissed_on_review", "Automated blocks dismissed on human review", t.blocksDismissedOnReview],
    ["decisions", "Cases decided (first decision in the period)", t.decisions],
    ["median_seconds_to_decision", "Median time to decision (seconds)", t.medianSecondsToDecision ?? ""],
  ];
}

const csvCell = (v: string | number) => {
  const s = String(v);
  // Quote what needs quoting; a leading = + - @ is neutralised for spreadsheets.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) || safe !== s ? `"${safe.replaceAll('"', '""')}"` : safe;
};
const mdCell = (v: string | number) =>
  String(v)
    .replaceAll("\\", "\\\\")
    .replaceAll("|", "\\|")
    .replace(/[\r\n]+/g, " ");

export function formatReport(t: Transparency, format: Format): string {
  if (format === "json") return `${JSON.stringify(t, null, 2)}\n`;
  if (format === "csv") {
    const lines = [["figure", "list", "category", "value"]];
    for (const [key, , v] of scalarRows(t)) lines.push([key, "", "", String(v)]);
    for (const r of t.blockedByListCategory)
      lines.push(["uploads_blocked_by_list", r.list, r.category, String(r.uploads)]);
    return `# hashgate transparency report ${t.from} to ${t.to} (UTC days, both included)\n${lines.map((l) => l.map(csvCell).join(",")).join("\n")}\n`;
  }
  const byList = t.blockedByListCategory.length
    ? t.blockedByListCategory.map((r) => `| ${mdCell(r.list)} | ${mdCell(r.category)} | ${r.uploads} |`)
    : ["| – | – | 0 |"];
  return [
    `# Transparency report, ${t.from} to ${t.to}`,
    "",
    "Days are UTC, both included. Regulation (EU) 2021/1232 Art. 3(1)(g)(vii); Regulation (EU) 2022/2065 (DSA) Art. 15 and 24.",
    "",
    "| Figure | Value |",
    "| --- | ---: |",
    ...scalarRows(t).map(([, label, v]) => `| ${label} | ${v === "" ? "–" : v} |`),
    "",
    "## Uploads blocked by list and category",
    "",
    "| List | Category | Uploads blocked |",
    "| --- | --- | ---: |",
    ...byList,
    "",
  ].join("\n");
}

export async function run(argv: string[], runSql?: Run): Promise<number> {
  let v: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>["values"];
  try {
    v = parseArgs({ args: argv, options: OPTIONS }).values;
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    console.error(USAGE);
    return 0;
  }
  if (!v.from || !v.to) {
    console.error(`--from and --to are required\n${USAGE}`);
    return 2;
  }
  const format = v.format as Format;
  if (!FORMATS.includes(format)) {
    console.error(`--format: one of ${FORMATS.join(", ")}`);
    return 2;
  }
  let range: ReturnType<typeof parseRange>;
  try {
    range = parseRange(v.from, v.to);
  } catch (e) {
    console.error(`hashgate transparency: ${(e as Error).message}`);
    return 2;
  }
  if (!runSql && v.local === v.remote) {
    console.error(`say where: --local or --remote\n${USAGE}`);
    return 2;
  }
  const target: WranglerTarget = {
    mode: v.local ? "local" : "remote",
    binding: "HASHES",
    ...(v.env ? { env: v.env } : {}),
    ...(v["persist-to"] ? { persistTo: v["persist-to"] } : {}),
  };
  const db = v.db ?? "DB";
  // One wrangler at a time: parallel ones lock a local D1's file (SQLITE_BUSY).
  let last: Promise<unknown> = Promise.resolve();
  const runner: Run =
    runSql ??
    ((sql, params) => {
      const next = last.then(() => d1(target, db, inlineParams(sql, params)));
      last = next.catch(() => undefined);
      return next;
    });
  try {
    process.stdout.write(formatReport(await transparencyFigures(runner, range), format));
    return 0;
  } catch (e) {
    console.error(`hashgate transparency: ${(e as Error).message.split("\n")[0]}`);
    return 1;
  }
}
