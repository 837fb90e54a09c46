/**
 * A listed picture for gate tests of the image formats: the PDQ list holds the full-resolution
 * hash of a benign fixture photo of a bridge (../shared/fixtures/pdq): TEST DATA, not a real
 * hash list. The picture is handed out as 8-bit grey pixels, so any container can carry it.
 */
import { env } from "cloudflare:test";
import type { GateMessage } from "../../src/cases/messages.ts";
import { gateRequest } from "../../src/gate/gate.ts";
import { decodeImage } from "../../src/image/decode.ts";
import { forgetManifest, type ListManifest, MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { CapturingQueue, testCtx, testEnv } from "../helpers/faults.ts";
import { fixtureBytes } from "../helpers/fixtures.ts";
import { seedPdqShard, testList } from "../helpers/lists.ts";
import { receivedAt, uniquePrefix } from "../helpers/origin.ts";
import { fixtureImages } from "../image/fixture-list.ts";

export const LISTED_FILE = "pdq/images/reg-test-input/dih/bridge-1-original.jpg";

export interface GreyPicture {
  width: number;
  height: number;
  /** One byte per pixel, row-major. */
  grey: Uint8Array;
}

/** Publishes a one-entry PDQ list holding the bridge's full-resolution hash; returns the hash. */
export async function listTheBridge(): Promise<string> {
  const hash = (await fixtureImages()).find((f) => f.file === LISTED_FILE)!.fullresHex;
  const meta = testList("pdq-formats", { algorithms: ["md5"], pdqShards: 1, version: 3 });
  await seedPdqShard(env.HASHES, meta, [{ hash, entryId: "bridge-entry" }]);
  const manifest: ListManifest = { revision: 9, updatedAt: new Date().toISOString(), lists: [meta] };
  await env.HASHES.put(MANIFEST_KEY, JSON.stringify(manifest));
  forgetManifest(env.HASHES);
  return hash;
}

/** The bridge as grey pixels (BT.601 luma), reduced by 2×2 boxes to 800×502 to keep tests quick. */
export async function bridgeGrey(): Promise<GreyPicture> {
  const rgba = await decodeImage(await fixtureBytes(LISTED_FILE), { maxPixels: 1e8, fullResolution: true });
  const { width: w, height: h, channels: ch, pixels } = rgba;
  const luma = (i: number) => 0.299 * pixels[i]! + 0.587 * pixels[i + 1]! + 0.114 * pixels[i + 2]!;
  const W = w >> 1;
  const H = h >> 1;
  const grey = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let s = 0;
      for (const [dx, dy] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ] as const)
        s += luma(((2 * y + dy) * w + 2 * x + dx) * ch);
      grey[y * W + x] = Math.round(s / 4);
    }
  }
  return { width: W, height: H, grey };
}

/** An unrelated busy grey picture of the same size (a clean frame). */
export function unrelatedGrey(width: number, height: number): GreyPicture {
  const grey = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      grey[y * width + x] = ((x >> 4) * 37 + (y >> 5) * 91 + ((x * y) >> 9)) & 255;
  return { width, height, grey };
}

/** Sends `body` through the gate; returns the response, queued messages and what the origin got. */
export async function upload(body: Uint8Array, contentType: string, over = {}) {
  const queue = new CapturingQueue();
  const { ctx, settle } = testCtx();
  const p = uniquePrefix();
  const req = new Request(`https://g.test${p}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body,
  });
  const res = await gateRequest(req, testEnv({ MATCHES: queue as never, ...over }), ctx);
  await settle();
  return { res, sent: queue.sent as GateMessage[], origin: await receivedAt(p) };
}
