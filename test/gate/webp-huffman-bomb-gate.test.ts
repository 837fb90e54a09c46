/**
 * A hostile lossless WebP through the gate (default configuration): 295 KB, 1024x1024, whose
 * meta-Huffman image names 65 536 Huffman groups (test/image/webp-huffman-bomb.ts). Unbounded,
 * libwebp took 777.5 MiB of the 128 MB isolate for their tables (the isolate dies with every
 * upload in flight) and the decode succeeded: the upload went to the origin as clean. With the
 * module's ceiling (wasm/libwebp/hashgate_webp.c) the decode fails as too-large, and the upload
 * follows IMAGE_FAILURE_POLICY: recorded as unscanned, or held.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { huffmanBombWebp } from "../image/webp-huffman-bomb.ts";
import { listTheBridge, upload } from "./listed-picture.ts";

beforeAll(async () => {
  await listTheBridge();
});

describe("a lossless WebP naming 65 536 Huffman groups in the gate", () => {
  it("is never passed as clean: recorded as unscanned (too-large), or held by policy", {
    timeout: 120_000,
  }, async () => {
    const bomb = huffmanBombWebp(1024, 1024, 65536);
    const forwarded = await upload(bomb, "image/webp");
    expect(forwarded.res.status).toBe(201);
    expect(forwarded.sent).toEqual([
      expect.objectContaining({ type: "unscanned", reason: expect.stringContaining("too-large") }),
    ]);

    const held = await upload(bomb, "image/webp", { IMAGE_FAILURE_POLICY: "hold" });
    expect(held.res.status).toBe(451);
    expect(held.origin).toHaveLength(0);
    expect((held.sent[0] as MatchMessage).files[0]).toMatchObject({
      sniffedType: "image/webp",
      imageError: "too-large",
    });
  });
});
