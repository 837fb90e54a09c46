/**
 * The long fuzz run (`npm run fuzz`): the same workerd setup as ../vitest.config.ts, plus a
 * FUZZ_RUNS binding that raises every fuzz target's input count (test/helpers/fuzz-runs.ts), no
 * test timeout, and only the fuzz targets (`*.fuzz.test.ts`, beside their subject's tests).
 * Run from the repository root.
 */
import { fileURLToPath } from "node:url";
import { testWranglerConfig } from "../test/node/test-wrangler-config.ts";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL("..", import.meta.url));

export default defineConfig({
  root,
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      wrangler: { configPath: testWranglerConfig() },
      miniflare: {
        bindings: {
          ORIGIN_URL: `http://127.0.0.1:${inject("originPort")}`,
          TEST_MIGRATIONS: await readD1Migrations(`${root}/migrations`),
          FUZZ_RUNS: process.env.FUZZ_RUNS ?? "100000",
        },
      },
    })),
  ],
  test: {
    include: ["test/**/*.fuzz.test.ts"],
    globalSetup: ["./test/node/global-setup.ts"],
    setupFiles: ["./test/helpers/apply-migrations.ts"],
    testTimeout: 0,
    hookTimeout: 120_000,
  },
});
