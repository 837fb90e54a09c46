import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { holdShare, MemoryBudget } from "../../src/scan/budget.ts";
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

describe("one budget for holds, image decodes and PDQ indexes", () => {
  it("caps holds at their share while images and indexes draw on the whole budget", async () => {
    const root = new MemoryBudget(100_000);
    const holds = holdShare(root, 40_000);
    const a = hold(holds);
    await a.append(testBytes(30_000, 5));
    const b = hold(holds);
    await b.append(testBytes(20_000, 6)); // 50,000 held would pass the holds' share of 40,000: spools
    const heldB = await b.close();
    expect(heldB.spooled).toBe(true);
    expect([holds.inUse, root.inUse]).toEqual([30_000, 30_000]);
    root.forceTake(50_000); // a PDQ index: charged even though it leaves little room
    expect(root.tryTake(30_000)).toBe(false); // an image decode that does not fit is refused
    expect(root.tryTake(20_000)).toBe(true);
    expect(holds.tryTake(1)).toBe(false); // the root is full: holds spool even under their cap
    root.give(20_000);
    root.give(50_000);
    const heldA = await a.close();
    await heldA.discard();
    await heldB.discard();
    expect([holds.inUse, root.inUse]).toEqual([0, 0]);
  });
});
