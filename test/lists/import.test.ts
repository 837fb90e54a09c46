/**
 * Importers, every format with valid and broken input. All hashes here are TEST DATA: random
 * hex or digests of benign bytes, not from any real hash list.
 */
import { describe, expect, it } from "vitest";
import {
  type ImportEvent,
  type ImportFormat,
  ImportTally,
  importEvents,
} from "../../src/lists/import/index.ts";
import type { ListOp } from "../../src/lists/ops.ts";
import { randomHex } from "./helpers.ts";

async function run(format: ImportFormat, text: string | string[], opts = {}): Promise<ImportEvent[]> {
  const chunks = typeof text === "string" ? [text] : text;
  const out: ImportEvent[] = [];
  for await (const ev of importEvents(format, toSource(chunks), opts)) out.push(ev);
  return out;
}

async function* toSource(chunks: string[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield new TextEncoder().encode(c);
}

const ops = (evs: ImportEvent[]): ListOp[] => evs.flatMap((e) => (e.kind === "op" ? [e.op] : []));
const errors = (evs: ImportEvent[]) =>
  evs.flatMap((e) => (e.kind === "error" ? [[e.line, e.message] as const] : []));

/** Splits text into random pieces (including splits inside multi-byte characters). */
function randomChunks(text: string, seed: number): Uint8Array[] {
  const bytes = new TextEncoder().encode(text);
  const out: Uint8Array[] = [];
  let x = seed;
  for (let at = 0; at < bytes.length; ) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const n = 1 + (x % 37);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

async function runBytes(format: ImportFormat, chunks: Uint8Array[]): Promise<ImportEvent[]> {
  const out: ImportEvent[] = [];
  async function* src() {
    yield* chunks;
  }
  for await (const ev of importEvents(format, src())) out.push(ev);
  return out;
}

describe("plain text", () => {
  it("recognises MD5 and SHA-1 by length and reports bad lines with their numbers", async () => {
    const md5 = randomHex(32, 1);
    const sha1 = randomHex(40, 2);
    const text = `# test data: random hex\n${md5.toUpperCase()}\r\n\n${sha1}\nnot-hex\n${"a".repeat(31)}\n${randomHex(64, 3)}\n`;
    const evs = await run("plain", text);
    expect(ops(evs)).toEqual([
      { op: "add", hash: { algo: "md5", hex: md5 } },
      { op: "add", hash: { algo: "sha1", hex: sha1 } },
    ]);
    expect(errors(evs).map(([l]) => l)).toEqual([5, 6, 7]);
    expect(errors(evs)[2]![1]).toMatch(/declare the type/);
  });

  it("takes 64-digit lines as the declared type", async () => {
    const h = randomHex(64, 4);
    expect(ops(await run("plain", `${h}\n`, { algo: "pdq" }))).toEqual([
      { op: "add", hash: { algo: "pdq", hex: h } },
    ]);
    expect(ops(await run("plain", `${h}\n`, { algo: "sha256" }))[0]).toMatchObject({
      hash: { algo: "sha256" },
    });
    const wrong = await run("plain", `${randomHex(32, 5)}\n`, { algo: "sha1" });
    expect(errors(wrong)).toEqual([[1, "sha1 needs 40 hex digits, got 32"]]);
  });

  it("gives the same events for any chunking", async () => {
    const lines = Array.from({ length: 200 }, (_, i) =>
      i % 17 === 0 ? "zz" : randomHex(i % 2 ? 32 : 40, i),
    );
    const text = `${lines.join("\r\n")}\n`;
    const whole = await run("plain", text);
    for (let seed = 1; seed <= 5; seed++)
      expect(await runBytes("plain", randomChunks(text, seed))).toEqual(whole);
  });
});

describe("CSV", () => {
  it("reads named columns, quoted fields, entries with ids and categories", async () => {
    const [md5, sha1, pdq] = [randomHex(32, 10), randomHex(40, 11), randomHex(64, 12)];
    const text = [
      "# test data",
      "ID,MD5,sha1,pdq,quality,category,note",
      `e1,${md5},"${sha1}",,,A1,"a ""quoted"", note"`,
      `,${randomHex(32, 13)},,,,B2,x`,
      `,,,${pdq},90,,y`,
      `,,,${randomHex(64, 14)},20,,low quality`,
      `,,,,,,nothing`,
      `e2,${md5.slice(1)},,,,,short`,
      `e3,"${md5},,,,,unterminated`,
      `e4,${md5},,,`,
    ].join("\n");
    const evs = await run("csv", text);
    expect(ops(evs)).toEqual([
      {
        op: "entry",
        id: "e1",
        hashes: [
          { algo: "md5", hex: md5 },
          { algo: "sha1", hex: sha1 },
        ],
        category: "A1",
      },
      { op: "add", hash: { algo: "md5", hex: randomHex(32, 13) }, category: "B2" },
      { op: "add", hash: { algo: "pdq", hex: pdq, quality: 90 } },
    ]);
    expect(evs.filter((e) => e.kind === "skip").map((e) => e.line)).toEqual([6, 7]);
    expect(errors(evs)).toEqual([
      [8, "md5 needs 32 hex digits, got 31"],
      [9, "unterminated quoted field"],
      [10, "5 fields, header has 7"],
    ]);
  });

  it("refuses a header without a hash column", async () => {
    const evs = await run("csv", `name,value\n${randomHex(32, 1)},x\n`);
    expect(errors(evs)).toEqual([[1, "header names no hash column (one of md5, sha1, sha256, pdq)"]]);
    expect(ops(evs)).toEqual([]);
  });
});

describe("ThreatExchange signals and PDQ tool output", () => {
  it("reads pdq and video_md5 lines, skips other signal types", async () => {
    const [pdq, md5] = [randomHex(64, 20), randomHex(32, 21)];
    const evs = await run(
      "te-signals",
      `pdq ${pdq}\nvideo_md5 ${md5}\nurl https://example.com\npdq\npdq ${md5}\n`,
    );
    expect(ops(evs)).toEqual([
      { op: "add", hash: { algo: "pdq", hex: pdq } },
      { op: "add", hash: { algo: "md5", hex: md5 } },
    ]);
    expect(evs.find((e) => e.kind === "skip")).toMatchObject({
      line: 3,
      reason: "signal type url not supported",
    });
    expect(errors(evs).map(([l]) => l)).toEqual([4, 5]);
  });

  it("reads hash,quality,filename lines and skips low quality", async () => {
    const [a, b] = [randomHex(64, 30), randomHex(64, 31)];
    const evs = await run(
      "pdq-csv",
      `hash,quality,filename\n${a},100,a.jpg\n${b},49,b.jpg\n${a},high,c.jpg\nxyz,80,d.jpg\n`,
    );
    expect(ops(evs)).toEqual([{ op: "add", hash: { algo: "pdq", hex: a, quality: 100 } }]);
    expect(evs.find((e) => e.kind === "skip")).toMatchObject({ line: 3, reason: "PDQ quality below 50" });
    expect(errors(evs).map(([l]) => l)).toEqual([4, 5]);
  });
});

describe("StopNCII FetchHashes JSON", () => {
  const rec = (signalType: string, hashValue: string, hashStatus: string) => ({
    lastModtimestamp: 1764300000,
    signalType,
    hashValue,
    hashStatus,
    caseNumbers: {},
    CSPFeedbacks: [],
  });
  it("adds Active/Received, removes Withdrawn/Deleted, skips other signal types", async () => {
    const [p1, p2, m1] = [randomHex(64, 40), randomHex(64, 41), randomHex(32, 42)];
    const page = {
      count: 5,
      nextPageToken: "t",
      hasMoreRecords: false,
      hashRecords: [
        rec("ImagePDQ", p1, "Active"),
        rec("VideoMD5", m1, "Received"),
        rec("ImagePDQ", p2, "Withdrawn"),
        rec("VideoMD5", m1, "Deleted"),
        rec("VideoTMK", "00", "Active"),
        rec("ImagePDQ", "beef", "Active"),
        { signalType: "ImagePDQ" },
      ],
    };
    const evs = await run("stopncii-json", JSON.stringify(page));
    expect(ops(evs)).toEqual([
      { op: "add", hash: { algo: "pdq", hex: p1 } },
      { op: "add", hash: { algo: "md5", hex: m1 } },
      { op: "remove", hash: { algo: "pdq", hex: p2 } },
      { op: "remove", hash: { algo: "md5", hex: m1 } },
    ]);
    expect(evs.find((e) => e.kind === "skip")).toMatchObject({ line: 5 });
    expect(errors(evs).map(([l]) => l)).toEqual([6, 7]);
  });

  it("reads one page per line and reports a broken page", async () => {
    const p = randomHex(64, 43);
    const text = `${JSON.stringify({ hashRecords: [rec("ImagePDQ", p, "Active")] })}\n{"hashRecords": [\n`;
    const evs = await run("stopncii-json", text);
    expect(errors(evs)).toHaveLength(1);
    expect(errors(evs)[0]![0]).toBe(2);
    const ok = await run(
      "stopncii-json",
      `${JSON.stringify({ hashRecords: [rec("ImagePDQ", p, "Active")] })}\n${JSON.stringify({ hashRecords: [rec("ImagePDQ", p, "Deleted")] })}\n`,
    );
    expect(ops(ok).map((o) => o.op)).toEqual(["add", "remove"]);
  });
});

describe("summary", () => {
  it("counts ops, skips by reason and errors", async () => {
    const tally = new ImportTally();
    for (const ev of await run("te-signals", `pdq ${randomHex(64, 1)}\nurl x\nurl y\nbad\n`)) tally.count(ev);
    expect(tally.toJSON()).toMatchObject({
      adds: 1,
      skipped: { "signal type url not supported": 2 },
      errorCount: 1,
    });
  });
});
