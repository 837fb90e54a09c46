import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.ts";
import { multipartBoundary } from "../../src/scan/content-type.ts";
import {
  boundaryOf,
  dispositionParam,
  type MultipartEvent,
  MultipartParser,
} from "../../src/scan/multipart.ts";
import { testBytes } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";

interface Part {
  field: string;
  filename: string | null;
  start: number;
  end: number;
  data: Uint8Array;
}

/** Runs the parser over `body` split at `cuts`; collects parts with their bytes and offsets. */
function parse(body: Uint8Array, boundary: string, cuts: number[]): Part[] {
  const parser = new MultipartParser(boundary, { maxHeaderBytes: 16384, maxParts: 100 });
  const parts: Part[] = [];
  let cur: { p: Part; chunks: Uint8Array[] } | null = null;
  const handle = (ev: MultipartEvent) => {
    if (ev.type === "part-start") {
      cur = {
        p: {
          field: ev.headers.field,
          filename: ev.headers.filename,
          start: ev.contentStart,
          end: -1,
          data: new Uint8Array(),
        },
        chunks: [],
      };
    } else if (ev.type === "data") {
      cur!.chunks.push(ev.bytes.slice());
    } else {
      const c = cur!;
      c.p.end = ev.contentEnd;
      const total = c.chunks.reduce((n, x) => n + x.length, 0);
      c.p.data = new Uint8Array(total);
      let at = 0;
      for (const x of c.chunks) {
        c.p.data.set(x, at);
        at += x.length;
      }
      parts.push(c.p);
      cur = null;
    }
  };
  let prev = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < body.length)]
    .sort((a, b) => a - b)
    .concat(body.length)) {
    parser.push(body.subarray(prev, cut)).forEach(handle);
    prev = cut;
  }
  parser.finish();
  return parts;
}

const BOUNDARY = "XyZ-boundary-123";

describe("MultipartParser", () => {
  it("gives the same parts, bytes and offsets for every chunking as for one chunk", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            field: fc.stringMatching(/^[a-z]{1,8}$/),
            data: fc.uint8Array({ maxLength: 300 }),
            file: fc.boolean(),
          }),
          { minLength: 1, maxLength: 5 },
        ),
        fc.array(fc.nat({ max: 2000 }), { maxLength: 40 }),
        (specs, cuts) => {
          // Bodies that contain near-boundaries: CR LF and dashes inside the data.
          const parts = specs.map((s, i) => ({
            field: s.field,
            ...(s.file ? { filename: `f${i}.bin` } : {}),
            data:
              s.data.length % 3 === 0
                ? concat(s.data, new TextEncoder().encode(`\r\n--${BOUNDARY.slice(0, 5)}`))
                : s.data,
          }));
          const { body } = buildMultipart(parts, BOUNDARY);
          const oneShot = parse(body, BOUNDARY, []);
          const chunked = parse(body, BOUNDARY, cuts);
          expect(chunked).toEqual(oneShot);
          expect(oneShot.map((p) => p.data)).toEqual(parts.map((p) => p.data));
          for (const p of oneShot) expect(body.subarray(p.start, p.end)).toEqual(p.data);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("handles a body split into single bytes", () => {
    const { body } = buildMultipart([{ field: "a", filename: "x", data: testBytes(200, 4) }], BOUNDARY);
    const cuts = Array.from({ length: body.length }, (_, i) => i);
    expect(parse(body, BOUNDARY, cuts)[0]!.data).toEqual(testBytes(200, 4));
  });

  it("accepts blank lines around the parts, and refuses other content there and transport padding", () => {
    const body = (pre: string, post: string, pad = "") =>
      new TextEncoder().encode(
        `${pre}--${BOUNDARY}${pad}\r\nContent-Disposition: form-data; name="a"\r\n\r\nhello\r\n--${BOUNDARY}--${post}`,
      );
    const parts = parse(body("\r\n\r\n", "\r\n\r\n"), BOUNDARY, [3, 17, 40]);
    expect(parts.map((p) => new TextDecoder().decode(p.data))).toEqual(["hello"]);
    // Content the gate does not scan and origins may read differently: refused.
    expect(() => parse(body("preamble\r\n", "\r\n"), BOUNDARY, [])).toThrow(/before the first boundary/);
    expect(() => parse(body("", "\r\nsmuggled"), BOUNDARY, [5])).toThrow(/after the closing boundary/);
    // RFC 2046 allows padding after a boundary; formidable reads "--boundary  " as part data.
    expect(() => parse(body("", "", "  "), BOUNDARY, [])).toThrow(/boundary not followed by CRLF/);
  });

  it("refuses parts the gate would hash differently from an origin: nested multipart, transfer encodings, two boundaries", () => {
    const withHeader = (h: string) =>
      new TextEncoder().encode(
        `--${BOUNDARY}\r\nContent-Disposition: form-data; name="a"\r\n${h}\r\n\r\nx\r\n--${BOUNDARY}--\r\n`,
      );
    expect(() => parse(withHeader("Content-Type: multipart/mixed; boundary=n"), BOUNDARY, [])).toThrow(
      /nested multipart/,
    );
    expect(() => parse(withHeader("Content-Transfer-Encoding: base64"), BOUNDARY, [])).toThrow(
      /Transfer-Encoding/,
    );
    expect(parse(withHeader("Content-Transfer-Encoding: binary"), BOUNDARY, [])).toHaveLength(1);
    expect(() => boundaryOf("multipart/form-data; boundary=a; boundary=b")).toThrow(/repeated boundary/);
  });

  it("rejects truncated bodies at every cut point", () => {
    const { body } = buildMultipart([{ field: "a", filename: "x", data: testBytes(64, 5) }], BOUNDARY);
    // Cutting anywhere before the closing delimiter's "--" is truncation.
    const closing = body.length - `--${BOUNDARY}--\r\n`.length + BOUNDARY.length + 2;
    for (let cut = 0; cut < closing; cut++) {
      expect(() => parse(body.subarray(0, cut), BOUNDARY, []), `cut at ${cut}`).toThrow(AppError);
    }
  });

  it("rejects oversized header blocks and too many parts", () => {
    const parser = new MultipartParser("b", { maxHeaderBytes: 100, maxParts: 2 });
    expect(() => parser.push(new TextEncoder().encode(`--b\r\nX: ${"y".repeat(200)}`))).toThrow(
      /headers too large/,
    );
    const many = buildMultipart(
      [1, 2, 3].map((i) => ({ field: `f${i}`, data: "x" })),
      "b",
    ).body;
    expect(() => new MultipartParser("b", { maxHeaderBytes: 100, maxParts: 2 }).push(many)).toThrow(
      /too many parts/,
    );
  });

  it("reads boundaries and Content-Disposition parameters", () => {
    expect(boundaryOf('multipart/form-data; boundary="a b"')).toBe("a b");
    expect(boundaryOf("multipart/form-data;boundary=abc; charset=x")).toBe("abc");
    expect(() => boundaryOf("multipart/form-data")).toThrow(AppError);
    expect(dispositionParam('form-data; name="f"; filename="a\\"b.jpg"', "filename")).toBe('a"b.jpg');
    expect(dispositionParam("form-data; name=f; filename*=UTF-8''%C3%A9t%C3%A9.png", "filename")).toBe(
      "été.png",
    );
    expect(dispositionParam('form-data; name="f"', "filename")).toBeNull();
  });
});

describe("multipartBoundary (RFC 9110 Content-Type, RFC 2046 boundary)", () => {
  it("reads every multipart/* type, quoted or token boundaries, and leaves other types whole", () => {
    expect(multipartBoundary("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW")).toBe(
      "----WebKitFormBoundary7MA4YWxkTrZu0gW",
    );
    expect(multipartBoundary('multipart/mixed; boundary="a b,c:d"')).toBe("a b,c:d");
    expect(multipartBoundary('Multipart/Related;boundary=x; type="text/html"')).toBe("x");
    expect(multipartBoundary("multipart/x-mixed-replace ;\tcharset=utf-8; BOUNDARY=q")).toBe("q");
    expect(multipartBoundary("image/png")).toBeNull();
    expect(multipartBoundary("application/octet-stream; x=boundary")).toBeNull();
    expect(multipartBoundary(null)).toBeNull();
  });

  // Each is a Content-Type that origins' parsers read with another boundary than the gate, or
  // that one of them reads as multipart while the gate would not (see SECURITY.md).
  it.each([
    ['multipart/form-data; boundary="a\\"b"', /backslash escape/], // busboy: a"b; formidable: a\
    ['multipart/form-data; boundary="a\\bc"', /backslash escape/], // busboy: abc; formidable: a\bc
    ["multipart/form-data; boundary=A; boundary*=utf-8''B", /look-alike boundary\*/],
    ["multipart/form-data; boundary*=utf-8''B", /look-alike boundary\*/],
    ["multipart/form-data; xboundary=B; boundary=A", /look-alike xboundary/],
    ['multipart/form-data; foo="boundary=B"; boundary=A', /boundary= written more than once/],
    ["multipart/form-data; boundary=A,B", /RFC 9110/],
    ["multipart/form-data; boundary=A, text/plain", /RFC 9110/],
    ["multipart/form-data; boundary=A; boundary=B", /repeated boundary/],
    ["multipart/form-data; boundary=A; Boundary=A", /repeated boundary/],
    ["multipart/form-data; boundary = A", /RFC 9110/],
    ["multipart/form-data; boundary=A ; charset=utf-8", /whitespace after the boundary/],
    ['multipart/form-data; boundary="a;b"', /RFC 2046/],
    ['multipart/form-data; boundary="ends in space "', /RFC 2046/],
    [`multipart/form-data; boundary=${"x".repeat(71)}`, /RFC 2046/],
    ['multipart/form-data; boundary=""', /RFC 2046/],
    ["multipart/form-data", /without a boundary/],
    ["text/plain; charset=multipart; boundary=A", /outside the media type/],
    ["application/x-multipart; boundary=A", /outside the media type/],
    ['multipart/form-data; boundary="A', /RFC 9110/],
  ])("refuses %s", (contentType, reason) => {
    expect(() => multipartBoundary(contentType)).toThrow(reason);
  });
});

describe("MultipartParser: bodies origins split elsewhere", () => {
  const B = "XyZ";
  const head = 'Content-Disposition: form-data; name="f"; filename="a.bin"';
  const body = (s: string) => new TextEncoder().encode(s);

  it.each([
    [
      "a bare LF before a boundary inside a part",
      `--${B}\r\n${head}\r\n\r\nab\n--${B}\r\n${head}\r\n\r\nc\r\n--${B}--`,
    ],
    [
      "a bare CR before a boundary inside a part",
      `--${B}\r\n${head}\r\n\r\nab\r--${B}\r\n${head}\r\n\r\nc\r\n--${B}--`,
    ],
    [
      "a boundary right at the start of a part's content",
      `--${B}\r\n${head}\r\n\r\n--${B}\r\n${head}\r\n\r\nc\r\n--${B}--`,
    ],
    ["a boundary in the middle of a line of content", `--${B}\r\n${head}\r\n\r\nx--${B}--y\r\n--${B}--`],
    ["an LF-only line end after the part headers", `--${B}\r\n${head}\n\nab\r\n\r\ncd\r\n--${B}--`],
    ["an LF-only blank line after the part headers", `--${B}\r\n${head}\r\n\nab\r\n\r\ncd\r\n--${B}--`],
    ["a bare CR inside a header line", `--${B}\r\n${head}\rX: y\r\n\r\nab\r\n--${B}--`],
    ["a folded header", `--${B}\r\nContent-Disposition: form-data;\r\n name="f"\r\n\r\nab\r\n--${B}--`],
    ["whitespace before a header's colon", `--${B}\r\nContent-Type : multipart/mixed\r\n\r\nab\r\n--${B}--`],
    [
      "a header line that begins with the boundary",
      `--${B}\r\nX-A: 1\r\n--${B}: x\r\n${head}\r\n\r\nab\r\n--${B}--`,
    ],
    [
      "a repeated header",
      `--${B}\r\n${head}\r\nContent-Transfer-Encoding: binary\r\nContent-Transfer-Encoding: base64\r\n\r\nYWI=\r\n--${B}--`,
    ],
    ["padding after a boundary", `--${B}\r\n${head}\r\n\r\nab\r\n--${B} \r\n${head}\r\n\r\nc\r\n--${B}--`],
  ])("refuses %s, in every chunking", (_what, text) => {
    const b = body(text);
    expect(() => parse(b, B, [])).toThrow(AppError);
    for (let cut = 1; cut < b.length; cut++)
      expect(() => parse(b, B, [cut, cut + 1]), `cut ${cut}`).toThrow(AppError);
  });

  it("still takes CRLF --boundary as the delimiter when the CRLF ends one chunk and the boundary starts the next", () => {
    const b = body(`--${B}\r\n${head}\r\n\r\nab\r\n--${B}\r\n${head}\r\n\r\n\r\n--${B}--`);
    const oneShot = parse(b, B, []).map((p) => new TextDecoder().decode(p.data));
    expect(oneShot).toEqual(["ab", ""]);
    for (let cut = 1; cut < b.length; cut++)
      expect(parse(b, B, [cut]).map((p) => new TextDecoder().decode(p.data))).toEqual(oneShot);
  });

  it("gives the one-shot outcome (parts or refusal) for every chunking of bodies with stray CR, LF and boundaries", () => {
    const piece = fc.constantFrom("\r", "\n", "\r\n", `--${B}`, "-", "a", `\r\n--${B}\r\n${head}\r\n\r\n`);
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 12 }),
        fc.array(fc.nat({ max: 200 }), { maxLength: 8 }),
        (xs, cuts) => {
          const b = body(`--${B}\r\n${head}\r\n\r\n${xs.join("")}\r\n--${B}--`);
          const outcome = (at: number[]) => {
            try {
              return parse(b, B, at);
            } catch (e) {
              if (e instanceof AppError) return e.message;
              throw e;
            }
          };
          expect(outcome(cuts)).toEqual(outcome([]));
        },
      ),
      { numRuns: 500 },
    );
  });
});

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
