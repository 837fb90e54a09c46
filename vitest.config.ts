import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";
import { FIXTURES_DIR, fixturesPresent, fixtureTestFiles } from "./test/node/fixtures-dir.ts";
import { testWranglerConfig } from "./test/node/test-wrangler-config.ts";

// The PDQ reference fixtures live outside the repository (test/node/fixtures-dir.ts). CI must
// have them; elsewhere, the tests that need them are left out with a warning.
const missingFixtures = !fixturesPresent();
if (missingFixtures && process.env.CI) {
  throw new Error(`PDQ reference fixtures not found at ${FIXTURES_DIR} (set HASHGATE_FIXTURES)`);
}
const skipped = missingFixtures ? fixtureTestFiles() : [];
if (skipped.length > 0) {
  console.warn(
    `\nwarning: PDQ reference fixtures not found at ${FIXTURES_DIR} (set HASHGATE_FIXTURES);` +
      ` ${skipped.length} test files that need them are not run:\n  ${skipped.join("\n  ")}\n`,
  );
}

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      wrangler: { configPath: testWranglerConfig() },
      miniflare: {
        bindings: {
          ORIGIN_URL: `http://127.0.0.1:${inject("originPort")}`,
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
        },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/node/global-setup.ts"],
    setupFiles: ["./test/helpers/apply-migrations.ts"],
    // Property tests take a few seconds alone; on a loaded 2-core machine 5 s is not enough.
    testTimeout: 30_000,
    exclude: [...configDefaults.exclude, ...skipped],
  },
});
