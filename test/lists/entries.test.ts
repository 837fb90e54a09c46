/**
 * Entry shards (src/lists/entries.ts): what is appended reads back in order across chunks and
 * shards, filters drop exactly what they should. Digests are TEST DATA (random hex).
 */
import { describe, expect, it } from "vitest";
import { EntryLog, readEntries, type StoredEntry } from "../../src/lists/entries.ts";
import { randomHex } from "./helpers.ts";

const ALGOS = [
  ["md5", 32],
  ["sha1", 40],
  ["sha256", 64],
  ["pdq", 64],
] as const;

function entries(n: number): StoredEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const [algo, digits] = ALGOS[i % 4]!;
    return {
      algo,
      hex: randomHex(digits, i + 1),
      meta: i % 7 === 0 ? JSON.stringify({ id: `E${i}`, c: "A1" }) : "",
    };
  });
}

const readAll = (shards: Iterable<Uint8Array>) => [...shards].flatMap((s) => [...readEntries(s)]);

describe("entry log", () => {
  it("reads back every entry in order, across 1 MiB chunks and size-limited shards", {
    timeout: 60_000,
  }, () => {
    const all = entries(70_000); // > 2 MiB: several chunks
    const log = new EntryLog();
    for (const e of all) log.append(e.algo, e.hex, e.meta);
    const shards = [...log.shards(700_000)];
    expect(shards.length).toBeGreaterThan(3);
    for (const s of shards) expect(s.length).toBeLessThanOrEqual(700_000);
    expect(readAll(shards)).toEqual(all);
    // Copied raw and filtered into another log, shard by shard.
    const copy = new EntryLog();
    const kept = new EntryLog();
    for (const s of shards) {
      copy.appendRaw(s);
      kept.appendFiltered(s, (e) => e.algo !== "sha1");
    }
    expect(readAll(copy.shards())).toEqual(all);
    expect(readAll(kept.shards())).toEqual(all.filter((e) => e.algo !== "sha1"));
  });

  it("an empty log is one empty shard", () => {
    expect([...new EntryLog().shards()].map((s) => s.length)).toEqual([0]);
  });

  it("rejects truncated shards", () => {
    const log = new EntryLog();
    log.append("md5", randomHex(32, 1), '{"id":"x"}');
    const [s] = [...log.shards()];
    expect(() => [...readEntries(s!.subarray(0, s!.length - 1))]).toThrow(/truncated/);
    expect(() => new EntryLog().appendRaw(s!.subarray(0, 10))).toThrow(/truncated/);
  });
});
