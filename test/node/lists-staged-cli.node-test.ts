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

function hashgate(args: string[], env: NodeJS.ProcessEnv = {}, opts: { cwd?: string } = {}) {
  return new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "bin/hashgate.mjs"), "lists", ...args],
      { cwd: opts.cwd ?? ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...env } },
      (e, out, err) => resolve({ code: e ? Number(e.code ?? 1) : 0, out, err }),
    );
  });
}

/** wrangler itself, against the same local state. */
function wrangler(args: string[]) {
  return new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "node_modules/wrangler/bin/wrangler.js"), ...args],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
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

interface Seen {
  method?: string;
  url?: string;
  auth?: string;
}

/**
 * A stand-in for the gate's admin API: /admin/status says `shardThreshold`, the switch answers
 * 200, DELETE …/staged answers `discard` (status and body); every request is recorded.
 */
async function standInGate(opts: {
  shardThreshold: number | null;
  discard?: { status: number; body: unknown };
}): Promise<{ gate: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    if (req.url === "/admin/status") return json(200, { pdq: { shardThreshold: opts.shardThreshold } });
    if (req.method === "DELETE") return json(opts.discard?.status ?? 404, opts.discard?.body ?? {});
    return json(200, { list: { version: 1 } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  after(() => server.close());
  return { gate: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** The list's history (`versions --json`). */
async function history(id: string): Promise<{ kind: string; version: number; stagedAt?: string }[]> {
  const r = await hashgate(["versions", id, "--json", ...local]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out);
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
  const { gate, seen } = await standInGate({ shardThreshold: 4 });
  const file = pdqDelta("g.delta", 4);
  const args = ["import", "--list", "gated", "--delta", "--gate", gate, file, ...local];
  const noToken = await hashgate(args, { HASHGATE_ADMIN_TOKEN: "" });
  assert.equal(noToken.code, 1);
  assert.match(noToken.err, /--gate needs the admin token in HASHGATE_ADMIN_TOKEN/);
  assert.equal(seen.length, 0);
  const r = await hashgate(args, { HASHGATE_ADMIN_TOKEN: "test-admin-token" });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /gated: version 1 staged, shard objects built by the gate, switched/);
  assert.deepEqual(seen, [
    { method: "GET", url: "/admin/status", auth: "Bearer test-admin-token" },
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

test("discard-staged (KV through wrangler): the version and its data go, history says so, a new import proceeds", async () => {
  await created("dropped");
  const r = await hashgate([
    "import",
    "--list",
    "dropped",
    "--delta",
    "--shard-threshold",
    "3",
    pdqDelta("d.delta", 3),
    ...local,
  ]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /staged version 1/);
  // Staged, not served: no history line yet.
  assert.deepEqual(await history("dropped"), []);
  const shard = ["kv", "key", "get", "lists/dropped/v/1/pdq/0", "--binding", "HASHES", ...local];
  assert.notEqual((await wrangler(shard)).out, "Value not found\n");

  const d = await hashgate(["discard-staged", "dropped", ...local]);
  assert.equal(d.code, 0, d.err);
  assert.match(
    d.out,
    /^dropped: staged version 1 discarded \(\d+ keys of its data deleted\); the list takes a new publish/m,
  );
  assert.equal((await wrangler(shard)).out, "Value not found\n");
  assert.deepEqual(
    (await history("dropped")).map((h) => `${h.kind} v${h.version}`),
    ["discard v1"],
  );
  const human = await hashgate(["versions", "dropped", ...local]);
  assert.match(human.out, /\tdiscard\tv1 \(staged \S+, never served; v0 kept\)\t/);
  const none = await hashgate(["discard-staged", "dropped", ...local]);
  assert.equal(none.code, 1);
  assert.match(none.err, /no staged version/);

  const next = await hashgate([
    "import",
    "--list",
    "dropped",
    "--delta",
    "--switch-now",
    pdqDelta("d2.delta", 2),
    ...local,
  ]);
  assert.equal(next.code, 0, next.err);
  assert.match(next.out, /^dropped: published version 2 \(from 0\)/m);
  assert.equal(await version("dropped"), 2);
  assert.deepEqual(
    (await history("dropped")).map((h) => `${h.kind} v${h.version}`),
    ["discard v1", "publish v2"],
  );
});

test("discard-staged --gate: the gate discards (DELETE /admin/lists/:id/staged); a refusal is one line, exit 1", async () => {
  const body = {
    discarded: { id: "x", version: 3, kind: "publish", stagedAt: "2026-11-30T00:00:00Z" },
    deletedKeys: 4,
    releasedObjects: 2,
  };
  const ok = await standInGate({ shardThreshold: 4, discard: { status: 200, body } });
  const env = { HASHGATE_ADMIN_TOKEN: "test-admin-token" };
  const r = await hashgate(["discard-staged", "x", "--gate", ok.gate, ...local], env);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /x: staged version 3 discarded by the gate \(4 keys of its data deleted, 2 shard object indexes freed\)/,
  );
  assert.deepEqual(ok.seen, [
    { method: "DELETE", url: "/admin/lists/x/staged", auth: "Bearer test-admin-token" },
  ]);

  const message = "list x: version 3 is switched in (or being switched): not discarded";
  const busy = await standInGate({
    shardThreshold: 4,
    discard: { status: 409, body: { error: "conflict", message } },
  });
  const refused = await hashgate(["discard-staged", "x", "--gate", busy.gate, ...local], env);
  assert.equal(refused.code, 1);
  assert.match(refused.err, /x: not discarded \(list x: version 3 is switched in/);
});

test("with --gate the shard threshold is the gate's: a contradicting --shard-threshold is refused before anything is written", async () => {
  await created("gatethreshold");
  const env = { HASHGATE_ADMIN_TOKEN: "test-admin-token" };
  const g = await standInGate({ shardThreshold: 3 });
  const file = pdqDelta("gt.delta", 3);
  const args = ["import", "--list", "gatethreshold", "--delta", "--gate", g.gate, file, ...local];
  const bad = await hashgate([...args, "--shard-threshold", "5"], env);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /--shard-threshold 5 contradicts the gate's PDQ_SHARD_THRESHOLD \(3\)/);
  assert.deepEqual(
    g.seen.map((s) => `${s.method} ${s.url}`),
    ["GET /admin/status"],
  );
  assert.equal(await version("gatethreshold"), 0);
  assert.deepEqual(await history("gatethreshold"), []);

  // Without the flag, 3 hashes reach the gate's threshold of 3: staged, then switched by the gate.
  const r = await hashgate(args, env);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^gatethreshold: staged version 1/m);
  assert.deepEqual(g.seen.map((s) => `${s.method} ${s.url}`).slice(1), [
    "GET /admin/status",
    "POST /admin/lists/gatethreshold/switch",
  ]);

  // A gate without shard objects searches every list in its isolates: nothing is staged.
  await created("noshards");
  const plain = await standInGate({ shardThreshold: null });
  const p = await hashgate(
    ["import", "--list", "noshards", "--delta", "--gate", plain.gate, pdqDelta("ns.delta", 3), ...local],
    env,
  );
  assert.equal(p.code, 0, p.err);
  assert.match(p.out, /^noshards: published version 1/m);
  assert.equal(await version("noshards"), 1);
});

test("without --gate the shard threshold is wrangler.toml's [vars] PDQ_SHARD_THRESHOLD; --shard-threshold over it warns", async () => {
  // A project directory of its own: wrangler (and the CLI) read wrangler.toml from the working directory.
  const project = mkdtempSync(join(tmpdir(), "hashgate-toml-"));
  after(() => rmSync(project, { recursive: true, force: true }));
  writeFileSync(
    join(project, "wrangler.toml"),
    `name = "t"\n[vars]\nPDQ_SHARD_THRESHOLD = "3"\n\n[[kv_namespaces]]\nbinding = "HASHES"\nid = "00000000000000000000000000000000"\n`,
  );
  const here = { cwd: project };
  const create = ["create", "tomlt", ...TERMS, "--allowed-uses", "block", "--action", "block", ...local];
  assert.equal((await hashgate(create, {}, here)).code, 0);
  const staged = await hashgate(
    ["import", "--list", "tomlt", "--delta", pdqDelta("t.delta", 3), ...local],
    {},
    here,
  );
  assert.equal(staged.code, 0, staged.err);
  assert.match(staged.out, /^tomlt: staged version 1/m);
  assert.doesNotMatch(staged.err, /shard-threshold/);
  assert.equal((await hashgate(["discard-staged", "tomlt", ...local], {}, here)).code, 0);

  const over = await hashgate(
    ["import", "--list", "tomlt", "--delta", "--shard-threshold", "4", pdqDelta("t2.delta", 3), ...local],
    {},
    here,
  );
  assert.equal(over.code, 0, over.err);
  assert.match(
    over.err,
    /warning: --shard-threshold 4 differs from PDQ_SHARD_THRESHOLD 3 in .*wrangler\.toml \[vars\]; using 4/,
  );
  assert.match(over.out, /^tomlt: published version 2/m);
});
