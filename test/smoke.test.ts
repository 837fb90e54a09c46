import { describe, expect, it } from "vitest";
import { fixtureText } from "./helpers/fixtures.ts";

describe("test environment", () => {
  it("serves the shared fixtures to code inside workerd", async () => {
    const manifest = await fixtureText("pdq/manifest.tsv");
    expect(manifest.split("\n").length).toBeGreaterThan(30);
  });
});
