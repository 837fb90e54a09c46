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

describe("the Worker's one error handler", () => {
  it("answers an admin DLQ failure as a generic 503, not as an upload failure", async () => {
    const { env } = await import("cloudflare:test");
    const { app } = await import("../../src/index.ts");
    const token = "d".repeat(32);
    const brokenR2 = { list: () => Promise.reject(new Error("R2 down")) };
    const res = await app.request(
      "/admin/dlq",
      { headers: { authorization: `Bearer ${token}` } },
      { ...env, ADMIN_TOKEN: `ops=${token}`, EVIDENCE: brokenR2 },
    );
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: string; message: string };
    expect(body.error).toBe("unavailable");
    expect(body.message).not.toMatch(/upload/);
  });
});
