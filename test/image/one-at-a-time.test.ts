import { describe, expect, it } from "vitest";
import { decodeImage, releasePixels } from "../../src/image/decode.ts";
import { imagesInLine, oneImageAtATime } from "../../src/image/one-at-a-time.ts";
import { encodePng } from "./png-encoder.ts";

describe("oneImageAtATime", () => {
  it("runs tasks one at a time, in arrival order, and a failure does not stop the rest", async () => {
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const task = (i: number, fail: boolean) => async () => {
      running++;
      most = Math.max(most, running);
      // Yield to the event loop several times, as a decode waiting on R2 or zlib would.
      for (let k = 0; k < 3; k++) await new Promise((r) => setTimeout(r, 1));
      order.push(i);
      running--;
      if (fail) throw new Error(`task ${i} failed`);
      return i * 10;
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => oneImageAtATime(task(i, i === 1))));
    expect(most).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : "failed"))).toEqual([
      0,
      "failed",
      20,
      30,
      40,
    ]);
    expect(imagesInLine()).toBe(0);
  });
});

describe("releasePixels", () => {
  it("frees a decoded image's pixels at once, and leaves a WASM memory's view alone", async () => {
    const width = 33;
    const height = 17;
    const samples = Array.from({ length: width * height * 3 }, (_, i) => (i * 7) & 255);
    const image = await decodeImage(await encodePng({ width, height, colorType: 2, depth: 8, samples }), {
      maxPixels: 1e6,
    });
    expect(image.pixels.length).toBe(width * height * 3);
    releasePixels(image);
    expect(image.pixels.length).toBe(0);
    expect(image.pixels.buffer.byteLength).toBe(0);
    const memory = new WebAssembly.Memory({ initial: 1 });
    const view = { width: 1, height: 1, channels: 4 as const, pixels: new Uint8Array(memory.buffer, 0, 4) };
    expect(() => releasePixels(view)).not.toThrow();
    expect(memory.buffer.byteLength).toBe(65536);
  });
});
