/**
 * `hashgate lists` stages a new version that the gate searches on PDQ shard objects (it cannot
 * reach them): the manifest keeps the old version and the output says so; with --gate it asks
 * the gate to switch (here a stand-in HTTP server that records the request). Hashes are TEST
 * DATA (random hex), against a temporary local state.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const ROOT = new URL("../..", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "hashgate-lists-staged-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const local = ["--local", "--persist-to", dir];
const TERMS = ["--provider", "test", "--licence-ref", "test data", "--licensed-until", "2099-12-31"];

function hashgate(args: string[], env: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      process.execPath,
      ["bin/hashgate.mjs", "lists", ...args],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env } },
      (e, out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, out, err }),
    );
  });
}

/** A delta file of `n` random PDQ hashes (test data). */
function pdqDelta(name: string, n: number): string {
  const file = join(dir, name);
  const lines = Array.from({ length: n }, () => `add pdq ${randomBytes(32).toString("hex")}`);
  writeFileSync(file, `# test data\n${lines.join("\n")}\n`);
  return file;
}

async function version(id: string): Promise<number> {
  const r = await hashgate(["show", id, "--json", ...local]);
  assert.equal(r.code, 0, r.err);
  return (JSON.parse(r.out) as { version: number }).version;
}

async function created(id: string) {
  const c = await hashgate([
    "create",
    id,
    ...TERMS,
    "--allowed-uses",
    "block",
    "--action",
    "block",
    ...local,
  ]);
  assert.equal(c.code, 0, c.err);
}

test("a version at the shard threshold is staged: the output says so and the manifest keeps the old version", async () => {
  await created("big");
  const file = pdqDelta("big.delta", 5);
  const r = await hashgate(["import", "--list", "big", "--delta", "--shard-threshold", "5", file, ...local]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^big: staged version 1 \(from 0\)/m);
  assert.match(r.out, /version 1 staged: will switch once the gate's PDQ shard objects are built/);
  assert.equal(await version("big"), 0);
  // Nothing else publishes on top of it until it is switched.
  const again = await hashgate([
    "import",
    "--list",
    "big",
    "--delta",
    "--shard-threshold",
    "5",
    file,
    ...local,
  ]);
  assert.equal(again.code, 1);
  assert.match(again.err, /version 1 staged/);
});

test("below the threshold (or with --switch-now) a version switches at once", async () => {
  await created("small");
  const r = await hashgate([
    "import",
    "--list",
    "small",
    "--delta",
    "--shard-threshold",
    "6",
    pdqDelta("s.delta", 5),
    ...local,
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^small: published version 1/m);
  assert.doesNotMatch(r.out, /staged/);
  assert.equal(await version("small"), 1);
  const now = await hashgate([
    "import",
    "--list",
    "small",
    "--delta",
    "--shard-threshold",
    "1",
    "--switch-now",
    pdqDelta("s2.delta", 2),
    ...local,
  ]);
  assert.equal(now.code, 0, now.err);
  assert.equal(await version("small"), 2);
});

test("--gate asks the gate to switch the staged version with the admin token from HASHGATE_ADMIN_TOKEN", async () => {
  await created("gated");
  const seen: { method?: string; url?: string; auth?: string }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ list: { version: 1 } }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => server.close());
  const gate = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const file = pdqDelta("g.delta", 4);
  const args = [
    "import",
    "--list",
    "gated",
    "--delta",
    "--shard-threshold",
    "4",
    "--gate",
    gate,
    file,
    ...local,
  ];
  const noToken = await hashgate(args, { HASHGATE_ADMIN_TOKEN: "" });
  assert.equal(noToken.code, 1);
  assert.match(noToken.err, /--gate needs the admin token in HASHGATE_ADMIN_TOKEN/);
  assert.equal(seen.length, 0);
  const r = await hashgate(args, { HASHGATE_ADMIN_TOKEN: "test-admin-token" });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /gated: version 1 staged, shard objects built by the gate, switched/);
  assert.deepEqual(seen, [
    { method: "POST", url: "/admin/lists/gated/switch", auth: "Bearer test-admin-token" },
  ]);
});

test("switchOnGate: --wait retries a failed build until the gate switches; without it one attempt", async () => {
  const { switchOnGate } = await import("../../src/cli/gate-switch.ts");
  const answers: number[] = [];
  let switchStatus = [503, 503, 200];
  const server = createServer((req, res) => {
    if (req.method === "GET") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ list: { version: 7 } }));
      return;
    }
    const status = switchStatus.shift() ?? 404;
    answers.push(status);
    res
      .writeHead(status, { "content-type": "application/json" })
      .end(JSON.stringify({ error: "scan_unavailable", message: "shard objects did not build" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => server.close());
  const gate = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const g = { gate, token: "test-admin-token", pollMs: 10 };
  await switchOnGate({ ...g, wait: true }, "l", 7);
  assert.deepEqual(answers, [503, 503, 200]);
  switchStatus = [503];
  await assert.rejects(
    switchOnGate({ ...g, wait: false }, "l", 7),
    /version 7 stays staged \(shard objects did not build\)/,
  );
  // Nothing staged any more and the gate names the version: switched by its scheduled run.
  switchStatus = [404];
  await switchOnGate({ ...g, wait: false }, "l", 7);
  switchStatus = [401];
  await assert.rejects(
    switchOnGate({ ...g, wait: true }, "l", 7),
    /refused the admin token in HASHGATE_ADMIN_TOKEN/,
  );
});
