/**
 * Wire-level framing attacks against the gate running in workerd (Miniflare on 127.0.0.1, the
 * bundle bench/ builds), sent as raw bytes on a TCP socket: Content-Length with
 * Transfer-Encoding, duplicate or obfuscated framing headers, a pipelined second request hidden
 * in a body, oversized headers, an absolute-form request line. The rule: the origin never sees
 * a listed body and never a request on a path other than the one the gate scanned.
 * Bytes are random TEST DATA; their digests form the test list. Run: npm run test:node
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { seedBenchList } from "../../bench/lib/bench-list.ts";
import { buildWorker, type GateRuntime, removeBuild, startGate } from "../../bench/lib/gate-runtime.ts";
import { type Origin, startOrigin } from "../../bench/lib/origin.ts";

const LISTED = randomBytes(4096);
const CLEAN = randomBytes(2048);
let gate: GateRuntime;
let origin: Origin;
let build: ReturnType<typeof buildWorker>;

before(async () => {
  build = buildWorker(join(import.meta.dirname, "../.."));
  origin = await startOrigin();
  gate = await startGate(join(import.meta.dirname, "../.."), build, { ORIGIN_URL: origin.url });
  await seedBenchList(gate.kvPut, LISTED, 0);
});

after(async () => {
  await gate?.stop();
  await origin?.stop();
  if (build) removeBuild(build);
});

/** Sends raw bytes, returns every status line the server answered before closing (or 3 s). */
function raw(bytes: Buffer): Promise<string[]> {
  const { port } = new URL(gate.url);
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host: "127.0.0.1", port: Number(port) });
    const done = () => {
      sock.destroy();
      resolve(
        [
          ...Buffer.concat(chunks)
            .toString("latin1")
            .matchAll(/HTTP\/1\.[01] (\d{3})/g),
        ].map((m) => m[1]!),
      );
    };
    const timer = setTimeout(done, 3_000);
    sock.on("data", (c) => chunks.push(c));
    sock.on("close", () => {
      clearTimeout(timer);
      done();
    });
    sock.on("error", () => undefined);
    sock.end(bytes);
  });
}

function chunked(body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]);
}

/** Paths of listed uploads must never reach the origin. */
async function originSaw(prefix: string): Promise<number> {
  const stats = await origin.stats();
  return Object.entries(stats)
    .filter(([p]) => p.startsWith(prefix))
    .reduce((n, [, s]) => n + s.requests, 0);
}

const head = (path: string, lines: string[]) =>
  Buffer.from(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n`);

test("a clean upload on the wire reaches the origin (control)", async () => {
  const st = await raw(
    Buffer.concat([head("/wire/clean", [`Content-Length: ${CLEAN.length}`, "Connection: close"]), CLEAN]),
  );
  assert.equal(st[0], "200");
  assert.equal(await originSaw("/wire/clean"), 1);
});

const CASES: [string, () => Buffer][] = [
  [
    "CL + TE chunked",
    () =>
      Buffer.concat([head("/wire/l1", ["Content-Length: 4", "Transfer-Encoding: chunked"]), chunked(LISTED)]),
  ],
  [
    "TE chunked + CL (reversed)",
    () =>
      Buffer.concat([head("/wire/l2", ["Transfer-Encoding: chunked", "Content-Length: 4"]), chunked(LISTED)]),
  ],
  [
    "duplicate Content-Length, different values",
    () =>
      Buffer.concat([head("/wire/l3", ["Content-Length: 4", `Content-Length: ${LISTED.length}`]), LISTED]),
  ],
  [
    "Content-Length list",
    () => Buffer.concat([head("/wire/l4", [`Content-Length: 4, ${LISTED.length}`]), LISTED]),
  ],
  [
    "TE with obfuscation",
    () =>
      Buffer.concat([
        head("/wire/l5", ["Transfer-Encoding: xchunked", `Content-Length: ${LISTED.length}`]),
        LISTED,
      ]),
  ],
  [
    "TE: chunked, identity",
    () => Buffer.concat([head("/wire/l6", ["Transfer-Encoding: chunked, identity"]), chunked(LISTED)]),
  ],
  ["TE with tab", () => Buffer.concat([head("/wire/l7", ["Transfer-Encoding:\tchunked"]), chunked(LISTED)])],
  [
    "pipelined request hidden after CL: 0",
    () =>
      Buffer.concat([
        head("/wire/carrier8", ["Content-Length: 0"]),
        head("/wire/l8b", [`Content-Length: ${LISTED.length}`]),
        LISTED,
      ]),
  ],
  [
    "smuggled request in a chunked body after the 0 chunk",
    () =>
      Buffer.concat([
        head("/wire/carrier9", ["Transfer-Encoding: chunked", "Content-Length: 60"]),
        Buffer.from("0\r\n\r\n"),
        head("/wire/l9b", [`Content-Length: ${LISTED.length}`]),
        LISTED,
      ]),
  ],
  [
    "absolute-form request line",
    () =>
      Buffer.concat([
        Buffer.from(
          `POST http://attacker.example/wire/l10 HTTP/1.1\r\nHost: attacker.example\r\nContent-Length: ${LISTED.length}\r\n\r\n`,
        ),
        LISTED,
      ]),
  ],
  [
    "oversized header",
    () =>
      Buffer.concat([
        head("/wire/l11", [`X-Pad: ${"a".repeat(256 * 1024)}`, `Content-Length: ${LISTED.length}`]),
        LISTED,
      ]),
  ],
];

for (const [name, make] of CASES) {
  test(`wire: ${name}: no listed body reaches the origin`, async () => {
    const statuses = await raw(make());
    // Whatever the runtime answers (400, 431, 451, a closed socket), a 2xx is never one of them
    // for a request carrying the listed body.
    assert.equal(await originSaw("/wire/l"), 0, `origin saw a listed upload (${name}): ${statuses}`);
    // A carrier request may be forwarded, but only with its own (empty) body, never the listed one.
    for (const [path, s] of Object.entries(await origin.stats()))
      if (path.startsWith("/wire/carrier")) assert.equal(s.bytes, 0, `${path} carried ${s.bytes} bytes`);
    console.log(`  ${name}: ${statuses.join(",") || "connection closed, no answer"}`);
  });
}

// Issue 10: bodies on methods other than POST/PUT/PATCH, as sent on the wire (fetch cannot
// build a GET with a body; a client on a socket can).
const METHOD_CASES: [string, string, Buffer][] = [
  ["GET", `Content-Length: ${LISTED.length}`, LISTED],
  ["GET", "Transfer-Encoding: chunked", chunked(LISTED)],
  ["HEAD", `Content-Length: ${LISTED.length}`, LISTED],
  ["DELETE", "Transfer-Encoding: chunked", chunked(LISTED)],
  ["PROPFIND", `Content-Length: ${LISTED.length}`, LISTED],
  ["QUERY", `Content-Length: ${LISTED.length}`, LISTED],
];

for (const [i, [method, framing, body]] of METHOD_CASES.entries()) {
  test(`wire: ${method} with a listed body (${framing.split(":")[0]}): no listed byte reaches the origin`, async () => {
    const path = `/wire/m${i}`;
    const request = Buffer.from(
      `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${framing}\r\nConnection: close\r\n\r\n`,
    );
    const statuses = await raw(Buffer.concat([request, body]));
    for (const [p, s] of Object.entries(await origin.stats())) {
      if (p.startsWith(path))
        assert.equal(s.bytes, 0, `${method} ${p} carried ${s.bytes} bytes (${statuses})`);
    }
    // Scanned and blocked as any upload: the listed body is not merely dropped.
    assert.equal(statuses[0], "451", `${method} ${framing}: ${statuses}`);
    console.log(`  ${method} ${framing}: ${statuses.join(",")}`);
  });
}
