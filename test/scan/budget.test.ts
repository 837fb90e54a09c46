import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MemoryBudget } from "../../src/scan/budget.ts";
import { BodyHold } from "../../src/scan/hold.ts";
import { testBytes } from "../helpers/lists.ts";

function hold(budget: MemoryBudget, holdMemoryBytes = 1 << 20) {
  return new BodyHold({
    bucket: env.EVIDENCE,
    spoolKey: `spool/test-${crypto.randomUUID()}`,
    holdMemoryBytes,
    budget,
  });
}

async function bytesOf(data: ReadableStream<Uint8Array> | Uint8Array): Promise<Uint8Array> {
  return data instanceof Uint8Array ? data : new Uint8Array(await new Response(data).arrayBuffer());
}

describe("the isolate's shared hold budget", () => {
  it("spools an upload to R2 once uploads held together would exceed it, and gets memory back on discard", async () => {
    const budget = new MemoryBudget(100_000);
    const a = hold(budget);
    await a.append(testBytes(70_000, 1));
    const b = hold(budget);
    await b.append(testBytes(20_000, 2));
    await b.append(testBytes(20_000, 3)); // 110,000 in all: over the shared budget
    const heldA = await a.close();
    const heldB = await b.close();
    expect(heldA.spooled).toBe(false);
    expect(heldB.spooled).toBe(true);
    expect(budget.inUse).toBe(70_000);
    const both = await bytesOf(await heldB.stream());
    expect(both.subarray(0, 20_000)).toEqual(testBytes(20_000, 2));
    expect(both.subarray(20_000)).toEqual(testBytes(20_000, 3));
    await heldA.discard();
    await heldB.discard();
    expect(budget.inUse).toBe(0);
  });

  it("returns the budget when an upload is aborted", async () => {
    const budget = new MemoryBudget(1 << 20);
    const h = hold(budget);
    await h.append(testBytes(5000, 4));
    expect(budget.inUse).toBe(5000);
    await h.abort();
    expect(budget.inUse).toBe(0);
  });
});
