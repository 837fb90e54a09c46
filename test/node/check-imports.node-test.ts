/**
 * scripts/check-imports.ts, the import-graph check of `npm run check`: it finds a cycle and a
 * forbidden folder import in a small tree written to a temp dir, and src/ itself passes.
 * Run: npm run test:node
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, test } from "node:test";
import { findCycles, importGraph, ruleViolations } from "../../scripts/check-imports.ts";

const dir = mkdtempSync(join(tmpdir(), "hashgate-imports-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a tree of .ts files under `root` (relative path → source). */
function tree(root: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

test("a cycle through a type-only import and a re-export is found and named", () => {
  const root = tree(join(dir, "cycle"), {
    "src/report/flow.ts": 'import { send } from "./webhook.ts";\nexport const x = send;\n',
    "src/report/webhook.ts": 'import type { Deps } from "./types.ts";\nexport const send = (d: Deps) => d;\n',
    "src/report/types.ts": 'export { x } from "./flow.ts";\nexport interface Deps {}\n',
    "src/gate/gate.ts": 'import { send } from "../report/webhook.ts";\nimport "hono";\n',
  });
  const cycles = findCycles(importGraph(root));
  assert.deepEqual(cycles, [
    ["src/report/flow.ts", "src/report/webhook.ts", "src/report/types.ts", "src/report/flow.ts"],
  ]);
});

test("a graph without a cycle has none, even with a file imported from two places", () => {
  const root = tree(join(dir, "diamond"), {
    "src/a.ts": 'import "./b.ts";\nimport "./c.ts";\n',
    "src/b.ts": 'import "./d.ts";\n',
    "src/c.ts": 'const m = await import("./d.ts");\n',
    "src/d.ts": "export const d = 1;\n",
  });
  const graph = importGraph(root);
  assert.deepEqual(graph.get("src/c.ts"), ["src/d.ts"]);
  assert.deepEqual(findCycles(graph), []);
});

test("cases importing a feature folder, or report importing review, breaks a rule", () => {
  const root = tree(join(dir, "rules"), {
    "src/cases/workflow.ts": 'import { AUDIT } from "../review/audit.ts";\n',
    "src/cases/record.ts": 'import type { GateConfig } from "../gate/config.ts";\n',
    "src/review/audit.ts": 'import "../cases/workflow.ts";\nexport const AUDIT = {};\n',
    "src/gate/config.ts": "export interface GateConfig {}\n",
    "src/report/flow.ts": 'import "../cases/workflow.ts";\nimport "../review/audit.ts";\n',
  });
  const graph = importGraph(root);
  assert.deepEqual(
    ruleViolations(graph).map((v) => v.split(":")[0]),
    [
      "src/cases/record.ts imports src/gate/config.ts",
      "src/cases/workflow.ts imports src/review/audit.ts",
      "src/report/flow.ts imports src/review/audit.ts",
    ],
  );
  assert.equal(findCycles(graph).length, 1);
});

test("src/ of this repository has no cycle and keeps the folder rules", () => {
  const graph = importGraph(resolve(import.meta.dirname, "../.."));
  assert.ok(graph.has("src/cases/workflow.ts"));
  assert.deepEqual(findCycles(graph), []);
  assert.deepEqual(ruleViolations(graph), []);
});
