/**
 * The CLI's node:crypto list key gives the same bytes as the Worker's WebCrypto one: key id,
 * tags, and sealed text each side opens. Digests are TEST DATA (random bytes).
 * Run: node --test test/node/list-key.node-test.ts
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { test } from "node:test";
import { DigestTagger } from "../../src/cli/digest-tagger.ts";
import { cliKeyring, DEV_LIST_KEY, NodeListKey } from "../../src/cli/node-list-key.ts";
import { deriveListKey, ListKey, TAG_BYTES, tagInput } from "../../src/lists/keyring.ts";

const SECRET = "node-parity-test-secret-0123456789abcdef"; // TEST ONLY

test("node:crypto and WebCrypto derive the same id and tags and open each other's sealed text", async () => {
  const d = await deriveListKey(SECRET);
  const [w, n] = [new ListKey(d), new NodeListKey(d)];
  assert.match(w.id, /^[0-9a-f]{8}$/);
  const inputs = Array.from({ length: 50 }, (_, i) =>
    tagInput(
      (["md5", "sha1", "sha256", "pdq"] as const)[i % 4]!,
      randomBytes([16, 20, 32, 32][i % 4]!).toString("hex"),
    ),
  );
  const [tw, tn] = [await w.tags(inputs), await n.tags(inputs)];
  assert.equal(tw.length, 50 * TAG_BYTES);
  assert.deepEqual([...tn], [...tw]);
  // The import path's own HMAC (src/cli/digest-tagger.ts), upper- and lower-case hex alike.
  const refs = inputs.map((b, i) => ({
    algo: (["md5", "sha1", "sha256", "pdq"] as const)[b[0]! - 1]!,
    hex: Buffer.from(b.subarray(1)).toString("hex")[i % 2 ? "toUpperCase" : "toLowerCase"](),
  }));
  assert.deepEqual([...(await n.digestTags(refs))], [...tw]);
  assert.deepEqual([...(await w.digestTags(refs))], [...tw]);
  const full = createHmac("sha256", Buffer.from("k".repeat(32)));
  const tagger = new DigestTagger(Buffer.from("k".repeat(32)));
  const out = new Uint8Array(32);
  tagger.tagInto(3, "ab".repeat(32), out, 0, 32);
  assert.deepEqual([...out], [...full.update(Buffer.from(`03${"ab".repeat(32)}`, "hex")).digest()]);
  assert.deepEqual([...(await n.tag(inputs[3]!))], [...(await w.tag(inputs[3]!))]);
  assert.equal(await w.openText(await n.sealText('{"id":"E1"}', "k"), "k"), '{"id":"E1"}');
  assert.equal(await n.openText(await w.sealText('{"c":"A1"}', "k"), "k"), '{"c":"A1"}');
  await assert.rejects(n.openText(await w.sealText("x", "k"), "other key"), /failed authentication/);
});

test("the CLI needs HASHGATE_LIST_KEY for --remote and falls back to the public dev key for --local", async () => {
  await assert.rejects(cliKeyring("remote", {}), /HASHGATE_LIST_KEY/);
  const local = await cliKeyring("local", {});
  assert.equal(local.current.id, new ListKey(await deriveListKey(DEV_LIST_KEY)).id);
  const rotating = await cliKeyring("remote", {
    HASHGATE_LIST_KEY: SECRET,
    HASHGATE_LIST_KEY_PREVIOUS: DEV_LIST_KEY,
  });
  assert.deepEqual(rotating.ids(), [rotating.current.id, local.current.id]);
});
