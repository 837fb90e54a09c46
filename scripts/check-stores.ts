/**
 * Part of `npm run check`: D1 statements are written and run only inside the stores, the
 * classes that own a family of tables (docs/architecture.md, "Stores"). Anywhere else in src/,
 * `.prepare`, `.batch` or a D1 `.exec(` fails the check with the file and line. Nothing but D1
 * has a `prepare` or a `batch` in this code base, so those names are enough to recognise it
 * without type-checking src/ a third time; `.exec(` is also RegExp's, so a call on a regular
 * expression (a literal, `new RegExp(…)`, or a const holding one) is not counted.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** The files allowed to run D1 statements, and what each owns. */
export const STORE_FILES: Record<string, string> = {
  "src/cases/case-store.ts": "CaseStore: cases, case_events, appeals",
  "src/cases/store.ts": "CaseStore's read side: case lists, detail, audit export",
  "src/cases/audit.ts": "AuditLog: audit_log",
  "src/cases/allow-store.ts": "AllowListStore: allow_entries",
  "src/cases/claim-store.ts": "ClaimStore: the claim columns of cases",
  "src/cases/cron-run-store.ts": "CronRunStore: cron_runs",
  "src/cases/unscanned-store.ts": "UnscannedStore: unscanned",
  "src/cases/stats.ts": "the read-only statistics (STATS_SQL, d1Run)",
  "src/cases/transaction.ts": "applyTogether: statements of several stores in one batch",
  "src/report/store.ts": "ReportStore: reports",
  "src/review/settings-store.ts": "ReviewerSettingsStore: reviewer_settings",
  "src/auth/signin-store.ts": "SigninStore: local_signin_codes, review_sessions",
};

/** D1 methods that write or run SQL. */
const D1_METHODS = new Set(["prepare", "batch", "exec"]);

function sourceFiles(root: string, dir: string): string[] {
  if (!existsSync(join(root, dir))) return [];
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) out.push(...sourceFiles(root, rel));
    else if (name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** Names of consts initialised with a regular expression in this file. */
function regexConsts(file: ts.SourceFile): Set<string> {
  const out = new Set<string>();
  const visit = (node: ts.Node) => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) {
      if (isRegex(node.initializer, new Set())) out.add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

function isRegex(e: ts.Expression, consts: Set<string>): boolean {
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e)) e = e.expression;
  if (ts.isRegularExpressionLiteral(e)) return true;
  if (ts.isNewExpression(e) && ts.isIdentifier(e.expression)) return e.expression.text === "RegExp";
  return ts.isIdentifier(e) && consts.has(e.text);
}

/** The method a node uses, when it is `x.m` or `x["m"]`, with its receiver. */
function methodOf(node: ts.Node): { name: string; receiver: ts.Expression } | null {
  if (ts.isPropertyAccessExpression(node)) return { name: node.name.text, receiver: node.expression };
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
    return { name: node.argumentExpression.text, receiver: node.expression };
  }
  return null;
}

/** Uses of D1's statement methods in one file's text, as `file:line: what`. */
export function d1Uses(path: string, text: string): string[] {
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const consts = regexConsts(file);
  const out: string[] = [];
  const visit = (node: ts.Node) => {
    const m = methodOf(node);
    if (m && D1_METHODS.has(m.name)) {
      const called = ts.isCallExpression(node.parent) && node.parent.expression === node;
      // `.exec` counts only when called on something that is not a regular expression.
      const d1 = m.name === "exec" ? called && !isRegex(m.receiver, consts) : true;
      if (d1) {
        const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
        out.push(`${path}:${line}: ${node.getText(file).replace(/\s+/g, "").slice(0, 60)}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return out;
}

/** D1 statement methods used in src/ outside `stores` (relative to `root`), as readable lines. */
export function storeViolations(root: string, stores: Record<string, string> = STORE_FILES): string[] {
  const out: string[] = [];
  for (const path of sourceFiles(root, "src")) {
    if (path in stores) continue;
    out.push(...d1Uses(path, readFileSync(join(root, path), "utf8")));
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // An optional root lets the node test run the check on a synthetic tree.
  const root = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), ".."));
  const problems = storeViolations(root);
  if (problems.length > 0) {
    console.error(
      `check-stores: ${problems.length} D1 statement(s) outside a store; route them through the store ` +
        `that owns the table (scripts/check-stores.ts lists the stores, docs/architecture.md says why)\n  ` +
        problems.join("\n  "),
    );
    process.exit(1);
  }
  console.log(`check-stores: D1 statements only in the ${Object.keys(STORE_FILES).length} store files`);
}
