/**
 * `npm test`: every suite, one after another — Vitest inside workerd, the Node-side tests
 * (CLI, list import, the multipart differential fuzz target) with node's test runner, and
 * the review UI in headless Chromium (which says it is skipped when /usr/bin/chromium is
 * absent). Ends with one total line.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

interface Outcome {
  passed: number;
  failed: number;
  code: number;
}

function run(cmd: string, args: string[], capture: boolean): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"] });
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      process.stdout.write(d);
      out += d.toString();
    });
    child.on("close", (code) => resolve({ code: code ?? 1, out }));
  });
}

async function vitest(extra: string[]): Promise<Outcome> {
  const dir = mkdtempSync(join(tmpdir(), "hashgate-vitest-"));
  const json = join(dir, "results.json");
  const { code } = await run(
    "npx",
    ["vitest", "run", "--reporter=default", "--reporter=json", `--outputFile.json=${json}`, ...extra],
    false,
  );
  try {
    const r = JSON.parse(readFileSync(json, "utf8")) as { numPassedTests: number; numFailedTests: number };
    return { passed: r.numPassedTests, failed: r.numFailedTests, code };
  } catch {
    return { passed: 0, failed: 1, code: code || 1 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function nodeTests(): Promise<Outcome> {
  // Node-side tests live in test/node, and beside the code they test (test/scan: the
  // differential fuzz target, whose origin parsers are Node libraries).
  const files = ["test/node", "test/scan"].flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".node-test.ts"))
      .map((f) => join(dir, f)),
  );
  const { code, out } = await run("node", ["--test", ...files], true);
  const count = (label: string) => Number(new RegExp(`^(?:ℹ|#) ${label} (\\d+)`, "m").exec(out)?.[1] ?? 0);
  return { passed: count("pass"), failed: count("fail") || (code === 0 ? 0 : 1), code };
}

async function browser(): Promise<Outcome> {
  const { code, out } = await run("node", ["test/node/browser-review.ts"], true);
  const ran = /browser test passed/.test(out);
  return { passed: ran ? 1 : 0, failed: code === 0 ? 0 : 1, code };
}

const results = [await vitest(process.argv.slice(2)), await nodeTests(), await browser()];
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const code = results.find((r) => r.code !== 0)?.code ?? 0;
console.log(`\ntotal: ${passed} passed, ${failed} failed`);
process.exit(code !== 0 || failed > 0 ? 1 : 0);
