import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";

describe("the Worker's routes", () => {
  it("serves the admin API at /admin (disabled without ADMIN_TOKEN) and never forwards it", async () => {
    const res = await exports.default.fetch("https://gate.test/admin/lists");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBeTruthy();
  });

  it("serves the review UI at /review and everything else through the gate", async () => {
    const review = await exports.default.fetch("https://gate.test/review");
    expect([401, 403]).toContain(review.status);
    const p = uniquePrefix();
    const res = await exports.default.fetch(`https://gate.test${p}/administrator`, {
      method: "POST",
      body: "x",
    });
    expect(res.status).toBe(201);
    expect(await receivedAt(p)).toHaveLength(1);
  });
});
