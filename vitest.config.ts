import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: { ORIGIN_URL: `http://127.0.0.1:${inject("originPort")}` },
      },
    })),
  ],
  test: {
    globalSetup: ["./test/node/global-setup.ts"],
  },
});
