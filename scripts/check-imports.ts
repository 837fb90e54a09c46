/**
 * Part of `npm run check`: the import graph of src/ has no cycle, and the folders import in
 * the direction docs/architecture.md draws — the case kernel (src/cases/) below everything
 * that uses it, reporting beside review rather than under it. Fails with the cycle or the
 * offending import. Reads imports with TypeScript's own pre-processor (static, type-only,
 * re-exports and `import("…")` with a literal), so what it sees is what tsc sees.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** File → the files it imports, all as paths relative to the repository root with `/`. */
export type ImportGraph = Map<string, string[]>;

export interface ImportRule {
  /** Folder whose files the rule restricts, e.g. `src/cases/`. */
  from: string;
  /** Folders those files must not import. */
  notTo: string[];
  why: string;
}

export const RULES: ImportRule[] = [
  {
    from: "src/cases/",
    notTo: ["src/gate/", "src/review/", "src/report/", "src/admin/"],
    why: "the case kernel is used by the gate, review, report and admin, never the other way",
  },
  { from: "src/report/", notTo: ["src/review/"], why: "reporting works without the review UI" },
];

function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const rel = `${dir}/${name}`;
    if (statSync(join(root, rel)).isDirectory()) out.push(...sourceFiles(root, rel));
    else if (name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** The file a relative specifier names, or null when it leaves the graph (a package, a .wasm). */
function resolveSpecifier(root: string, from: string, spec: string, files: Set<string>): string | null {
  if (!spec.startsWith(".")) return null;
  const base = relative(root, resolve(root, dirname(from), spec))
    .split("\\")
    .join("/");
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`]) {
    if (files.has(candidate)) return candidate;
  }
  return null;
}

/** The import graph of the .ts files under `dir` (relative to `root`). */
export function importGraph(root: string, dir = "src"): ImportGraph {
  const list = existsSync(join(root, dir)) ? sourceFiles(root, dir) : [];
  const files = new Set(list);
  const graph: ImportGraph = new Map();
  for (const file of list) {
    const info = ts.preProcessFile(readFileSync(join(root, file), "utf8"), true, true);
    const targets = new Set<string>();
    for (const ref of info.importedFiles) {
      const target = resolveSpecifier(root, file, ref.fileName, files);
      if (target) targets.add(target);
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** A cycle's files rotated to start at the first in sort order, that file repeated at the end. */
function fromSmallest(files: string[]): string[] {
  const start = files.indexOf([...files].sort()[0]!);
  const rotated = [...files.slice(start), ...files.slice(0, start)];
  return [...rotated, rotated[0]!];
}

/** Every cycle found by a depth-first walk, each as the path that closes it (first file repeated). */
export function findCycles(graph: ImportGraph): string[][] {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const cycles: string[][] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      const s = state.get(next);
      if (s === "open") cycles.push(fromSmallest(path.slice(path.indexOf(next))));
      else if (s === undefined) visit(next);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of [...graph.keys()].sort()) if (!state.has(file)) visit(file);
  return cycles;
}

/** Imports that break a rule, as readable lines. */
export function ruleViolations(graph: ImportGraph, rules: ImportRule[] = RULES): string[] {
  const out: string[] = [];
  for (const [file, targets] of graph) {
    for (const rule of rules) {
      if (!file.startsWith(rule.from)) continue;
      for (const target of targets) {
        if (rule.notTo.some((folder) => target.startsWith(folder))) {
          out.push(`${file} imports ${target}: ${rule.why}`);
        }
      }
    }
  }
  return out.sort();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const graph = importGraph(root);
  const problems = [
    ...findCycles(graph).map((c) => `import cycle: ${c.join(" -> ")}`),
    ...ruleViolations(graph),
  ];
  if (problems.length > 0) {
    console.error(`check-imports: ${problems.length} problem(s) in src/\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`check-imports: ${graph.size} files in src/, no import cycle, folder rules kept`);
}
