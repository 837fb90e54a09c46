/**
 * PDQ in the gate. The "list" here is the PDQ hash of a benign fixture photo of a bridge
 * (../shared/fixtures/pdq): TEST DATA, not a real hash list.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { CASE_HEADER } from "../../src/gate/gate.ts";
import { imagesInLine } from "../../src/image/one-at-a-time.ts";
import { forgetManifest, type ListManifest, MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { fixtureBytes, fixtureText } from "../helpers/fixtures.ts";
import { seedPdqShard, testList } from "../helpers/lists.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { bodyOf } from "../helpers/origin.ts";
import { upload } from "./listed-picture.ts";

let listedHash = "";
let keyId = "";
let flipped: Uint8Array; // the same photo mirrored: different bytes, same picture
let other: Uint8Array; // an unrelated photo

async function fullresHex(file: string): Promise<string> {
  const rows = (await fixtureText("pdq/manifest_ext.tsv"))
    .trim()
    .split("\n")
    .map((l) => l.split("\t"));
  const head = rows[0]!;
  const row = rows.find((r) => r[0] === file)!;
  return row[head.indexOf("fullres_hex")]!;
}

beforeAll(async () => {
  listedHash = await fullresHex("images/reg-test-input/dih/bridge-1-original.jpg");
  flipped = await fixtureBytes("pdq/images/reg-test-input/dih/bridge-5-flipx.jpg");
  other = await fixtureBytes("pdq/images/reg-test-input/labelme-subset/q0003.jpg");
  const meta = testList("pdq-test", { algorithms: ["md5"], pdqShards: 1, version: 2 });
  await seedPdqShard(env.HASHES, meta, [{ hash: listedHash, entryId: "bridge-entry" }]);
  keyId = meta.keyId ?? "";
  const manifest: ListManifest = { revision: 5, updatedAt: new Date().toISOString(), lists: [meta] };
  await env.HASHES.put(MANIFEST_KEY, JSON.stringify(manifest));
  forgetManifest(env.HASHES);
});

describe("PDQ matching in the gate", () => {
  it("blocks a mirrored copy of a listed image (dihedral match) inside a multipart upload", async () => {
    const { body, contentType } = buildMultipart([
      { field: "note", data: "hi" },
      { field: "photo", filename: "holiday.png", contentType: "image/png", data: flipped },
    ]);
    const { res, sent, origin } = await upload(body, contentType);
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    const msg = sent[0] as MatchMessage;
    expect(msg.caseId).toBe(res.headers.get(CASE_HEADER));
    const f = msg.files[0]!;
    // Sniffed from the bytes, not the declared type.
    expect(f).toMatchObject({ index: 1, declaredType: "image/png", sniffedType: "image/jpeg" });
    expect(f.pdq!.quality).toBeGreaterThanOrEqual(50);
    const hit = f.matches[0]!;
    expect(hit).toMatchObject({
      listId: "pdq-test",
      kind: "pdq",
      entryId: "bridge-entry",
    });
    // The case keeps what was uploaded, never the list's hash (issue 14).
    expect(JSON.stringify(msg)).not.toContain(listedHash);
    expect(hit.distance).toBeLessThanOrEqual(31);
  });

  it("judges images uploaded at the same moment each on its own (they are decoded one at a time)", async () => {
    const uploads = [flipped, other, flipped, other, other];
    const results = await Promise.all(uploads.map((b) => upload(b, "image/jpeg")));
    expect(results.map((r) => r.res.status)).toEqual([451, 201, 451, 201, 201]);
    results.forEach((r, i) => {
      if (r.res.status === 201) expect(bodyOf(r.origin[0]!)).toEqual(uploads[i]);
      else expect(r.origin).toHaveLength(0);
    });
    const cases = results.flatMap((r) => r.sent as MatchMessage[]);
    expect(new Set(cases.map((m) => m.caseId)).size).toBe(2);
    expect(imagesInLine()).toBe(0);
  });

  it("forwards an unrelated image untouched", async () => {
    const { res, origin } = await upload(other, "image/jpeg");
    expect(res.status).toBe(201);
    expect(bodyOf(origin[0]!)).toEqual(other);
  });

  it("does not match when the list's threshold is tighter than the distance", async () => {
    const dist = await (async () => {
      const { sent } = await upload(flipped, "image/jpeg");
      return (sent[0] as MatchMessage).files[0]!.matches[0]!.distance!;
    })();
    // Republish the list with a threshold just under the measured distance, if there is room.
    if (dist === 0) return; // an exact dihedral hit cannot be excluded by a threshold ≥ 0
    const meta = testList("pdq-test", {
      algorithms: ["md5"],
      pdqShards: 1,
      version: 2,
      keyId,
      pdqThreshold: dist - 1,
    });
    await env.HASHES.put(MANIFEST_KEY, JSON.stringify({ revision: 6, updatedAt: "", lists: [meta] }));
    forgetManifest(env.HASHES);
    const { res } = await upload(flipped, "image/jpeg");
    expect(res.status).toBe(201);
  });

  describe("images that cannot be hashed are never silently clean", () => {
    const broken = new Uint8Array([
      0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 2, 3, 4, 5, 6, 7,
    ]);

    it("policy forward: forwarded and recorded as unscanned", async () => {
      const { res, sent, origin } = await upload(broken, "image/jpeg");
      expect(res.status).toBe(201);
      expect(bodyOf(origin[0]!)).toEqual(broken);
      expect(sent).toEqual([
        expect.objectContaining({
          type: "unscanned",
          code: "files-not-hashed",
          reason: expect.stringContaining("not hashed"),
        }),
      ]);
    });

    it("policy hold: not forwarded, a case records why", async () => {
      const { res, sent, origin } = await upload(broken, "image/jpeg", { IMAGE_FAILURE_POLICY: "hold" });
      expect(res.status).toBe(451);
      expect(origin).toHaveLength(0);
      const msg = sent[0] as MatchMessage;
      expect(msg.files[0]).toMatchObject({ imageError: expect.any(String), matches: [] });
    });

    it("an image over the pixel limit is refused from its header", async () => {
      const { res, sent } = await upload(other, "image/jpeg", {
        IMAGE_MAX_PIXELS: "1000",
        IMAGE_FAILURE_POLICY: "hold",
      });
      expect(res.status).toBe(451);
      expect((sent[0] as MatchMessage).files[0]!.imageError).toBe("too-large");
    });
  });
});
