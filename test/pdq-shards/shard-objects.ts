/**
 * What the shard-object tests share (publish-build.test.ts, staged-switch.test.ts): the admin
 * API on a Hono app, the test token, the real PDQ_SHARDS namespace and one whose objects cannot
 * build, an object's held() stats, random PDQ hashes and a KV that notes when the manifest is
 * written. Test data: random 256-bit
 * values, not real hash lists; tokens are test strings.
 */
import { env } from "cloudflare:test";
import { Hono } from "hono";
import { adminRoutes } from "../../src/admin/routes.ts";
import type { Env } from "../../src/env.ts";
import { MANIFEST_KEY } from "../../src/lists/manifest.ts";
import { bytesToHex } from "../../src/pdq/core.ts";
import { type PdqShardRpc, shardObjectName } from "../../src/pdq-shards/protocol.ts";

export const TOKEN = "test-token-0123456789abcdefghij";

export const app = new Hono();
app.route("/admin", adminRoutes);

export const realShards = (env as unknown as Env).PDQ_SHARDS!;

/** Random PDQ hashes (hex) drawn from `r`, so each file's sequence stays its own. */
export function randomHexFrom(r: () => number): () => string {
  return () => bytesToHex(Uint8Array.from({ length: 32 }, () => Math.floor(r() * 256)));
}

/** KV that notes when the manifest is written. */
export function watchedKv(writes: { manifestAt?: number }): KVNamespace {
  return new Proxy(env.HASHES, {
    get(target, prop) {
      if (prop === "put")
        return async (key: string, ...rest: unknown[]) => {
          if (key === MANIFEST_KEY) writes.manifestAt = Date.now();
          return (target.put as (...a: unknown[]) => Promise<void>)(key, ...rest);
        };
      const v = Reflect.get(target, prop);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** What the shard object of `list`'s shard `shard` holds (null: nothing built). */
export const held = (list: { id: string; version: number }, shard: number) =>
  (realShards.get(realShards.idFromName(shardObjectName(list, shard))) as unknown as PdqShardRpc).held();

/** A PDQ_SHARDS namespace whose objects fail to load (build) any shard. */
export function failingShards(): NonNullable<Env["PDQ_SHARDS"]> {
  return {
    idFromName: (name: string) => realShards.idFromName(name),
    get: () => ({
      load: async () => {
        throw new Error("shard object overloaded");
      },
    }),
  } as unknown as NonNullable<Env["PDQ_SHARDS"]>;
}
