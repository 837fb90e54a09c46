/**
 * Fuzz target (a): the streaming multipart parser on arbitrary, mutated and chunked bodies.
 * Must hold: it returns parts or throws an AppError, nothing else; every chunking gives the
 * one-shot result; and the parts equal the reference reading (./multipart-reference.ts).
 * Extends test/scan/multipart.test.ts (valid bodies, chunkings) with hostile bodies.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.ts";
import {
  boundaryOf,
  dispositionParam,
  type MultipartEvent,
  MultipartParser,
} from "../../src/scan/multipart.ts";
import { corpus, fuzzRuns, fuzzSeed, logRun } from "../helpers/fuzz-runs.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { type RefPart, referenceParts } from "./multipart-reference.ts";

const BOUNDARY = "fz-Bnd";
const LIMITS = { maxHeaderBytes: 16384, maxParts: 1000 };

type StreamPart = RefPart & { data: number[] };
type Outcome = { parts: StreamPart[] } | { error: string };

/** Streams `body` through the parser cut at `cuts`; a non-AppError escapes (failing the property). */
function stream(body: Uint8Array, boundary: string, cuts: number[]): Outcome {
  const parser = new MultipartParser(boundary, LIMITS);
  const parts: StreamPart[] = [];
  let cur: StreamPart | null = null;
  const on = (ev: MultipartEvent) => {
    if (ev.type === "part-start") {
      if (cur) throw new Error("part-start inside a part");
      cur = {
        field: ev.headers.field,
        filename: ev.headers.filename,
        start: ev.contentStart,
        end: -1,
        data: [],
      };
    } else if (ev.type === "data") {
      if (!cur) throw new Error("data outside a part");
      for (const b of ev.bytes) cur.data.push(b);
    } else {
      if (!cur) throw new Error("part-end outside a part");
      cur.end = ev.contentEnd;
      parts.push(cur);
      cur = null;
    }
  };
  try {
    let prev = 0;
    const points = [...new Set(cuts.filter((c) => c > 0 && c < body.length))].sort((a, b) => a - b);
    for (const cut of [...points, body.length]) {
      for (const ev of parser.push(body.subarray(prev, cut))) on(ev);
      prev = cut;
    }
    parser.finish();
  } catch (e) {
    if (e instanceof AppError) return { error: e.code };
    throw e;
  }
  return { parts };
}

/** Header block → the parameters the parser reports, read independently of it. */
function headerParams(block: string): { field: string; filename: string | null } | "error" {
  let disposition: string | undefined;
  for (const line of block.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return "error";
    if (line.slice(0, colon).trim().toLowerCase() === "content-disposition" && disposition === undefined)
      disposition = line.slice(colon + 1).trim();
  }
  return {
    field: dispositionParam(disposition ?? "", "name") ?? "",
    filename: dispositionParam(disposition ?? "", "filename"),
  };
}

/** The outcome the parser must have, from the reference reading. */
function expected(body: Uint8Array, boundary: string): Outcome {
  const ref = referenceParts(body, boundary, headerParams);
  if (ref === "error") return { error: "malformed_multipart" };
  return {
    parts: ref.map((p) => ({ ...p, data: [...body.subarray(p.start, p.end)] })),
  };
}

/** Fragments that steer random bodies toward the parser's edge cases. */
const fragment = fc.oneof(
  fc.constantFrom(
    `--${BOUNDARY}`,
    `\r\n--${BOUNDARY}`,
    `\r\n--${BOUNDARY}--`,
    `\r\n--${BOUNDARY.slice(0, 3)}`,
    // Boundaries after a bare LF or CR, or mid-line: origins that split lines differently.
    `\n--${BOUNDARY}`,
    `\r--${BOUNDARY}`,
    `--${BOUNDARY}`,
    "\n",
    "\r\n",
    "\r\n\r\n",
    "\r",
    "--",
    "  \t",
    'Content-Disposition: form-data; name="f"; filename="a.bin"\r\n',
    "Content-Disposition: form-data; name*=UTF-8''%E2%82\r\n",
    "X-Odd:\r\n",
    "no colon here\r\n",
  ),
  fc.string({ maxLength: 12 }),
  fc.uint8Array({ maxLength: 24 }).map((b) => String.fromCharCode(...b)),
);

const edit = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom("set", "flip", "delete", "insert", "duplicate"),
  value: fc.nat(255),
  len: fc.integer({ min: 1, max: 16 }),
  text: fragment,
});

/** A valid body (from random parts) with random edits applied. */
const mutatedBody = fc
  .record({
    parts: fc.array(
      fc.record({
        field: fc.stringMatching(/^[a-z]{1,6}$/),
        data: fc.uint8Array({ maxLength: 80 }),
        file: fc.boolean(),
      }),
      { minLength: 1, maxLength: 4 },
    ),
    edits: fc.array(edit, { maxLength: 5 }),
  })
  .map(({ parts, edits }) => {
    let b: Uint8Array = buildMultipart(
      parts.map((p, i) => ({ field: p.field, data: p.data, ...(p.file ? { filename: `f${i}.bin` } : {}) })),
      BOUNDARY,
    ).body;
    for (const e of edits) b = applyEdit(b, e);
    return b;
  });

function applyEdit(
  b: Uint8Array,
  e: { at: number; kind: string; value: number; len: number; text: string },
): Uint8Array {
  const at = b.length === 0 ? 0 : e.at % (b.length + 1);
  const ins = (x: Uint8Array) => Uint8Array.from([...b.subarray(0, at), ...x, ...b.subarray(at)]);
  if (e.kind === "set" && at < b.length) return b.with(at, e.value);
  if (e.kind === "flip" && at < b.length) return b.with(at, b[at]! ^ (1 << (e.value & 7)));
  if (e.kind === "delete") return Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + e.len)]);
  if (e.kind === "duplicate") return ins(b.slice(at, at + e.len));
  return ins(Uint8Array.from(e.text, (c) => c.charCodeAt(0) & 255));
}

/** Arbitrary bodies stitched from fragments. */
const fragmentBody = fc
  .array(fragment, { maxLength: 30 })
  .map((xs) => Uint8Array.from(xs.join(""), (c) => c.charCodeAt(0) & 255));

const cuts = fc.array(fc.nat({ max: 600 }), { maxLength: 12 });

function check(body: Uint8Array, cutsAt: number[]): void {
  const want = expected(body, BOUNDARY);
  expect(stream(body, BOUNDARY, [])).toEqual(want);
  expect(stream(body, BOUNDARY, cutsAt)).toEqual(want);
}

describe("fuzz: multipart parser", () => {
  it("replays the corpus (fuzz/corpus/multipart)", () => {
    const entries = corpus("multipart");
    expect(entries.length).toBeGreaterThan(0);
    for (const { name, bytes } of entries) {
      const every = Array.from({ length: bytes.length }, (_, i) => i);
      const want = expected(bytes, BOUNDARY);
      expect([name, stream(bytes, BOUNDARY, [])]).toEqual([name, want]);
      expect(stream(bytes, BOUNDARY, every)).toEqual(want);
    }
  });

  it("agrees with the reference on mutated valid bodies, in any chunking", () => {
    const runs = fuzzRuns(400);
    const t0 = Date.now();
    fc.assert(fc.property(mutatedBody, cuts, check), { numRuns: runs, seed: fuzzSeed() });
    logRun("multipart/mutated", runs, t0);
  });

  it("agrees with the reference on bodies stitched from boundary fragments", () => {
    const runs = fuzzRuns(400);
    const t0 = Date.now();
    fc.assert(fc.property(fragmentBody, cuts, check), { numRuns: runs, seed: fuzzSeed() });
    logRun("multipart/fragments", runs, t0);
  });

  it("throws only AppError on random bytes and random boundaries", () => {
    const runs = fuzzRuns(300);
    const t0 = Date.now();
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.string({ minLength: 1, maxLength: 70 }),
        cuts,
        (b, bnd, at) => {
          expect(stream(b, bnd, [])).toEqual(expected(b, bnd));
          expect(stream(b, bnd, at)).toEqual(expected(b, bnd));
        },
      ),
      { numRuns: runs, seed: fuzzSeed() },
    );
    logRun("multipart/random", runs, t0);
  });

  it("reads Content-Type and Content-Disposition values without throwing anything but AppError", () => {
    const runs = fuzzRuns(300);
    const t0 = Date.now();
    const header = fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.string({ maxLength: 80 }).map((s) => `multipart/form-data; boundary=${s}`),
      fc.string({ maxLength: 80 }).map((s) => `form-data; name="${s}"; filename*=UTF-8''${s}`),
    );
    fc.assert(
      fc.property(header, (h) => {
        try {
          const b = boundaryOf(h);
          expect(b.length).toBeGreaterThan(0);
          expect(b.length).toBeLessThanOrEqual(70);
        } catch (e) {
          if (!(e instanceof AppError)) throw e;
        }
        for (const p of ["name", "filename"]) {
          const v = dispositionParam(h, p);
          expect(v === null || typeof v === "string").toBe(true);
        }
      }),
      { numRuns: runs, seed: fuzzSeed() },
    );
    logRun("multipart/headers", runs, t0);
  });
});
