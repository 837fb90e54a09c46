/**
 * The Wrangler configuration the workerd tests run with: wrangler.toml itself, copied into a
 * directory of its own with its paths made absolute. Wrangler reads `.dev.vars` and `.env`
 * from the configuration's directory, so a developer's local secrets (an ADMIN_TOKEN, CYBERTIP_*
 * credentials in .dev.vars) never reach the tests; the tests set what they need themselves.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

/** Writes the test copy of wrangler.toml and returns its path. */
export function testWranglerConfig(): string {
  const dir = join(ROOT, "node_modules", ".cache", "hashgate-test-config");
  mkdirSync(dir, { recursive: true });
  const source = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const absolute = source
    .replace(/^main = "([^"]+)"/m, (_m, p: string) => `main = ${JSON.stringify(join(ROOT, p))}`)
    .replace(
      /migrations_dir = "([^"]+)"/g,
      (_m, p: string) => `migrations_dir = ${JSON.stringify(join(ROOT, p))}`,
    );
  if (!absolute.includes(JSON.stringify(join(ROOT, "src")).slice(0, -1))) {
    throw new Error('wrangler.toml: no `main = "…"` line to point the test configuration at');
  }
  const path = join(dir, "wrangler.toml");
  writeFileSync(path, absolute);
  return path;
}
