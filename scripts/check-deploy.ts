/**
 * Builds the Worker for every environment with `wrangler deploy --dry-run`, so a broken config
 * fails CI, then runs the offline part of `hashgate doctor` on each deployed environment. The
 * repository's wrangler.toml is a template (placeholder ids, example routes): pass `--strict`
 * in an operator's own checkout to make those errors too.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const outdir = mkdtempSync(join(tmpdir(), "hashgate-dry-"));
let failed = 0;
for (const envName of ["", "staging", "production"]) {
  const args = [
    "wrangler",
    "deploy",
    "--dry-run",
    "--outdir",
    outdir,
    ...(envName ? ["--env", envName] : []),
  ];
  const r = spawnSync("npx", args, {
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const label = envName || "(top level)";
  if (r.status === 0) console.log(`deploy dry-run ok: ${label}`);
  else {
    failed++;
    console.error(`deploy dry-run FAILED: ${label}\n${r.stdout}\n${r.stderr}`);
  }
}
rmSync(outdir, { recursive: true, force: true });
const strict = process.argv.includes("--strict");
for (const envName of ["staging", "production"]) {
  const args = [
    "bin/hashgate.mjs",
    "doctor",
    "--offline",
    "--env",
    envName,
    ...(strict ? [] : ["--template"]),
  ];
  const r = spawnSync(process.execPath, args, {
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  process.stdout.write(r.stdout);
  if (r.status !== 0) {
    failed++;
    console.error(`doctor FAILED: ${envName}\n${r.stderr}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
