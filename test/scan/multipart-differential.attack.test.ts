/**
 * Multipart that the gate read one way and the origin another (issue 10): each request was
 * forwarded by the gate with a 200 while an origin's parser (busboy, formidable, Werkzeug, by
 * their rules) extracted a listed file from it. Now each is refused (400) and the origin
 * receives nothing — or, for multipart types other than form-data, parsed and blocked (451).
 * The same bodies are in fuzz/corpus/multipart-differential/, where the differential fuzz
 * target replays them against busboy, formidable and Request.formData().
 * Bytes are benign TEST DATA; their digests form the test list.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { digestHex, seedLists, testBytes, testList } from "../helpers/lists.ts";
import { buildMultipart, chunkedStream } from "../helpers/multipart.ts";
import { bodyOf, receivedAt, uniquePrefix } from "../helpers/origin.ts";

const GATE = "https://uploads.example.test";
const LISTED = testBytes(5000, 1010);
const CLEAN = testBytes(3000, 1011);
const enc = new TextEncoder();
const FILE_HEAD = 'Content-Disposition: form-data; name="file"; filename="x.bin"';

function concat(...xs: (Uint8Array | string)[]): Uint8Array {
  const parts = xs.map((x) => (typeof x === "string" ? enc.encode(x) : x));
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of parts) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

beforeEach(async () => {
  await seedLists(env.HASHES, [
    {
      meta: testList("mpdifflist", { algorithms: ["sha256"] }),
      entries: [{ algo: "sha256" as const, hex: await digestHex("sha256", LISTED) }],
    },
  ]);
});

async function post(body: Uint8Array, contentType: string, sizes = [body.length]) {
  const p = uniquePrefix();
  const res = await exports.default.fetch(`${GATE}${p}/upload`, {
    method: "POST",
    headers: { "content-type": contentType },
    body: chunkedStream(body, sizes),
  });
  await res.body?.cancel();
  return { status: res.status, received: await receivedAt(p) };
}

/**
 * A form that holds one text part under `gateBoundary`; the text is a whole form under
 * `originBoundary` whose file is LISTED. Read with the second boundary, it is a listed file.
 */
function formInsideForm(gateBoundary: string, originBoundary: string): Uint8Array {
  const inner = buildMultipart([{ field: "file", filename: "x.bin", data: LISTED }], originBoundary).body;
  return buildMultipart([{ field: "note", data: inner }], gateBoundary).body;
}

describe("Content-Type parameters the gate and origins read differently", () => {
  it.each([
    // The gate took `a\`, busboy and Werkzeug `a"b`.
    ["a quoted boundary with an escaped quote", 'multipart/form-data; boundary="a\\"b"', "a\\", 'a"b'],
    // RFC 2231's boundary* (Werkzeug, Python's email) beside boundary.
    [
      "boundary* beside boundary",
      "multipart/form-data; boundary=AAAA; boundary*=utf-8''BBBB",
      "AAAA",
      "BBBB",
    ],
    // formidable finds the first `boundary=` anywhere in the value.
    [
      "a parameter that ends in boundary",
      "multipart/form-data; xboundary=BBBB; boundary=AAAA",
      "AAAA",
      "BBBB",
    ],
    // A parser that ends a token at the comma reads AAAA.
    ["a comma inside an unquoted boundary", "multipart/form-data; boundary=AAAA,BBBB", "AAAA,BBBB", "AAAA"],
  ])(
    "%s is refused and nothing reaches the origin",
    async (_what, contentType, gateBoundary, originBoundary) => {
      const { status, received } = await post(formInsideForm(gateBoundary, originBoundary), contentType);
      expect(status).toBe(400);
      expect(received).toHaveLength(0);
    },
  );
});

describe("line ends that end a part for some origins and not for the gate", () => {
  const B = "hg-diff-8f3a";
  const CT = `multipart/form-data; boundary=${B}`;
  /** A text part whose content, split at `lineEnd` + `--B` as Werkzeug splits lines, holds a second part: LISTED. */
  const hiddenAfter = (lineEnd: string) =>
    concat(
      `--${B}\r\nContent-Disposition: form-data; name="note"\r\n\r\ncaption${lineEnd}--${B}\r\n${FILE_HEAD}\r\n\r\n`,
      LISTED,
      `${lineEnd}--${B}--${lineEnd}\r\n--${B}--\r\n`,
    );

  it.each([
    ["a bare LF", "\n"],
    ["a bare CR", "\r"],
  ])("a delimiter preceded by %s inside part data is refused, in any chunking", async (_what, lineEnd) => {
    const body = hiddenAfter(lineEnd);
    for (const sizes of [[body.length], [1], [B.length + 3, 2], [4096, 17]]) {
      const { status, received } = await post(body, CT, sizes);
      expect(status, `chunks ${sizes}`).toBe(400);
      expect(received).toHaveLength(0);
    }
  });

  it("an LF-only line end after the part headers is refused", async () => {
    // For the gate (before the fix) the headers ran on to the next CRLF CRLF: LISTED and the
    // boundary line (a `name: value` line thanks to the colon in this boundary) were header
    // lines, and the part held "caption". An origin that ends headers at LF LF reads LISTED.
    const colon = "hg:lf-8f3a";
    const body = concat(
      `--${colon}\r\n${FILE_HEAD}\n\n`,
      LISTED,
      `\r\n--${colon}\r\nContent-Disposition: form-data; name="note"\r\n\r\ncaption\r\n--${colon}--\r\n`,
    );
    const { status, received } = await post(body, `multipart/form-data; boundary="${colon}"`);
    expect(status).toBe(400);
    expect(received).toHaveLength(0);
  });
});

// Found by the differential fuzz target (test/scan/multipart-differential.fuzz.node-test.ts)
// on main; each got a 201 from the gate while the named npm parser extracted the listed file.
describe("found by differential fuzzing", () => {
  const B = "hg-found-51c0";

  it("a boundary right at the start of a part's content is refused (busboy, hence multer, splits there)", async () => {
    const body = concat(
      `--${B}\r\nContent-Disposition: form-data; name="note"\r\n\r\n--${B}\r\n${FILE_HEAD}\r\n\r\n`,
      LISTED,
      `\r\n--${B}--\r\n`,
    );
    const { status, received } = await post(body, `multipart/form-data; boundary=${B}`, [64, 5]);
    expect(status).toBe(400);
    expect(received).toHaveLength(0);
  });

  it("two Content-Transfer-Encoding headers are refused (undici's formData() and formidable use the last: base64)", async () => {
    const b64 = btoa(String.fromCharCode(...LISTED));
    const body = concat(
      `--${B}\r\n${FILE_HEAD}\r\nContent-Type: application/octet-stream\r\n`,
      `Content-Transfer-Encoding: binary\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--${B}--\r\n`,
    );
    const { status, received } = await post(body, `multipart/form-data; boundary=${B}`);
    expect(status).toBe(400);
    expect(received).toHaveLength(0);
  });

  it("a Content-Type that names multipart outside its type is refused (formidable parses it as multipart)", async () => {
    const { body } = buildMultipart(
      [{ field: "file", filename: "x.bin", contentType: "application/octet-stream", data: LISTED }],
      B,
    );
    const { status, received } = await post(body, `application/x-multipart; boundary=${B}`);
    expect(status).toBe(400);
    expect(received).toHaveLength(0);
  });
});

describe("every multipart/* type is split into parts", () => {
  it.each(["multipart/mixed", "multipart/related", "multipart/alternative", "multipart/x-mixed-replace"])(
    "a listed file in %s is found and blocked (451), not hashed as one opaque body",
    async (type) => {
      const { body } = buildMultipart([{ field: "file", filename: "x.bin", data: LISTED }], "hg-mixed-1");
      const { status, received } = await post(body, `${type}; boundary=hg-mixed-1`, [4096, 3]);
      expect(status).toBe(451);
      expect(received).toHaveLength(0);
    },
  );

  it("a clean multipart/related body passes byte-identical", async () => {
    const { body } = buildMultipart([{ field: "file", filename: "y.bin", data: CLEAN }], "hg-related-2");
    const contentType = 'multipart/related; boundary=hg-related-2; type="application/octet-stream"';
    const { status, received } = await post(body, contentType);
    expect(status).toBe(201);
    expect(received).toHaveLength(1);
    expect(bodyOf(received[0]!)).toEqual(body);
  });
});

describe("conventional forms still pass", () => {
  it("a browser form (Chrome's boundary, a text field and a file) reaches the origin byte-identical in any chunking", async () => {
    const boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    const { body, contentType } = buildMultipart(
      [
        { field: "caption", data: "holiday" },
        { field: "file", filename: "photo.bin", contentType: "application/octet-stream", data: CLEAN },
      ],
      boundary,
    );
    for (const sizes of [[body.length], [7], [4096, 1, 33]]) {
      const { status, received } = await post(body, contentType, sizes);
      expect(status, `chunks ${sizes}`).toBe(201);
      expect(received).toHaveLength(1);
      expect(bodyOf(received[0]!)).toEqual(body);
      expect(received[0]!.headers["content-type"]).toBe(contentType);
    }
  });

  it("a quoted boundary with RFC 2046 punctuation passes", async () => {
    const boundary = "----geckoformboundary'()+_,-./:=?";
    const { body } = buildMultipart([{ field: "file", filename: "a.bin", data: CLEAN }], boundary);
    const { status, received } = await post(body, `multipart/form-data; boundary="${boundary}"`);
    expect(status).toBe(201);
    expect(bodyOf(received[0]!)).toEqual(body);
  });
});
