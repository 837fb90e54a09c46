/**
 * Where the PDQ reference fixtures (benign images with the reference hashes) live: the
 * HASHGATE_FIXTURES directory, or `../shared/fixtures` beside the repository, as the project's
 * CI lays it out. They are not part of the repository.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "../..");

export const FIXTURES_DIR = resolve(process.env.HASHGATE_FIXTURES ?? join(ROOT, "../shared/fixtures"));

export function fixturesPresent(): boolean {
  return existsSync(join(FIXTURES_DIR, "pdq", "manifest_ext.tsv"));
}

/** Test files that read fixtures (through test/helpers/fixtures.ts or a helper built on it). */
export function fixtureTestFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (
        e.name.endsWith(".test.ts") &&
        /fixtureBytes|fixtureText|fixtureImages|from "\.\/tsv\.ts"/.test(
          readFileSync(join(ROOT, rel), "utf8"),
        )
      ) {
        out.push(rel);
      }
    }
  };
  walk("test");
  return out.sort();
}
