/**
 * Images inside encoded bodies and text values reach PDQ: the judge reads them back decoded
 * from the held body. The "list" is the PDQ hash of a benign fixture photo of a bridge
 * (../shared/fixtures/pdq): TEST DATA, not a real hash list.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { gateRequest } from "../../src/gate/gate.ts";
import { forgetManifest, type ListManifest, MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { base64, compress } from "../helpers/encodings.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { fixtureBytes, fixtureText } from "../helpers/fixtures.ts";
import { seedPdqShard, testList } from "../helpers/lists.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";

let flipped: Uint8Array; // the listed photo mirrored: different bytes, same picture

beforeAll(async () => {
  const rows = (await fixtureText("pdq/manifest_ext.tsv"))
    .trim()
    .split("\n")
    .map((l) => l.split("\t"));
  const head = rows[0]!;
  const row = rows.find((r) => r[0] === "images/reg-test-input/dih/bridge-1-original.jpg")!;
  const listedHash = row[head.indexOf("fullres_hex")]!;
  flipped = await fixtureBytes("pdq/images/reg-test-input/dih/bridge-5-flipx.jpg");
  const meta = testList("pdq-enc", { algorithms: ["md5"], pdqShards: 1, version: 3 });
  await seedPdqShard(env.HASHES, meta, [{ hash: listedHash, entryId: "bridge" }]);
  const manifest: ListManifest = { revision: 9, updatedAt: new Date().toISOString(), lists: [meta] };
  await env.HASHES.put(MANIFEST_KEY, JSON.stringify(manifest));
  forgetManifest(env.HASHES);
});

async function upload(body: Uint8Array | string, headers: Record<string, string>) {
  const queue = new CapturingQueue();
  const { ctx, settle } = testCtx();
  const p = uniquePrefix();
  const res = await gateRequest(
    new Request(`https://g.test${p}`, { method: "POST", headers, body }),
    testEnv({ MATCHES: queue as never }),
    ctx,
  );
  await settle();
  return { res, sent: queue.sent as MatchMessage[], origin: await receivedAt(p) };
}

describe("PDQ of images the gate had to decode first", () => {
  it("a mirrored copy of a listed photo in a gzip'd body", async () => {
    const { res, sent, origin } = await upload(await compress(flipped, "gzip"), {
      "content-type": "image/jpeg",
      "content-encoding": "gzip",
    });
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    expect(sent[0]!.files[0]!.matches[0]).toMatchObject({ kind: "pdq", listId: "pdq-enc" });
  });

  it("a mirrored copy of a listed photo as a data: URL in JSON", async () => {
    const json = JSON.stringify({ photo: `data:image/jpeg;base64,${base64(flipped)}` });
    const { res, sent, origin } = await upload(json, { "content-type": "application/json" });
    expect(res.status).toBe(451);
    expect(origin).toHaveLength(0);
    expect(sent[0]!.files[0]).toMatchObject({ carrier: { at: "/photo" }, sniffedType: "image/jpeg" });
    expect(sent[0]!.files[0]!.matches[0]).toMatchObject({ kind: "pdq" });
    const evidence = await env.EVIDENCE.get(sent[0]!.files[0]!.evidenceKey!);
    expect(new Uint8Array(await evidence!.arrayBuffer())).toEqual(flipped);
  });
});
