import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readBlocks } from "../../src/scan/blocks.ts";
import { testBytes } from "../helpers/lists.ts";
import { chunkedStream } from "../helpers/multipart.ts";

async function collect(stream: ReadableStream<Uint8Array>, block: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const b of readBlocks(stream, block)) out.push(b);
  return out;
}

function join(blocks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

describe("readBlocks", () => {
  it("re-blocks any chunking into full blocks plus a shorter last one, losing nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20_000 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 5000 }),
        async (size, sizes, block) => {
          const data = testBytes(size, size + 1);
          const blocks = await collect(chunkedStream(data, sizes), block);
          expect(join(blocks)).toEqual(data);
          for (const b of blocks.slice(0, -1)) expect(b.length).toBe(block);
          if (blocks.length > 0) expect(blocks.at(-1)!.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("reads a request's byte stream in blocks (BYOB path)", async () => {
    const data = testBytes(700_000, 3);
    const body = new Request("https://x.test/", { method: "POST", body: data }).body!;
    const blocks = await collect(body, 256 * 1024);
    expect(join(blocks)).toEqual(data);
    expect(blocks.length).toBe(3);
    // Every block is its own buffer: a later block never overwrites an earlier one.
    expect(new Set(blocks.map((b) => b.buffer)).size).toBe(blocks.length);
  });
});
