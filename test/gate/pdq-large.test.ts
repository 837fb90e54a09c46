/**
 * Large photos through the gate with the default configuration (wrangler.toml's vars): 12, 24
 * and 48 MP JPEGs of a listed picture are decoded reduced and blocked; five such uploads at
 * once stay within the isolate's memory budget; an image the budget cannot cover is handled
 * by IMAGE_FAILURE_POLICY. The "list" is the full-resolution PDQ hash of a benign fixture photo
 * of a bridge, and the large photos are that bridge enlarged (flat 8x8 blocks): TEST DATA.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import type { GateMessage, MatchMessage } from "../../src/cases/messages.ts";
import { configFor } from "../../src/gate/config.ts";
import { gateRequest } from "../../src/gate/gate.ts";
import { decodeJpegScaled } from "../../src/image/jpeg-scaled.ts";
import { imagesInLine } from "../../src/image/one-at-a-time.ts";
import { forgetManifest, type ListManifest, MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { isolateBudget } from "../../src/scan/budget.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { fixtureBytes, fixtureText } from "../helpers/fixtures.ts";
import { seedPdqShard, testList } from "../helpers/lists.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";
import { encodeFlatPhoto } from "../image/jpeg-encoder.ts";

let listedHash = "";
const photos = new Map<number, Uint8Array>();
/** Sizes (multiples of 16) of about 12, 24 and 48 megapixels. */
const SIZES: Record<number, [number, number]> = { 12: [4000, 3008], 24: [5664, 4240], 48: [8000, 6000] };

beforeAll(async () => {
  const rows = (await fixtureText("pdq/manifest_ext.tsv"))
    .trim()
    .split("\n")
    .map((l) => l.split("\t"));
  const file = "images/reg-test-input/dih/bridge-1-original.jpg";
  listedHash = rows.find((r) => r[0] === file)![rows[0]!.indexOf("fullres_hex")]!;
  const bridge = await decodeJpegScaled(await fixtureBytes(`pdq/${file}`), { shortSide: 0 });
  for (const [mp, [w, h]] of Object.entries(SIZES)) {
    photos.set(
      Number(mp),
      encodeFlatPhoto(w, h, (bx, by) => {
        const y = Math.min(bridge.height - 1, Math.floor(((by * 8 + 4) * bridge.height) / h));
        const x = Math.min(bridge.width - 1, Math.floor(((bx * 8 + 4) * bridge.width) / w));
        return bridge.pixels[y * bridge.width + x]!;
      }),
    );
  }
  const meta = testList("pdq-large", { algorithms: ["md5"], pdqShards: 1, version: 1 });
  await seedPdqShard(env.HASHES, meta, [{ hash: listedHash, entryId: "bridge" }]);
  const manifest: ListManifest = { revision: 1, updatedAt: new Date().toISOString(), lists: [meta] };
  await env.HASHES.put(MANIFEST_KEY, JSON.stringify(manifest));
  forgetManifest(env.HASHES);
}, 60_000);

async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

async function upload(body: Uint8Array, over = {}) {
  const queue = new CapturingQueue();
  const { ctx, settle } = testCtx();
  const p = uniquePrefix();
  const req = new Request(`https://g.test${p}`, {
    method: "POST",
    headers: { "content-type": "image/jpeg" },
    body,
  });
  const res = await gateRequest(req, testEnv({ MATCHES: queue as never, ...over }), ctx);
  await settle();
  return { res, sent: queue.sent as GateMessage[], origin: await receivedAt(p) };
}

describe("large photos in the gate (default configuration)", () => {
  it("runs with the shipped limits: IMAGE_MAX_PIXELS guards only absurd headers", () => {
    const cfg = configFor(testEnv());
    expect(cfg.imageMaxPixels).toBeGreaterThanOrEqual(200_000_000);
    expect(cfg.isolateMemoryBytes).toBe(80 * 1024 * 1024);
  });

  for (const mp of [12, 24, 48]) {
    it(`blocks a listed picture uploaded as a ${mp} MP JPEG`, async () => {
      const { res, sent, origin } = await upload(photos.get(mp)!);
      expect(res.status).toBe(451);
      expect(origin).toHaveLength(0);
      const hit = (sent[0] as MatchMessage).files[0]!.matches[0]!;
      expect(hit).toMatchObject({
        listId: "pdq-large",
        kind: "pdq",
        entryId: "bridge",
      });
      expect(hit.distance).toBeLessThanOrEqual(10);
    }, 60_000);
  }

  it("blocks five 48 MP uploads arriving at once, and the memory budget is whole again afterwards", async () => {
    const budget = isolateBudget(configFor(testEnv()).isolateMemoryBytes);
    await upload(photos.get(12)!); // loads the list's PDQ index (charged to the budget while cached)
    const before = budget.inUse;
    const results = await Promise.all(Array.from({ length: 5 }, () => upload(photos.get(48)!)));
    expect(results.map((r) => r.res.status)).toEqual([451, 451, 451, 451, 451]);
    expect(results.every((r) => r.origin.length === 0)).toBe(true);
    expect(imagesInLine()).toBe(0);
    expect(budget.inUse).toBe(before);
  }, 120_000);

  it("treats an image the budget cannot cover as unscanned: forwarded and recorded, or held under policy hold", async () => {
    const small = { ISOLATE_MEMORY_BYTES: String(1024 * 1024) };
    const fwd = await upload(photos.get(48)!, small);
    expect(fwd.res.status).toBe(201);
    expect(fwd.origin[0]!.sha256).toBe(await sha256(photos.get(48)!));
    expect(fwd.sent).toEqual([
      expect.objectContaining({ type: "unscanned", reason: expect.stringContaining("not hashed") }),
    ]);
    const held = await upload(photos.get(48)!, { ...small, IMAGE_FAILURE_POLICY: "hold" });
    expect(held.res.status).toBe(451);
    expect(held.origin).toHaveLength(0);
    expect((held.sent[0] as MatchMessage).files[0]).toMatchObject({ imageError: "too-large", matches: [] });
  }, 60_000);
});
