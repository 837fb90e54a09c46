/**
 * Fuzz target (d): the CyberTipline response parser (parseResponse in
 * src/report/cybertip-client.ts) and the client calls built on it, on arbitrary XML-ish text.
 * Must hold: parseResponse never throws and gives null or a response with a numeric code and
 * string fields; a client call resolves or rejects with a CyberTipError, nothing else, and a
 * resolved submit's report id is text that the response contained. Extends
 * test/report/cybertip.test.ts (fake server, fixed responses). Seeds: fuzz/corpus/cybertip.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CyberTipClient, CyberTipError, parseResponse } from "../../src/report/cybertip-client.ts";
import { corpus, fuzzRuns, fuzzSeed, logRun } from "../helpers/fuzz-runs.ts";

const piece = fc.oneof(
  fc.constantFrom(
    "<reportResponse>",
    "</reportResponse>",
    "<responseCode>",
    "</responseCode>",
    "<responseDescription>",
    "</responseDescription>",
    "<reportId>",
    "</reportId>",
    "<fileId>",
    "</fileId>",
    "<hash>",
    "</hash>",
    "0",
    "1000",
    "1111",
    "4100",
    "5102",
    "-1",
    " ",
    "abc",
    "0x1",
    "1e2",
    "<a>",
    "</a>",
    "<x/>",
    "&amp;",
    "&lt;",
    "&#x110000;",
    "&bogus;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    '<?xml version="1.0"?>',
    "<!DOCTYPE r [",
    '<!ENTITY e "xx">',
    "]>",
    "&e;",
    "__proto__",
    "constructor",
    'a="1"',
    "<",
    ">",
    "/",
    "\u0000",
    "\uFFFF",
  ),
  fc.string({ maxLength: 8 }),
);

const xmlish = fc.oneof(
  fc.array(piece, { maxLength: 30 }).map((xs) => xs.join("")),
  fc.string({ maxLength: 60 }),
  fc
    .record({
      code: fc.oneof(fc.integer(), fc.string({ maxLength: 4 })),
      id: fc.array(piece, { maxLength: 4 }),
    })
    .map(
      ({ code, id }) =>
        `<reportResponse><responseCode>${code}</responseCode><reportId>${id.join("")}</reportId></reportResponse>`,
    ),
);

function checkParsed(body: string): void {
  const r = parseResponse(body);
  if (r === null) return;
  expect(typeof r.responseCode).toBe("number");
  expect(typeof r.responseDescription).toBe("string");
  for (const k of ["reportId", "fileId", "hash"] as const) {
    if (r[k] !== undefined) expect(typeof r[k]).toBe("string");
  }
  // Found by this target (regressions.test.ts): blank codes read as success, nested or repeated ids.
  expect(Number.isInteger(r.responseCode)).toBe(true);
  for (const k of ["reportId", "fileId", "hash"] as const) expect(r[k] ?? "").not.toMatch(/\[object |,/);
}

const noSleep = async () => {};

describe("fuzz: CyberTipline responses", () => {
  it("replays the corpus", () => {
    const entries = corpus("cybertip");
    expect(entries.length).toBeGreaterThan(0);
    for (const { text } of entries) checkParsed(text);
    expect(parseResponse(entries.find((e) => e.name === "submit-ok.xml")!.text)).toMatchObject({
      responseCode: 0,
      reportId: "4242",
    });
  });

  it("parseResponse never throws and yields null or a typed response (property)", () => {
    const runs = fuzzRuns(500);
    const t0 = Date.now();
    fc.assert(fc.property(xmlish, checkParsed), { numRuns: runs, seed: fuzzSeed() });
    logRun("cybertip/parseResponse", runs, t0);
  });

  it("client calls resolve or reject with CyberTipError, whatever the server answers (property)", async () => {
    const runs = fuzzRuns(200);
    const t0 = Date.now();
    const answer = fc.record({
      body: xmlish,
      status: fc.constantFrom(200, 201, 301, 400, 401, 403, 404, 500, 502, 503),
      throws: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(answer, fc.constantFrom("submit", "finish", "upload"), async (a, call) => {
        let calls = 0;
        const client = new CyberTipClient({
          baseUrl: "https://cybertip.fake/ispws",
          username: "u",
          password: "p",
          maxAttempts: 2,
          sleep: noSleep,
          fetch: async () => {
            calls++;
            if (a.throws) throw new TypeError("injected network failure");
            return new Response(a.body, { status: a.status });
          },
        });
        try {
          if (call === "submit") {
            const id = await client.submit(a.body);
            expect(typeof id).toBe("string");
            expect(a.body).toContain(id);
          } else if (call === "finish") await client.finish("1");
          else
            expect(typeof (await client.upload("1", "f.bin", new Uint8Array([1, 2, 3]))).fileId).toBe(
              "string",
            );
        } catch (e) {
          if (!(e instanceof CyberTipError)) throw e;
          // A submit that may have reached the server is never retried.
          if (call === "submit" && e.code === -1) expect(calls).toBe(1);
        }
        expect(calls).toBeLessThanOrEqual(2);
      }),
      { numRuns: runs, seed: fuzzSeed() },
    );
    logRun("cybertip/client", runs, t0);
  });
});
