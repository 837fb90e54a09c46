/**
 * Fault matrix of a list publish (publishDelta over a KvListStore): the Nth KV put (every put
 * of the publish, one cell each) or the Nth KV read fails or runs late. Must hold: an
 * interrupted publish leaves the previous version in force (manifest version, matches of the
 * old content, none of the new), and a retry publishes the new version. Extends
 * test/lists/publish.test.ts. Every digest is TEST DATA (random hex).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createList } from "../../src/lists/govern.ts";
import { readManifest } from "../../src/lists/layout.ts";
import { forgetManifest } from "../../src/lists/manifest.ts";
import type { ListOp } from "../../src/lists/ops.ts";
import { publishDelta } from "../../src/lists/publish.ts";
import { KvListStore } from "../../src/lists/store.ts";
import { matchDigests } from "../../src/match/exact.ts";
import { type FaultKind, Injector } from "../helpers/fault-inject.ts";
import { formatMatrix, type MatrixRow } from "../helpers/fault-matrix.ts";
import { newListInput, testKeys } from "../helpers/lists.ts";
import { randomHex } from "./helpers.ts";

let seq = 0;
const md5 = (i: number) => randomHex(32, 9000 + seq * 100 + i);

/** A list at version 1 holding `kept` and `dropped`; v2 removes `dropped` and adds `added`. */
async function listAtV1() {
  seq++;
  const id = `flt${Date.now().toString(36)}-${seq}`;
  const store = new KvListStore(env.HASHES);
  await createList(store, newListInput(id, { provider: "fault tests" }));
  const kept = [md5(1), md5(2), md5(3)];
  const dropped = [md5(4), md5(5)];
  const added = [md5(6), md5(7), md5(8)];
  const op = (kind: "add" | "remove", hex: string): ListOp =>
    kind === "add" ? { op: "add", hash: { algo: "md5", hex } } : { op: "remove", hash: { algo: "md5", hex } };
  await publishDelta(
    store,
    id,
    [...kept, ...dropped].map((h) => op("add", h)),
    { actor: "fault-test", keys: await testKeys() },
  );
  const v2 = [...dropped.map((h) => op("remove", h)), ...added.map((h) => op("add", h))];
  return { id, kept, dropped, added, v2 };
}

/** The version in force and which of `hexes` match it, read as a scan reads them. */
async function inForce(id: string, hexes: string[]) {
  forgetManifest(env.HASHES);
  const meta = (await readManifest(new KvListStore(env.HASHES))).lists.find((l) => l.id === id)!;
  const matched: string[] = [];
  for (const hex of hexes)
    if ((await matchDigests(env.HASHES, [meta], { md5: hex }, testKeys)).length > 0) matched.push(hex);
  return { version: meta.version, matched };
}

/** KV operations of one v1 → v2 publish, counted on a run without faults. */
async function countCalls(): Promise<{ puts: number; gets: number }> {
  const l = await listAtV1();
  const inj = new Injector();
  await publishDelta(new KvListStore(inj.wrap(env.HASHES)), l.id, l.v2, {
    actor: "fault-test",
    keys: await testKeys(),
  });
  return { puts: inj.count("put"), gets: inj.count("get") };
}

const rows: MatrixRow[] = [];

async function cell(method: "put" | "get", nth: number, kind: FaultKind): Promise<void> {
  const l = await listAtV1();
  const all = [...l.kept, ...l.dropped, ...l.added];
  const inj = new Injector([{ method, nth, kind }]);
  const attempt = await publishDelta(new KvListStore(inj.wrap(env.HASHES)), l.id, l.v2, {
    actor: "fault-test",
    keys: await testKeys(),
  }).then(
    () => "published",
    (e: unknown) => `refused: ${e instanceof Error ? e.message.slice(0, 40) : String(e)}`,
  );
  const after = await inForce(l.id, all);
  let outcome: string;
  if (attempt === "published") {
    expect(after).toEqual({ version: 2, matched: [...l.kept, ...l.added] });
    outcome = "v2 in force";
  } else {
    // Interrupted: v1 stays in force, exactly as before.
    expect(kind).toBe("fail");
    expect(after).toEqual({ version: 1, matched: [...l.kept, ...l.dropped] });
    const retry = await publishDelta(new KvListStore(env.HASHES), l.id, l.v2, {
      actor: "fault-test",
      keys: await testKeys(),
    });
    expect(retry.added).toBe(l.added.length);
    const now = await inForce(l.id, all);
    expect(now.matched).toEqual([...l.kept, ...l.added]);
    expect(now.version).toBeGreaterThan(1);
    outcome = `v1 kept; retry → v${now.version} in force`;
  }
  rows.push({ scenario: "publish v1→v2", step: `${method} #${nth}`, binding: "KV", fault: kind, outcome });
}

describe("fault matrix: list publish", () => {
  it("every KV put and read of a publish, failed or delayed", async () => {
    const { puts, gets } = await countCalls();
    expect(puts).toBeGreaterThan(3);
    for (let n = 1; n <= puts; n++) for (const kind of ["fail", "delay"] as const) await cell("put", n, kind);
    for (let n = 1; n <= gets; n++) await cell("get", n, "fail");
    const refused = rows.filter((r) => r.outcome.startsWith("v1 kept"));
    // Every failed put or read interrupts the publish (nothing is silently skipped).
    expect(refused.map((r) => r.step)).toEqual(rows.filter((r) => r.fault === "fail").map((r) => r.step));
    console.log(formatMatrix("list publish", rows));
  }, 120_000);
});
