import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
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
  },
});
