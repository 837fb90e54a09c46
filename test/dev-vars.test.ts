import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";

// The tests run with a copy of wrangler.toml in a directory of its own
// (test/node/test-wrangler-config.ts): a developer's .dev.vars must not reach them.
describe("test environment", () => {
  it("holds none of the secrets a developer keeps in .dev.vars", () => {
    const e = env as unknown as Record<string, unknown>;
    for (const name of [
      "ADMIN_TOKEN",
      "REVIEW_API_TOKENS",
      "CYBERTIP_USERNAME",
      "CYBERTIP_PASSWORD",
      "NOTIFY_WEBHOOK_URL",
    ]) {
      expect(e[name], name).toBeUndefined();
    }
  });
});
