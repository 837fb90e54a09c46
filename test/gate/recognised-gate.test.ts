/**
 * Uploads the gate recognises but cannot hash perceptually (issue 10, "Files the gate
 * recognised nowhere"): each file's judgement says what it is and why it was not hashed, and an
 * image format no decoder here reads is never passed as clean. Test data: a PDQ list of a benign
 * photo (listed-picture.ts) and made-up container headers.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MatchMessage } from "../../src/cases/messages.ts";
import { configFor } from "../../src/gate/config.ts";
import { judgeUpload } from "../../src/gate/judge.ts";
import { activeLists, loadManifest } from "../../src/lists/manifest.ts";
import { MemoryBudget } from "../../src/scan/budget.ts";
import { BodyHold } from "../../src/scan/hold.ts";
import { scanUpload } from "../../src/scan/scan-upload.ts";
import { testEnv } from "../helpers/faults.ts";
import { buildMultipart } from "../helpers/multipart.ts";
import { bodyOf } from "../helpers/origin.ts";
import { encodePng } from "../image/png-encoder.ts";
import { listTheBridge, upload } from "./listed-picture.ts";

const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const pad = (head: Uint8Array, n = 4096) => {
  const out = new Uint8Array(n).fill(0x5a);
  out.set(head);
  return out;
};
const MP4 = pad(ascii("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2\x00\x00\x00\x08mdat"));
const ZIP = pad(ascii("PK\x03\x04\x14\x00\x00\x00\x08\x00"));
/** A tar archive: its magic "ustar" sits at byte 257, past a short sniffing head. */
const TAR = (() => {
  const t = new Uint8Array(4096);
  t.set(ascii("photo.jpg"), 0);
  t.set(ascii("ustar\x0000"), 257);
  return t;
})();
// HEIC stays unhashable (no decoder whose licence fits: README, Images); AVIF is decoded now.
const HEIC = pad(ascii("\x00\x00\x00\x1cftypheic\x00\x00\x00\x00mif1heicmiaf\x00\x00\x00\x08mdat"));

beforeAll(async () => {
  await listTheBridge();
});

/** Scans and judges a body the way the gate does, returning the per-file judgements. */
async function judge(body: Uint8Array, contentType: string) {
  const e = testEnv();
  const cfg = configFor(e);
  const lists = activeLists(await loadManifest(e.HASHES), new Date());
  const hold = new BodyHold({
    bucket: e.EVIDENCE,
    spoolKey: `spool/${crypto.randomUUID()}`,
    holdMemoryBytes: cfg.holdMemoryBytes,
    budget: new MemoryBudget(cfg.holdIsolateBytes),
  });
  const req = new Request("https://g.test/upload", {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  });
  const scan = await scanUpload(req, {
    algos: ["md5"],
    maxBodyBytes: cfg.maxBodyBytes,
    maxPartHeaderBytes: 8192,
    hold,
  });
  try {
    return await judgeUpload(e, cfg, lists, scan);
  } finally {
    await scan.body.discard();
  }
}

describe("files recognised but not hashed perceptually", () => {
  it("judges a video, an archive and a HEIC each with what it is and why it was not hashed", async () => {
    const png = await encodePng({
      width: 3,
      height: 3,
      colorType: 0,
      depth: 8,
      samples: [9, 8, 7, 6, 5, 4, 3, 2, 1],
    });
    const { body, contentType } = buildMultipart([
      { field: "clip", filename: "a.mp4", contentType: "video/mp4", data: MP4 },
      { field: "bundle", filename: "b.zip", contentType: "application/zip", data: ZIP },
      { field: "photo", filename: "c.heic", contentType: "image/heic", data: HEIC },
      { field: "icon", filename: "d.png", contentType: "image/png", data: png },
      { field: "note", filename: "e.txt", contentType: "text/plain", data: "hello" },
      { field: "backup", filename: "f.tar", contentType: "application/octet-stream", data: TAR },
    ]);
    const judged = await judge(body, contentType);
    expect(judged.map((j) => [j.recognised?.kind, j.recognised?.type, j.unscannedReason ?? null])).toEqual([
      ["video", "video/mp4", "video"],
      ["archive", "application/zip", "archive"],
      ["image-unhashable", "image/heic", "heic"],
      ["image", "image/png", null],
      ["other", "application/octet-stream", null],
      ["archive", "application/x-tar", "archive"],
    ]);
    // Only the image format that cannot be hashed counts as an image failure (IMAGE_FAILURE_POLICY).
    expect(judged.map((j) => j.imageError ?? null)).toEqual([null, null, "unsupported", null, null, null]);
    expect(judged[3]!.pdq).toBeDefined();
  });

  it("forwards a video untouched, but never passes a HEIC as clean (recorded, or held by policy)", async () => {
    const video = await upload(MP4, "video/mp4");
    expect(video.res.status).toBe(201);
    expect(bodyOf(video.origin[0]!)).toEqual(MP4);

    const forwarded = await upload(HEIC, "image/heic");
    expect(forwarded.res.status).toBe(201);
    expect(forwarded.sent).toEqual([
      expect.objectContaining({ type: "unscanned", reason: expect.stringContaining("unsupported") }),
    ]);

    const held = await upload(HEIC, "image/heic", { IMAGE_FAILURE_POLICY: "hold" });
    expect(held.res.status).toBe(451);
    expect(held.origin).toHaveLength(0);
    expect((held.sent[0] as MatchMessage).files[0]).toMatchObject({
      sniffedType: "image/heic",
      imageError: "unsupported",
    });
  });
});
