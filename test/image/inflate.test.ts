/**
 * The core's zlib inflater (wasm/assembly/inflate.ts), which PNG decoding streams through:
 * against the original bytes for every kind of deflate block (stored, fixed, dynamic, with
 * long and overlapping matches), split into random parts against one part, cut anywhere, and
 * damaged at random against node:zlib's verdict on the same bytes.
 */
import { constants, deflateSync, inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { coreHasher } from "../../src/image/jpeg-scaled.ts";
import type { InflateOutcome } from "../../src/pdq/core.ts";
import { rng } from "../helpers/random.ts";

/** Output chunks are at most 96 KiB (the first) + one match of 258 bytes (inflate.ts: OUT_LIMIT). */
const OUTPUT_CHUNK_MAX = 96 * 1024 + 258;

async function inflate(parts: readonly Uint8Array[], stopAfter = Number.POSITIVE_INFINITY) {
  const core = await coreHasher();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const outcome: InflateOutcome = core.inflateZlib(parts, (chunk) => {
    expect(chunk.length).toBeLessThanOrEqual(OUTPUT_CHUNK_MAX);
    chunks.push(chunk.slice());
    total += chunk.length;
    return total < stopAfter;
  });
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return { outcome, out };
}

/** `data` cut into parts of random sizes (1 byte up to `max`). */
function split(data: Uint8Array, seed: number, max: number): Uint8Array[] {
  const r = rng(seed);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < data.length; ) {
    const n = 1 + Math.floor(r() * r() * max);
    parts.push(data.subarray(i, i + n));
    i += n;
  }
  return parts;
}

/** Inputs that exercise literals, long runs (distance 1), overlapping and 32 KiB-far matches. */
function samples() {
  const r = rng(7);
  const random = Uint8Array.from({ length: 200_000 }, () => Math.floor(r() * 256));
  const runs = new Uint8Array(300_000);
  for (let i = 0; i < runs.length; i += 1 + Math.floor(r() * 5000)) runs.fill(Math.floor(r() * 4), i);
  // Scanline-like: a row repeated with small changes, so matches reach back ~32 KiB.
  const rows = new Uint8Array(400_000);
  const row = Uint8Array.from({ length: 32_000 }, () => Math.floor(r() * 256));
  for (let i = 0; i < rows.length; i++) rows[i] = row[i % row.length]! ^ (r() < 0.01 ? 1 : 0);
  const text = new TextEncoder().encode("hashgate streams PNG rows through the core. ".repeat(4000));
  return { empty: new Uint8Array(0), one: new Uint8Array([42]), random, runs, rows, text };
}

const COMPRESSORS: Record<string, (d: Uint8Array) => Uint8Array> = {
  stored: (d) => deflateSync(d, { level: 0 }),
  fast: (d) => deflateSync(d, { level: 1 }),
  best: (d) => deflateSync(d, { level: 9, memLevel: 9 }),
  fixed: (d) => deflateSync(d, { strategy: constants.Z_FIXED }),
  huffman: (d) => deflateSync(d, { strategy: constants.Z_HUFFMAN_ONLY }),
  rle: (d) => deflateSync(d, { strategy: constants.Z_RLE }),
  "small window": (d) => deflateSync(d, { windowBits: 9 }),
};

describe("the core's zlib inflater", () => {
  for (const [name, data] of Object.entries(samples())) {
    for (const [how, compress] of Object.entries(COMPRESSORS)) {
      it(`restores ${name} (${data.length} bytes) compressed ${how}, in one part and in random parts`, async () => {
        const z = new Uint8Array(compress(data));
        const whole = await inflate([z]);
        expect(whole.outcome).toBe("done");
        expect(whole.out).toEqual(data);
        for (let seed = 1; seed <= 3; seed++) {
          const parts = await inflate(split(z, seed, seed === 1 ? 16 : 70_000));
          expect(parts.outcome).toBe("done");
          expect(parts.out).toEqual(data);
        }
      });
    }
  }

  it("says truncated wherever the stream is cut", async () => {
    const { text, rows } = samples();
    for (const z of [
      deflateSync(text),
      deflateSync(rows.subarray(0, 70_000), { level: 0 }),
      deflateSync(rows),
    ]) {
      const r = rng(z.length);
      const cuts = [
        0,
        1,
        2,
        3,
        z.length - 4,
        z.length - 1,
        ...Array.from({ length: 40 }, () => r() * z.length),
      ];
      for (const cut of cuts.map(Math.floor)) {
        const { outcome } = await inflate(split(new Uint8Array(z.subarray(0, cut)), cut, 5000));
        expect([cut, outcome]).toEqual([cut, "truncated"]);
      }
    }
  });

  it("says corrupt for a wrong checksum, a preset dictionary or a bad header", async () => {
    const z = new Uint8Array(deflateSync(samples().text));
    const badSum = z.slice();
    badSum[badSum.length - 1]! ^= 1;
    expect((await inflate([badSum])).outcome).toBe("corrupt");
    const dict = new Uint8Array(deflateSync(samples().text, { dictionary: new Uint8Array(100) }));
    expect((await inflate([dict])).outcome).toBe("corrupt");
    expect((await inflate([new Uint8Array([0x78, 0x9d, 0, 0, 0, 0])])).outcome).toBe("corrupt");
  });

  it("agrees with node:zlib on randomly damaged streams", async () => {
    const { rows, text, runs } = samples();
    const r = rng(99);
    for (const [i, data] of [rows.subarray(0, 60_000), text, runs.subarray(0, 80_000)].entries()) {
      for (const level of [1, 9]) {
        const z = new Uint8Array(deflateSync(data, { level, strategy: i === 2 ? constants.Z_FIXED : 0 }));
        for (let trial = 0; trial < 60; trial++) {
          const bad = z.slice();
          for (let k = 0; k < 1 + r() * 3; k++)
            bad[2 + Math.floor(r() * (bad.length - 2))] = Math.floor(r() * 256);
          let expected: Uint8Array | null = null;
          try {
            expected = new Uint8Array(inflateSync(bad));
          } catch {}
          const got = await inflate(split(bad, trial, 3000));
          if (expected) expect([trial, got.outcome, got.out]).toEqual([trial, "done", expected]);
          else expect([trial, got.outcome]).not.toEqual([trial, "done"]);
        }
      }
    }
  });

  it("stops when the consumer says so", async () => {
    const data = samples().runs;
    const { outcome, out } = await inflate([new Uint8Array(deflateSync(data))], 100_000);
    expect(outcome).toBe("stopped");
    expect(out.length).toBeGreaterThanOrEqual(100_000);
    expect(out.length).toBeLessThanOrEqual(100_000 + OUTPUT_CHUNK_MAX);
    expect(out).toEqual(data.subarray(0, out.length));
  });
});
