/**
 * Fuzz target (c): every hash-list importer (importEvents of each format) on arbitrary and
 * mutated text, fed as UTF-8 bytes in random chunkings. Must hold: the importer yields events
 * (malformed input as `error` events with a line number) and never throws; every op carries a
 * well-formed hash; and the events do not depend on the chunking. The only exceptions allowed
 * are the documented size guards (a line over MAX_LINE_CHARS, a JSON document over its cap),
 * which these inputs never reach. Extends test/lists/import.test.ts (fixed examples).
 * Seeds: fuzz/corpus/import/<format>-*.txt (made-up hex, TEST DATA).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  IMPORT_FORMATS,
  type ImportEvent,
  type ImportFormat,
  importEvents,
} from "../../src/lists/import/index.ts";
import { HASH_HEX_LENGTH, type HashRef, isHashAlgo } from "../../src/lists/ops.ts";
import { corpus, fuzzRuns, fuzzSeed, logRun } from "../helpers/fuzz-runs.ts";

const enc = new TextEncoder();

/** Every event of `bytes` read as `format`, split at `cuts`. */
async function eventsOf(format: ImportFormat, bytes: Uint8Array, cuts: number[], algo?: "sha256" | "pdq") {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  const out: ImportEvent[] = [];
  for await (const ev of importEvents(format, chunks, algo ? { algo } : {})) out.push(ev);
  return out;
}

function checkHash(h: HashRef): void {
  expect(isHashAlgo(h.algo)).toBe(true);
  expect(h.hex).toMatch(new RegExp(`^[0-9a-f]{${HASH_HEX_LENGTH[h.algo]}}$`));
}

function checkEvent(ev: ImportEvent): void {
  expect(Number.isInteger(ev.line) && ev.line >= 0).toBe(true);
  if (ev.kind === "error") expect(ev.message.length).toBeGreaterThan(0);
  else if (ev.kind === "skip") expect(ev.reason.length).toBeGreaterThan(0);
  else if (ev.op.op === "add" || ev.op.op === "remove") checkHash(ev.op.hash);
  else if (ev.op.op === "entry") ev.op.hashes.forEach(checkHash);
  else expect(typeof ev.op.id).toBe("string");
}

/**
 * Reading in any chunking gives the same events. (Found by this target and fixed: the NCMEC XML
 * importer lost the events before a syntax error in the same chunk; a U+FEFF at the start of a
 * chunk was dropped. Regression tests in ./regressions.test.ts.)
 */
function expectSameEvents(got: ImportEvent[], one: ImportEvent[]): void {
  expect(got).toEqual(one);
}

const seedsOf = (format: ImportFormat) =>
  corpus("import")
    .filter((c) => c.name.startsWith(`${format}-`))
    .map((c) => c.text);

/** Text pieces that matter to one or more formats. */
const piece = fc.oneof(
  fc.constantFrom(
    "\n",
    "\r\n",
    "\r",
    ",",
    '"',
    '""',
    "<",
    ">",
    "</",
    "/>",
    "&amp;",
    "&#",
    ";",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<queryResult>",
    "</queryResult>",
    "<image>",
    "</image>",
    "<md5>",
    "</md5>",
    "<fingerprints>",
    "<id>",
    '{"hashRecords":[',
    "]}",
    "{",
    "}",
    "[",
    "]",
    ":",
    "null",
    '"signalType":"ImagePDQ"',
    '"hashStatus":"Active"',
    "pdq ",
    "md5 ",
    "video_md5 ",
    "0123456789abcdef0123456789abcdef",
    "ffffffffffffffffffffffffffffffff",
    "\u00e9",
    "\u{1F600}",
    "\uFEFF",
    "\0",
    "\\",
    "__proto__",
  ),
  fc.string({ maxLength: 10 }),
  fc.string({ unit: "binary", maxLength: 6 }),
);

const edit = fc.record({ at: fc.nat(), drop: fc.nat(8), insert: fc.array(piece, { maxLength: 3 }) });

function mutateText(s: string, edits: { at: number; drop: number; insert: string[] }[]): string {
  let t = s;
  for (const e of edits) {
    const at = e.at % (t.length + 1);
    t = t.slice(0, at) + e.insert.join("") + t.slice(at + e.drop);
  }
  return t;
}

describe("fuzz: hash-list importers", () => {
  for (const format of IMPORT_FORMATS) {
    it(`${format}: replays the corpus in one piece and byte by byte`, async () => {
      const seeds = seedsOf(format);
      expect(seeds.length).toBeGreaterThan(0);
      for (const s of seeds) {
        const bytes = enc.encode(s);
        const one = await eventsOf(format, bytes, []);
        one.forEach(checkEvent);
        const every = Array.from({ length: bytes.length }, (_, i) => i);
        expectSameEvents(await eventsOf(format, bytes, every), one);
      }
    });

    it(`${format}: only events, never an exception, the same in every chunking (property)`, async () => {
      const seeds = seedsOf(format);
      const input = fc.oneof(
        {
          weight: 3,
          arbitrary: fc
            .tuple(fc.constantFrom(...seeds), fc.array(edit, { maxLength: 6 }))
            .map(([s, e]) => mutateText(s, e)),
        },
        { weight: 1, arbitrary: fc.array(piece, { maxLength: 40 }).map((xs) => xs.join("")) },
      );
      const runs = fuzzRuns(150);
      const t0 = Date.now();
      await fc.assert(
        fc.asyncProperty(
          input,
          fc.array(fc.nat(), { maxLength: 8 }),
          fc.constantFrom(undefined, "sha256" as const, "pdq" as const),
          async (text, cuts, algo) => {
            const bytes = enc.encode(text);
            const one = await eventsOf(format, bytes, [], algo);
            one.forEach(checkEvent);
            expectSameEvents(await eventsOf(format, bytes, cuts, algo), one);
          },
        ),
        { numRuns: runs, seed: fuzzSeed() },
      );
      logRun(`import/${format}`, runs, t0);
    });
  }
});
