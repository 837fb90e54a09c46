/** Bugs the fuzz targets found, one regression test each (all fixed). */
import { describe, expect, it } from "vitest";
import { type ImportEvent, importEvents } from "../src/lists/import/index.ts";
import { parseResponse } from "../src/report/cybertip-client.ts";
import { createReviewApp } from "../src/review/app.ts";
import { type MultipartEvent, MultipartParser } from "../src/scan/multipart.ts";
import { bearer, reviewEnv, testKeys, VIEWER_TOKEN } from "./helpers/cases.ts";

function parseChunks(chunks: string[]): MultipartEvent["type"][] {
  const p = new MultipartParser("b", { maxHeaderBytes: 1000, maxParts: 10 });
  const types: MultipartEvent["type"][] = [];
  for (const c of chunks) for (const ev of p.push(new TextEncoder().encode(c))) types.push(ev.type);
  p.finish();
  return types;
}

describe("fuzz regressions", () => {
  // BUG (multipart, found by multipart.fuzz.test.ts): src/scan/multipart.ts indexOfCrlfCrlf
  // returns `from - 2` for a part with no header lines; when the headers state starts at
  // buffer position 0 or 1 (a chunk boundary right after the boundary line's CRLF) that is
  // -2 or -1, which the caller reads as "not found". The parser then never leaves the headers
  // state and refuses the body (400 malformed_multipart, or "headers too large"), while the
  // same body in one chunk parses. Outcome depends on network chunking; fail-closed, no bypass.
  it("parses a part with an empty header block whatever the chunking", () => {
    const body = "--b\r\n\r\nx\r\n--b--";
    expect(parseChunks([body])).toEqual(["part-start", "data", "part-end"]);
    expect(parseChunks(["--b\r\n", "\r\nx\r\n--b--"])).toEqual(["part-start", "data", "part-end"]);
  });

  // BUG (ncmec-xml import, found by importers.fuzz.test.ts): src/lists/import/xml-tokens.ts
  // XmlTokenizer.push collects a chunk's tokens in an array and throws XmlSyntaxError before
  // returning it, so src/lists/import/ncmec-xml.ts ncmecEntries never sees the tokens that
  // precede the error in the same chunk. A file with valid entries and then a syntax error
  // imports those entries when they arrive in an earlier chunk, and not when they share the
  // error's chunk: what a (non-strict) import applies depends on the chunking.
  it("yields the same ncmec-xml events whatever the chunking, up to a syntax error", async () => {
    const md5 = "0123456789abcdef0123456789abcdef"; // TEST DATA
    const first = `<queryResult><images><image><id>a</id><fingerprints><md5>${md5}</md5></fingerprints></image>`;
    const doc = `${first}<image><id>&bogus;</id></image></images></queryResult>`;
    const run = async (chunks: string[]) => {
      const out: ImportEvent[] = [];
      for await (const ev of importEvents("ncmec-xml", chunks)) out.push(ev);
      return out.map((e) => e.kind);
    };
    expect(await run([first, doc.slice(first.length)])).toEqual(["op", "error"]);
    expect(await run([doc])).toEqual(["op", "error"]);
  });

  // BUG (ncmec-xml import, found by importers.fuzz.test.ts): src/lists/import/xml-tokens.ts
  // decodeEntities (lines 29-30) calls String.fromCodePoint on any numeric reference, which
  // throws RangeError for `&#x110000;` (beyond U+10FFFF), `&#xZZ;` and `&#;` (NaN). The
  // RangeError escapes importEvents instead of becoming an error event: the CLI import
  // aborts with a stack trace and POST /admin/lists/:id/delta?format=ncmec-xml answers 500
  // (see admin-review-api.fuzz.test.ts).
  it("turns an out-of-range or non-numeric character reference into an error event", async () => {
    for (const ref of ["&#x110000;", "&#xZZ;", "&#;", "&#99999999;"]) {
      const out: ImportEvent[] = [];
      for await (const ev of importEvents("ncmec-xml", [
        `<queryResult><images>${ref}</images></queryResult>`,
      ]))
        out.push(ev);
      expect(out.at(-1)).toMatchObject({ kind: "error", line: 1 });
    }
  });

  // BUG (CyberTipline client, found by cybertip-response.fuzz.test.ts):
  // src/report/cybertip-client.ts parseResponse reads the code with Number(r.responseCode):
  // an empty or blank <responseCode></responseCode> becomes 0, i.e. "Success", so a garbled
  // answer to /finish or /fileinfo is taken as done; "abc" or a repeated responseCode become
  // NaN (CyberTipError "code NaN"). A response without a decimal integer code should read as
  // no response document (null), which the client already maps to a transport/HTTP error.
  it("reads a blank, non-numeric or repeated responseCode as no response", () => {
    for (const code of ["", "  ", "abc", "0</responseCode><responseCode>1"]) {
      expect(
        parseResponse(`<reportResponse><responseCode>${code}</responseCode></reportResponse>`),
      ).toBeNull();
    }
  });

  // BUG (CyberTipline client, found by cybertip-response.fuzz.test.ts): parseResponse turns
  // any value into a string with String(v): a nested <reportId><a>1</a></reportId> becomes
  // "[object Object]" and two <reportId> elements become "1,2"; CyberTipClient.submit then
  // returns that as the report id and report-flow.ts stores it. Only a text value should count.
  it("takes reportId and fileId only from a single text element", () => {
    const ok = "<responseCode>0</responseCode>";
    const nested = parseResponse(`<reportResponse>${ok}<reportId><a>1</a></reportId></reportResponse>`);
    const twice = parseResponse(
      `<reportResponse>${ok}<reportId>1</reportId><reportId>2</reportId></reportResponse>`,
    );
    expect(nested?.reportId).toBeUndefined();
    expect(twice?.reportId).toBeUndefined();
  });

  // BUG (list import, found by importers.fuzz.test.ts, in workerd): src/lists/import/lines.ts
  // textChunks decodes with `new TextDecoder("utf-8")` and `{ stream: true }`; workerd's
  // decoder then drops a U+FEFF (EF BB BF) at the start of every chunk, not only at the start
  // of the file, so the same bytes read differently depending on where the chunks are cut.
  // (Fix: decode with ignoreBOM: true and strip one leading BOM of the file by hand.)
  it("reads a U+FEFF inside a list file the same in every chunking", async () => {
    const bytes = new TextEncoder().encode("ab\uFEFFcd\n");
    const run = async (chunks: Uint8Array[]) => {
      const out: ImportEvent[] = [];
      for await (const ev of importEvents("plain", chunks)) out.push(ev);
      return out;
    };
    expect(await run([bytes.subarray(0, 2), bytes.subarray(2)])).toEqual(await run([bytes]));
  });

  // BUG (review API, found by admin-review-api.fuzz.test.ts): src/review/store.ts line 66 (the
  // query parsing is now src/review/query.ts) checks `sort in SORTABLE`, which accepts names
  // inherited from Object.prototype (`__proto__`, `toString`, `constructor`, `hasOwnProperty`,
  // ...). Line 158 (listCases, now src/cases/store.ts) then puts
  // SORTABLE[sort] (an object or a function's source text) into ORDER BY, D1 rejects the SQL
  // and the API answers 503 "unavailable" and logs an unexpected error. Should be a 400
  // (use Object.hasOwn(SORTABLE, sort)).
  it("answers 400 to a sort key inherited from Object.prototype", async () => {
    const app = createReviewApp({ keys: testKeys });
    for (const sort of ["__proto__", "toString", "constructor"]) {
      const res = await app.request(`/api/cases?sort=${sort}`, bearer(VIEWER_TOKEN), reviewEnv());
      expect([sort, res.status]).toEqual([sort, 400]);
    }
  });
});
