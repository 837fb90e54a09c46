/**
 * NCMEC hash-sharing v2 pages. The documents below are TEST DATA in the documented shape, with
 * random hex for fingerprints: no real entry, member or hash.
 */
import { describe, expect, it } from "vitest";
import { type ImportEvent, importEvents } from "../../src/lists/import/index.ts";
import { XmlTokenizer } from "../../src/lists/import/xml-tokens.ts";
import { randomHex } from "./helpers.ts";

const [md5a, sha1a, pdqa, md5b] = [randomHex(32, 1), randomHex(40, 2), randomHex(64, 3), randomHex(32, 4)];

const PAGE = `<?xml version="1.0" encoding="UTF-8"?>
<!-- test data: random fingerprints -->
<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">
  <images count="3" maxTimestamp="2026-11-27T10:00:00Z">
    <image>
      <member id="42">Test Member &amp; Co</member>
      <timestamp>2026-11-27T09:00:00Z</timestamp>
      <id>img-1</id>
      <classification>A1</classification>
      <fingerprints>
        <md5>${md5a.toUpperCase()}</md5>
        <sha1>${sha1a}</sha1>
        <pdna>AAAA</pdna>
        <pdq>${pdqa}</pdq>
      </fingerprints>
      <feedback><affirmativeFeedback><reason><id>r1</id></reason></affirmativeFeedback></feedback>
    </image>
    <image>
      <member id="42">Test Member</member>
      <id>img-2</id>
      <fingerprints><md5>${md5b}</md5><sha1>xyz</sha1></fingerprints>
    </image>
    <deletedImage><member id="42">Test Member</member><id>img-0</id><timestamp>2026-11-27T08:00:00Z</timestamp></deletedImage>
  </images>
  <videos count="1" maxTimestamp="2026-11-27T10:00:00Z">
    <video><id>vid-1</id><classification>B2</classification><fingerprints><tmk_pdqf>00</tmk_pdqf></fingerprints></video>
    <deletedVideo><id>vid-0</id></deletedVideo>
  </videos>
  <paging><next>/v2/entries?from=a&amp;to=b&amp;start=1000</next></paging>
</queryResult>
`;

async function run(chunks: string[]): Promise<ImportEvent[]> {
  const out: ImportEvent[] = [];
  async function* src() {
    for (const c of chunks) yield c;
  }
  for await (const ev of importEvents("ncmec-xml", src())) out.push(ev);
  return out;
}

function randomSplit(text: string, seed: number): string[] {
  const out: string[] = [];
  let x = seed;
  for (let at = 0; at < text.length; ) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const n = 1 + (x % 23);
    out.push(text.slice(at, at + n));
    at += n;
  }
  return out;
}

describe("NCMEC hash-sharing XML", () => {
  it("turns entries into entry ops and tombstones into remove-id ops", async () => {
    const evs = await run([PAGE]);
    const ops = evs.flatMap((e) => (e.kind === "op" ? [e.op] : []));
    expect(ops).toEqual([
      {
        op: "entry",
        id: "img-1",
        category: "A1",
        hashes: [
          { algo: "md5", hex: md5a },
          { algo: "sha1", hex: sha1a },
          { algo: "pdq", hex: pdqa },
        ],
      },
      { op: "entry", id: "img-2", hashes: [{ algo: "md5", hex: md5b }] },
      { op: "remove-id", id: "img-0" },
      { op: "entry", id: "vid-1", category: "B2", hashes: [] },
      { op: "remove-id", id: "vid-0" },
    ]);
    const skips = evs.flatMap((e) => (e.kind === "skip" ? [e.reason] : []));
    expect(skips).toEqual([
      "fingerprint type pdna not supported",
      "fingerprint type tmk_pdqf not supported",
      "entry has no usable fingerprint",
    ]);
    expect(evs.filter((e) => e.kind === "error")).toEqual([
      { kind: "error", line: 18, message: "entry img-2: sha1 needs 40 hex digits, got 3" },
    ]);
    expect(evs.find((e) => e.kind === "op")!.line).toBe(5);
  });

  it("gives the same events for any chunking", async () => {
    const whole = await run([PAGE]);
    for (let seed = 1; seed <= 20; seed++) expect(await run(randomSplit(PAGE, seed))).toEqual(whole);
  });

  it("reports truncated and mismatched documents instead of throwing", async () => {
    const cut = await run([PAGE.slice(0, PAGE.indexOf("<deletedImage>") + 5)]);
    expect(cut.at(-1)).toMatchObject({ kind: "error", message: expect.stringMatching(/ends inside/) });
    const bad = await run([`<queryResult><images><image><id>x</id></images></queryResult>`]);
    expect(bad.at(-1)).toMatchObject({ kind: "error", message: "</images> closes <image>" });
    const notNcmec = await run([`<html><body/></html>`]);
    expect(notNcmec[0]).toMatchObject({
      kind: "error",
      message: "root element is <html>, not <queryResult>",
    });
    const dtd = await run([`<!DOCTYPE x [<!ENTITY a "b">]><queryResult/>`]);
    expect(dtd[0]).toMatchObject({ kind: "error", message: expect.stringMatching(/DTDs are not accepted/) });
  });

  it("tokenizes CDATA, character references and attributes", () => {
    const t = new XmlTokenizer();
    const toks = [...t.push(`<a x='1 &lt; 2' y="&#x41;"><![CDATA[<raw>]]>&#65;</a>`), ...t.end()];
    expect(toks).toEqual([
      { t: "open", name: "a", attrs: { x: "1 < 2", y: "A" }, selfClosing: false, line: 1 },
      { t: "text", text: "<raw>" },
      { t: "text", text: "A" },
      { t: "close", name: "a", line: 1 },
    ]);
  });
});
