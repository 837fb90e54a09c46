import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("smoke", () => {
  it("serves", async () => {
    const r = await SELF.fetch("https://gate.test/");
    expect(await r.text()).toBe("ok");
    const o = await fetch(`${(env as any).ORIGIN_URL}/x`);
    expect(await o.text()).toBe("origin:/x");
  });
});
