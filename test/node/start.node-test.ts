/**
 * `npm start` end to end: the gate comes up behind its banner, forwards a clean upload to the
 * demo origin, and on SIGTERM stops everything it started — no port stays open.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { connect } from "node:net";
import { test } from "node:test";

const READY_TIMEOUT_MS = 240_000;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function waitClosed(port: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await portOpen(port))) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

test("npm start serves the gate and stops cleanly on SIGTERM", {
  timeout: READY_TIMEOUT_MS + 60_000,
}, async () => {
  const gatePort = 21000 + Math.floor(Math.random() * 9000);
  const originPort = gatePort + 10000;
  const child = spawn(process.execPath, ["scripts/dev.ts"], {
    env: { ...process.env, PORT: String(gatePort), DEMO_ORIGIN_PORT: String(originPort), ORIGIN_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  try {
    const ready = await Promise.race([
      new Promise<boolean>((resolve) => {
        const t = setInterval(() => {
          if (out.includes("hashgate is running")) {
            clearInterval(t);
            resolve(true);
          }
        }, 100);
        exited.then(() => {
          clearInterval(t);
          resolve(false);
        });
      }),
      new Promise<boolean>((r) => setTimeout(() => r(false), READY_TIMEOUT_MS).unref()),
    ]);
    assert.ok(ready, `no banner; output:\n${out.slice(-3000)}`);
    assert.match(out, new RegExp(`http://127\\.0\\.0\\.1:${gatePort}/review`));
    const res = await fetch(`http://127.0.0.1:${gatePort}/upload`, {
      method: "POST",
      body: "hello from the start test",
    });
    assert.equal(res.status, 200);
    const record = (await res.json()) as { origin: string; size: number };
    assert.equal(record.origin, "hashgate demo origin");
    assert.equal(record.size, 25);
    // The banner's one-time sign-in link opens a session once, as a reviewer here.
    const link = new RegExp(`(http://127\\.0\\.0\\.1:${gatePort}/review/signin\\?code=[\\w-]+)`).exec(
      out,
    )?.[1];
    assert.ok(link, "no sign-in link in the banner");
    const signin = await fetch(`${link}&role=reviewer`, { redirect: "manual" });
    assert.equal(signin.status, 303);
    const cookie = /hg_session=[0-9a-f]{64}/.exec(signin.headers.get("set-cookie") ?? "")?.[0];
    assert.ok(cookie, "no session cookie");
    const queue = await fetch(`http://127.0.0.1:${gatePort}/review`, { headers: { cookie } });
    assert.equal(queue.status, 200);
    assert.match(await queue.text(), /local-reviewer@localhost \(reviewer\)/);
    assert.equal((await fetch(link, { redirect: "manual" })).status, 403, "the code worked twice");
    assert.doesNotMatch(out, /^\s+at .+\(.+:\d+:\d+\)$/m, "a stack trace was printed");
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0);
  assert.ok(await waitClosed(gatePort, 10_000), "the gate's port stayed open after SIGTERM");
  assert.ok(await waitClosed(originPort, 10_000), "the demo origin's port stayed open after SIGTERM");
});
