/**
 * The streaming text decoders against one-shot references: every chunking gives what the whole
 * input in one piece gives, and that is what the origins' own decoders give.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FormValueReader } from "../../src/scan/form-values.ts";
import { type JsonEvent, JsonStringReader } from "../../src/scan/json-strings.ts";
import { Base64Decoder, type Padding, PRIMARY_RECIPE, TextValueDecoder } from "../../src/scan/text-value.ts";

const enc = new TextEncoder();
const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** Splits `bytes` at the given cut points (any order, any count). */
function chunksAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.slice(at, p));
    at = p;
  }
  return out;
}

function decodeBase64(s: string, padding: Padding, cuts: number[] = []): string {
  const d = new Base64Decoder(padding);
  const parts = chunksAt(enc.encode(s), cuts).map((c) => d.push(c));
  parts.push(d.finish());
  return parts.map(hex).join("");
}

describe("Base64Decoder", () => {
  // Expected values measured with Node 20's Buffer.from(s, "base64"), CPython 3's
  // base64.b64decode(s) and PHP's base64_decode(s) documented behaviour.
  const cases: [string, { stop: string; complete: string; skip: string | null }][] = [
    ["QUJD", { stop: "414243", complete: "414243", skip: "414243" }],
    ["QUJD!REVG", { stop: "414243444546", complete: "414243444546", skip: "414243444546" }],
    ["QUJ D\nREVG", { stop: "414243444546", complete: "414243444546", skip: "414243444546" }],
    ["QUJD-_8", { stop: "414243fbff", complete: "414243fbff", skip: "414243fbff" }],
    ["QQ==QUJD", { stop: "41", complete: "41", skip: null }],
    ["QUJDREVG=AAAA", { stop: "414243444546", complete: "414243444546000000", skip: "414243444546000000" }],
  ];
  for (const [input, want] of cases) {
    it(`reads ${JSON.stringify(input)} as Node, Python and PHP do`, () => {
      expect(decodeBase64(input, "stop")).toBe(want.stop);
      expect(decodeBase64(input, "complete")).toBe(want.complete);
      if (want.skip !== null) expect(decodeBase64(input, "skip")).toBe(want.skip);
    });
  }

  it("PHP's reading skips every `=`", () => {
    // "QQ==QUJD" without its `=`: "QQQUJD", 6 characters.
    expect(decodeBase64("QQ==QUJD", "skip")).toBe(decodeBase64("QQQUJD", "stop"));
  });

  it("gives the same bytes for every chunking, equal to atob on valid input", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom<Padding>("stop", "complete", "skip"),
        (bytes, cuts, padding) => {
          const b64 = btoa(String.fromCharCode(...bytes));
          expect(decodeBase64(b64, padding, cuts)).toBe(hex(bytes));
          expect(decodeBase64(b64.replace(/=+$/, ""), padding, cuts)).toBe(hex(bytes));
        },
      ),
    );
  });
});

describe("TextValueDecoder", () => {
  function decodeValue(s: string, cuts: number[] = []): string {
    const d = new TextValueDecoder(PRIMARY_RECIPE);
    const parts = chunksAt(enc.encode(s), cuts).map((c) => d.push(c));
    parts.push(d.finish());
    return parts.map(hex).join("");
  }

  it("reads data: URLs (base64 and percent-encoded) and plain base64 the same for every chunking", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (bytes, cuts) => {
          const b64 = btoa(String.fromCharCode(...bytes));
          const pct = [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
          expect(decodeValue(`data:image/png;base64,${b64}`, cuts)).toBe(hex(bytes));
          expect(decodeValue(` DATA:;BASE64,${b64}`, cuts)).toBe(hex(bytes));
          expect(decodeValue(`data:text/plain;charset=x,${pct}`, cuts)).toBe(hex(bytes));
          expect(decodeValue(b64, cuts)).toBe(hex(bytes));
        },
      ),
    );
  });

  it("a value that only starts like a data: URL is base64", () => {
    expect(decodeValue("dataQUJD")).toBe(decodeBase64("dataQUJD", "stop"));
    expect(decodeValue(`data:${"x".repeat(2000)}`)).toBe(decodeBase64(`data${"x".repeat(2000)}`, "stop"));
  });
});

/** Every string value of a JSON document with its pointer, from JSON.parse: the reference. */
function referenceStrings(doc: unknown, pointer = ""): [string, string][] {
  if (typeof doc === "string") return [[pointer, doc]];
  if (Array.isArray(doc)) return doc.flatMap((v, i) => referenceStrings(v, `${pointer}/${i}`));
  if (doc !== null && typeof doc === "object") {
    return Object.entries(doc).flatMap(([k, v]) =>
      referenceStrings(v, `${pointer}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`),
    );
  }
  return [];
}

function readStrings(events: JsonEvent[]): [string, string][] {
  const out: [string, string][] = [];
  let cur: { pointer: string; bytes: number[] } | null = null;
  for (const ev of events) {
    if (ev.type === "value-start") cur = { pointer: ev.pointer, bytes: [] };
    else if (ev.type === "value-data") cur!.bytes.push(...ev.bytes);
    else {
      out.push([cur!.pointer, new TextDecoder().decode(Uint8Array.from(cur!.bytes))]);
      cur = null;
    }
  }
  return out;
}

describe("JsonStringReader", () => {
  it("finds every string value with its pointer, as JSON.parse reads it, for every chunking", () => {
    const json = fc.jsonValue({ maxDepth: 4 });
    fc.assert(
      fc.property(json, fc.array(fc.nat(), { maxLength: 10 }), fc.boolean(), (doc, cuts, escapeAll) => {
        let text = JSON.stringify(doc, null, escapeAll ? 1 : 0);
        // Escape every non-ASCII character and slash as some encoders do.
        if (escapeAll)
          text = text.replace(
            /[\u0080-\uffff/]/g,
            (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
          );
        const reader = new JsonStringReader();
        const events = chunksAt(enc.encode(text), cuts).flatMap((c) => reader.push(c));
        reader.finish();
        // Lone surrogates cannot survive UTF-8; compare as the gate (and any UTF-8 writer) sees them.
        const utf8 = (s: string) => new TextDecoder().decode(enc.encode(s));
        expect(readStrings(events)).toEqual(referenceStrings(doc).map(([p, s]) => [p, utf8(s)]));
      }),
      { numRuns: 300 },
    );
  });

  it("gives each string's byte span, so the value can be cut out again", () => {
    const text = `{"a": "x\\/y", "b": [1, "QUJD"]}`;
    const reader = new JsonStringReader(100);
    const events = reader.push(enc.encode(text));
    const spans = events.flatMap((e) =>
      e.type === "value-start" || e.type === "value-end" ? [e.offset - 100] : [],
    );
    expect(spans).toEqual([7, 11, 24, 28]);
    expect(text.slice(24, 28)).toBe("QUJD");
    expect(text.slice(7, 11)).toBe("x\\/y");
  });

  it("refuses what is not JSON", () => {
    for (const bad of ["{", "[1,]", '{"a":1,}', '{"a" 1}', '"\\q"', "tru", "01", "]", "{}}"]) {
      const reader = new JsonStringReader();
      let code = "";
      try {
        reader.push(enc.encode(bad));
        reader.finish();
      } catch (e) {
        code = (e as { code: string }).code;
      }
      expect(code, bad).toBe("malformed_json");
    }
  });
});

describe("FormValueReader", () => {
  it("reads values as URLSearchParams does, for every chunking", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 10 }), fc.string({ maxLength: 40 })), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (pairs, cuts) => {
          const body = new URLSearchParams(pairs).toString();
          const reader = new FormValueReader();
          const events = [
            ...chunksAt(enc.encode(body), cuts).flatMap((c) => reader.push(c)),
            ...reader.finish(),
          ];
          const utf8 = (s: string) => new TextDecoder().decode(enc.encode(s));
          expect(readStrings(events)).toEqual(
            [...new URLSearchParams(body)].map(([k, v]) => [utf8(k), utf8(v)]),
          );
        },
      ),
    );
  });
});
