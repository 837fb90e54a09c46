/**
 * Differential fuzz target: multipart bodies, generated and mutated where parsers are known to
 * part ways (boundary quoting and look-alike parameters, line endings, transport padding,
 * header folding and duplicates, nested bodies under a second boundary, missing closing
 * delimiter, random byte edits), fed to the gate's parser and to the parsers origins run
 * (./origin-parsers.node.ts). Must hold: whenever the gate would forward a body, every file
 * and text field any origin parser extracts from it is the bytes of a part the gate hashed.
 * Runs in Node (those parsers are Node libraries; the gate's parser is plain TypeScript).
 * Short run in `npm test`; `npm run fuzz` runs 100,000 inputs (FUZZ_RUNS overrides). The
 * corpus (fuzz/corpus/multipart-differential/) is replayed first.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import {
  busboyReading,
  type Extracted,
  formDataReading,
  formidableReading,
  gateReading,
  hashedByGate,
  type OriginReading,
} from "./origin-parsers.node.ts";

const LONG = process.env.npm_lifecycle_event === "fuzz" || process.env.FUZZ_RUNS !== undefined;
const RUNS = Number(process.env.FUZZ_RUNS ?? "") || (LONG ? 100_000 : 500);
const CORPUS = join(import.meta.dirname, "../../fuzz/corpus/multipart-differential");

interface Input {
  contentType: string;
  body: Uint8Array;
  cuts: number[];
}

interface Verdict {
  gate: Uint8Array[] | string;
  readings: OriginReading[];
  /** Values an origin extracted that the gate did not hash, while the gate would forward. */
  unhashed: { parser: string; value: Extracted }[];
}

/** Reads `input` with the gate and every origin parser. */
async function judge({ contentType, body, cuts }: Input): Promise<Verdict> {
  const gate = gateReading(contentType, body, cuts);
  const readings = [
    await busboyReading(contentType, body, cuts),
    await formidableReading(contentType, body, cuts),
    await formDataReading(contentType, body),
  ];
  const unhashed: Verdict["unhashed"] = [];
  if (typeof gate !== "string") {
    for (const r of readings)
      for (const value of r.values) {
        // An empty value cannot be a listed file.
        if ((value.bytes?.length ?? value.text?.length) === 0) continue;
        if (!hashedByGate(value, gate)) unhashed.push({ parser: r.parser, value });
      }
  }
  return { gate, readings, unhashed };
}

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 255);
/** Bytes as a JSON string, every byte outside printable ASCII escaped. */
const show = (b: Uint8Array) =>
  JSON.stringify(Buffer.from(b).toString("latin1")).replace(
    /[\x7f-\xff]/g,
    (c) => `\\u00${c.charCodeAt(0).toString(16)}`,
  );
const showText = (t: string) =>
  JSON.stringify(t).replace(/[\x7f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

function explain(input: Input, v: Verdict): string {
  return [
    `Content-Type: ${JSON.stringify(input.contentType)}`,
    `body: ${show(input.body)}`,
    `gate parts: ${typeof v.gate === "string" ? v.gate : v.gate.map(show).join(", ")}`,
    ...v.unhashed.map(
      (u) =>
        `${u.parser} extracted a ${u.value.kind} the gate did not hash: ${u.value.bytes ? show(u.value.bytes) : showText(u.value.text!)}`,
    ),
  ].join("\n");
}

// ---- generators -------------------------------------------------------------------------

/** Mostly `usual`, sometimes one of `odd`: most inputs stay readable, so that origins extract values. */
function mostly<T>(usual: T, ...odd: T[]): fc.Arbitrary<T> {
  return fc.oneof({ weight: 12, arbitrary: fc.constant(usual) }, fc.constantFrom(...odd));
}

/** Line ends: mostly CRLF, sometimes what lenient parsers also take for one. */
const lineEnd = fc.oneof(
  { weight: 30, arbitrary: fc.constant("\r\n") },
  fc.constantFrom("\n", "\r", "\r\r\n", "\n\r", "\r\n ", " \r\n"),
);

const boundaryText = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[0-9A-Za-z'+_\-.]{1,12}$/) },
  fc.stringMatching(/^[0-9A-Za-z'()+_,\-./:=? ]{1,12}$/),
  fc.constantFrom(
    "----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "b",
    "x y",
    "a,b",
    'a"b',
    "a\\b",
    "a;b",
    "-",
    "é",
    "B",
  ),
);

/** A parameter list around the boundary, mutated the ways parsers disagree on. */
const contentTypeOf = (b: string, alt: string) =>
  fc
    .record({
      type: mostly(
        "multipart/form-data",
        "multipart/mixed",
        "multipart/related",
        "multipart/x-mixed-replace",
        "Multipart/Form-Data",
        "text/plain",
        "application/x-multipart",
      ),
      form: mostly(
        /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(b) ? `boundary=${b}` : `boundary="${b}"`,
        `boundary=${b}`,
        `boundary="${b}"`,
        `boundary="${b.replace(/(.)/, "\\$1")}"`,
        `BOUNDARY=${b}`,
        `boundary = ${b}`,
        `boundary=${b} `,
        `boundary=${b}\t`,
      ),
      extras: fc.oneof(
        { weight: 12, arbitrary: fc.constant<string[]>([]) },
        fc.array(
          fc.constantFrom(
            "charset=utf-8",
            `boundary=${alt}`,
            `boundary*=utf-8''${alt}`,
            `boundary*0=${alt}`,
            `xboundary=${alt}`,
            `boundary_=${alt}`,
            `foo="boundary=${alt}"`,
            "",
            "x",
          ),
          { minLength: 1, maxLength: 2 },
        ),
      ),
      before: fc.boolean(),
      sep: mostly("; ", ";", " ; ", ";\t", ", "),
      tail: mostly("", ", text/plain", ` , multipart/form-data; boundary=${alt}`),
    })
    .map(({ type, form, extras, before, sep, tail }) => {
      const params = before ? [...extras, form] : [form, ...extras];
      return `${type}${params.map((p) => sep + p).join("")}${tail}`;
    });

const dispositions = [
  'Content-Disposition: form-data; name="f"; filename="a.bin"',
  "Content-Disposition: form-data; name=f; filename=a.bin",
  "content-disposition: form-data; name=\"f\"; filename*=UTF-8''a.bin",
  'Content-Disposition: form-data; name="f"; filename="a.bin"; filename*=UTF-8\'\'b.bin',
  'Content-Disposition: form-data; name="t"',
  'Content-Disposition : form-data; name="f"; filename="a.bin"',
  'Content-Disposition:form-data; name="f"; filename="a.bin"',
  'Content-Disposition: form-data; name="f";\r\n filename="a.bin"',
  'Content-Disposition: attachment; filename="a.bin"',
];

const header = (alt: string) =>
  fc.constantFrom(
    "Content-Type: application/octet-stream",
    "Content-Type: text/plain; charset=utf-8",
    `Content-Type: multipart/mixed; boundary=${alt}`,
    "Content-Transfer-Encoding: binary",
    "Content-Transfer-Encoding: base64",
    "Content-Transfer-Encoding: quoted-printable",
    "X-Odd: value",
    " folded: continuation",
  );

/** Bytes a lenient parser may take for a second part holding a file. */
const hiddenPart = (b: string) =>
  fc
    .record({ le: lineEnd, le2: lineEnd, pad: fc.constantFrom("", " ", "\t", "-"), secret: fc.nat(999) })
    .map(
      ({ le, le2, pad, secret }) =>
        `${le}--${b}${pad}${le2}Content-Disposition: form-data; name="s"; filename="s.bin"${le2}${le2}SECRET-${secret}`,
    );

const partOf = (b: string, alt: string) =>
  fc.record({
    disposition: fc.oneof(
      { weight: 12, arbitrary: fc.constantFrom(...dispositions.slice(0, 5)) },
      fc.constantFrom(...dispositions),
    ),
    headers: fc.oneof(
      { weight: 6, arbitrary: fc.constant<string[]>([]) },
      fc.array(header(alt), { maxLength: 2 }),
    ),
    leHeaders: lineEnd,
    leBlank: lineEnd,
    pad: mostly("", " ", "\t", "  \t"),
    data: fc.oneof(
      {
        weight: 12,
        arbitrary: fc.uint8Array({ maxLength: 24 }).map((x) => Buffer.from(x).toString("latin1")),
      },
      fc.uint8Array({ maxLength: 24 }).map((x) => Buffer.from(x).toString("latin1")),
      fc
        .tuple(fc.string({ maxLength: 6 }), hiddenPart(b), fc.string({ maxLength: 6 }))
        .map((x) => x.join("")),
      fc.constantFrom(`--${b}`, `--${b}\r\n`, "\r\n", ""),
    ),
    leEnd: lineEnd,
  });

type PartSpec = {
  disposition: string;
  headers: string[];
  leHeaders: string;
  leBlank: string;
  pad: string;
  data: string;
  leEnd: string;
};

function bodyText(b: string, parts: PartSpec[], preamble: string, closing: string): string {
  let out = preamble;
  for (const p of parts) {
    const lines = [p.disposition, ...p.headers];
    out += `--${b}${p.pad}\r\n${lines.join(p.leHeaders)}${p.leHeaders}${p.leBlank}${p.data}${p.leEnd}`;
  }
  return out + closing.replaceAll("B", b);
}

const edit = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("set", "delete", "insert", "duplicate"),
  value: fc.nat(255),
  len: fc.integer({ min: 1, max: 8 }),
  text: fc.constantFrom("\r", "\n", "\r\n", "-", "--", " ", '"', ";", "\\"),
});

type Edit = { at: number; kind: string; value: number; len: number; text: string };

function applyEdit(b: Uint8Array, e: Edit) {
  const at = e.at % (b.length + 1);
  const join = (...xs: Uint8Array[]) => Uint8Array.from(xs.flatMap((x) => [...x]));
  if (e.kind === "set" && at < b.length) return b.with(at, e.value);
  if (e.kind === "delete") return join(b.subarray(0, at), b.subarray(at + e.len));
  if (e.kind === "duplicate") return join(b.subarray(0, at), b.subarray(at, at + e.len), b.subarray(at));
  return join(b.subarray(0, at), latin1(e.text), b.subarray(at));
}

const inputs: fc.Arbitrary<Input> = fc
  .tuple(boundaryText, boundaryText)
  .chain(([b, alt]) =>
    fc.record({
      contentType: contentTypeOf(b, alt),
      parts: fc.array(partOf(b, alt), { minLength: 1, maxLength: 3 }),
      // A whole body under the other boundary, as the first part's data: read with `alt`, it is a file.
      nested: mostly(false, true),
      preamble: mostly("", "\r\n", "junk\r\n", `\n`),
      closing: mostly("--B--\r\n", "--B--", "--B", "--B--\r\njunk", "", "--B--\n--B\r\n"),
      edits: fc.oneof(
        { weight: 6, arbitrary: fc.constant<Edit[]>([]) },
        fc.array(edit, { minLength: 1, maxLength: 2 }),
      ),
      cuts: fc.array(fc.nat({ max: 400 }), { maxLength: 6 }),
      b: fc.constant(b),
      alt: fc.constant(alt),
    }),
  )
  .map(({ contentType, parts, nested, preamble, closing, edits, cuts, b, alt }) => {
    if (nested) {
      const inner = `--${alt}\r\nContent-Disposition: form-data; name="s"; filename="s.bin"\r\n\r\nSECRET-nested\r\n--${alt}--\r\n`;
      parts[0] = { ...parts[0]!, data: inner };
    }
    let body = latin1(bodyText(b, parts, preamble, closing));
    for (const e of edits) body = applyEdit(body, e);
    return { contentType, body, cuts };
  })
  // Only requests a client can send: a header value of visible characters, spaces and tabs.
  .filter((i) => /^[\t\x20-\x7e\x80-\xff]*$/.test(i.contentType));

// ---- the properties ---------------------------------------------------------------------

function corpusInputs(): { name: string; input: Input }[] {
  return readdirSync(CORPUS)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((name) => {
      const j = JSON.parse(readFileSync(join(CORPUS, name), "utf8")) as { contentType: string; body: string };
      return { name, input: { contentType: j.contentType, body: latin1(j.body), cuts: [] } };
    });
}

test("replays the differential corpus (fuzz/corpus/multipart-differential)", async () => {
  const entries = corpusInputs();
  assert.ok(entries.length > 0);
  for (const { name, input } of entries) {
    for (const cuts of [[], Array.from({ length: input.body.length }, (_, i) => i)]) {
      const v = await judge({ ...input, cuts });
      assert.deepEqual(v.unhashed, [], `${name}\n${explain(input, v)}`);
    }
  }
});

test(`no origin parser extracts a value the gate did not hash (${RUNS} inputs)`, async () => {
  const t0 = Date.now();
  const stats = { refused: 0, forwarded: 0, refusedAllOriginsClean: 0, values: 0, hung: 0 };
  const hungParsers = new Set<string>();
  const reasons = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(inputs, async (input) => {
      const v = await judge(input);
      for (const r of v.readings)
        if (r.error?.startsWith("hung")) {
          stats.hung++;
          hungParsers.add(r.parser);
          if (LONG) console.log(`${r.parser} hung on:\n${explain(input, v)}`);
        }
      if (typeof v.gate === "string") {
        stats.refused++;
        reasons.set(v.gate, (reasons.get(v.gate) ?? 0) + 1);
        if (v.readings.every((r) => r.error === null && r.values.length > 0)) stats.refusedAllOriginsClean++;
      } else {
        stats.forwarded++;
        stats.values += v.readings.reduce((n, r) => n + r.values.length, 0);
      }
      if (v.unhashed.length > 0) throw new Error(explain(input, v));
    }),
    { numRuns: RUNS, seed: LONG ? undefined : 20261130, includeErrorInReport: true },
  );
  if (LONG)
    console.log(
      `fuzz multipart/differential: ${RUNS} inputs in ${((Date.now() - t0) / 1000).toFixed(1)} s; ` +
        `gate refused ${stats.refused} (${stats.refusedAllOriginsClean} read cleanly by all three origins), ` +
        `forwarded ${stats.forwarded} (${stats.values} origin values checked); ` +
        `${stats.hung} parser runs hung (${[...hungParsers].join(", ") || "none"}); refusals: ` +
        [...reasons]
          .sort((a, b) => b[1] - a[1])
          .map(([r, n]) => `${r.replace("malformed multipart body: ", "")} ${n}`)
          .join(", "),
    );
});
