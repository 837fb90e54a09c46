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
import { corpus, fuzzRuns, fuzzSeed, logRun } from "./runs.ts";

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
  try {
    for await (const ev of importEvents(format, chunks, algo ? { algo } : {})) out.push(ev);
  } catch (e) {
    if (TOLERATE_XML_CHARREF_BUG && e instanceof RangeError && /code point/i.test(e.message))
      return KNOWN_CHARREF_BUG;
    throw e;
  }
  return out;
}

/**
 * Known bug (regression test in ./regressions.test.ts, it.fails until fixed): a numeric
 * character reference outside Unicode or not a number (`&#x110000;`, `&#xZZ;`, `&#;`) makes
 * src/lists/import/xml-tokens.ts decodeEntities throw a RangeError out of the importer
 * (a 500 from the admin delta route). Until the fix, that exception is tolerated and nothing
 * more is checked for that input.
 */
const TOLERATE_XML_CHARREF_BUG = false;
const KNOWN_CHARREF_BUG = "known bug: char reference RangeError" as const;

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
 * Known bug (regression test in ./regressions.test.ts, it.fails until fixed): the NCMEC XML
 * importer loses the events of the tokens that precede an XML syntax error in the same chunk
 * (XmlTokenizer.push throws before returning them), so the events before the final error
 * depend on the chunking (and which error is reported: an earlier structural one or the
 * later syntax error). Until the fix, only that difference is tolerated: both readings end in
 * an error, and the one-shot events before it are a prefix of the chunked ones.
 */
const TOLERATE_XML_CHUNK_BUG = false;

/**
 * Known bug (./regressions.test.ts, it.fails until fixed): src/lists/import/lines.ts
 * textChunks decodes with `new TextDecoder("utf-8")`, which in workerd drops a U+FEFF that
 * begins any chunk, not only the file's first: text with a U+FEFF reads differently by
 * chunking. Tolerated, for such text only, until the fix.
 */
const TOLERATE_BOM_CHUNK_BUG = false;

function expectSameEvents(
  format: ImportFormat,
  got: ImportEvent[] | typeof KNOWN_CHARREF_BUG,
  one: ImportEvent[],
  text: string,
): void {
  if (TOLERATE_BOM_CHUNK_BUG && text.includes("\uFEFF") && JSON.stringify(got) !== JSON.stringify(one))
    return;
  expect(got).not.toBe(KNOWN_CHARREF_BUG);
  const chunked = got as ImportEvent[];
  const last = one.at(-1);
  if (
    TOLERATE_XML_CHUNK_BUG &&
    format === "ncmec-xml" &&
    last?.kind === "error" &&
    chunked.at(-1)?.kind === "error"
  ) {
    expect(chunked.slice(0, one.length - 1)).toEqual(one.slice(0, -1));
    return;
  }
  expect(chunked).toEqual(one);
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
        if (one === KNOWN_CHARREF_BUG) continue;
        one.forEach(checkEvent);
        const every = Array.from({ length: bytes.length }, (_, i) => i);
        expectSameEvents(format, await eventsOf(format, bytes, every), one, s);
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
            if (one === KNOWN_CHARREF_BUG) return;
            one.forEach(checkEvent);
            expectSameEvents(format, await eventsOf(format, bytes, cuts, algo), one, text);
          },
        ),
        { numRuns: runs, seed: fuzzSeed() },
      );
      logRun(`import/${format}`, runs, t0);
    });
  }
});
