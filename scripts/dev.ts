/**
 * `npm start`: the whole gate on this machine. Applies the D1 migrations to the local state,
 * loads the demo list into local KV (keyed with HASHGATE_LIST_KEY or the public development key,
 * which it also gives the Worker as LIST_KEY), starts the demo origin (unless ORIGIN_URL is set) and runs
 * `wrangler dev` on http://127.0.0.1:8787 with local KV, Queues, D1 and R2 (.wrangler/state).
 * Ctrl-C or SIGTERM stops everything it started: wrangler and its workerd run in their own
 * process group, which is signalled whole, and the demo origin closes its port.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { startDemoOrigin } from "../demo/origin.ts";
import { DEV_LIST_KEY } from "../src/cli/node-list-key.ts";

const GATE_PORT = Number(process.env.PORT ?? 8787);
const ORIGIN_PORT = Number(process.env.DEMO_ORIGIN_PORT ?? 8788);
/** How long wrangler and workerd get to exit after the first signal before they are killed. */
const STOP_GRACE_MS = 5_000;
// The lists' secret: HASHGATE_LIST_KEY if set, else the public development key; the CLI's
// `--local` uses the same, so the demo list it loads is readable by this local Worker.
const listKey = process.env.HASHGATE_LIST_KEY || DEV_LIST_KEY;
// HASHGATE_STATE_DIR: the local state somewhere else than .wrangler/state (wrangler's
// --persist-to), so a benchmark's cases and evidence stay out of the developer's review queue.
const persist = process.env.HASHGATE_STATE_DIR ? ["--persist-to", process.env.HASHGATE_STATE_DIR] : [];
const extraVars = devVars(process.env.HASHGATE_DEV_VARS ?? "");
const env = {
  // Offline machines: Miniflare would try to download the Request.cf object and print a stack trace.
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  HASHGATE_LIST_KEY: listKey,
};

/**
 * HASHGATE_DEV_VARS: settings for the local Worker on top of wrangler.toml's [vars], as
 * "NAME=value" words separated by spaces (e.g. "SCAN_PATHS=/upload/*"), given as --var.
 */
function devVars(spec: string): string[] {
  const args: string[] = [];
  for (const word of spec.split(/\s+/).filter((w) => w !== "")) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(word);
    if (!m) {
      console.error(`hashgate: HASHGATE_DEV_VARS: "${word}" is not NAME=value`);
      process.exit(2);
    }
    args.push("--var", `${m[1]}:${m[2]}`);
  }
  return args;
}

function step(what: string, cmd: string, args: string[]): void {
  console.log(`hashgate: ${what}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", env });
  if (r.status !== 0) {
    console.error(`hashgate: ${what} failed (${cmd} ${args.join(" ")})`);
    process.exit(r.status ?? 1);
  }
}

/** Newest modification time of the files below `dir` (0 for none). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The core is built by `npm ci` (prepare); build again only when its sources changed since. */
function wasmIsCurrent(): boolean {
  const out = "wasm/build/core.wasm";
  return (
    existsSync(out) &&
    statSync(out).mtimeMs >= Math.max(newest("wasm/assembly"), statSync("wasm/asconfig.json").mtimeMs)
  );
}

if (wasmIsCurrent()) console.log("hashgate: WebAssembly core is up to date");
else step("building the WebAssembly core", "npm", ["run", "--silent", "build:wasm"]);
step("applying D1 migrations (local)", "npx", [
  "wrangler",
  "d1",
  "migrations",
  "apply",
  "DB",
  "--local",
  ...persist,
]);
step("loading the demo list (local)", "npx", ["hashgate", "lists", "demo", "--local", ...persist]);

let stopOrigin: (() => Promise<void>) | null = null;
let originUrl = process.env.ORIGIN_URL ?? "";
if (originUrl === "") {
  stopOrigin = await startDemoOrigin(ORIGIN_PORT);
  originUrl = `http://127.0.0.1:${ORIGIN_PORT}`;
  console.log(`hashgate: demo origin on ${originUrl}`);
} else {
  console.log(`hashgate: forwarding to ORIGIN_URL=${originUrl} (no demo origin)`);
}

// Local sign-in (src/auth/local-signin.ts): a one-time code for this run, valid for an hour.
// Only here is LOCAL_SIGNIN set; the Worker refuses it off loopback or when Access is configured.
const signinCode = randomBytes(24).toString("base64url");
const signinExpires = new Date(Date.now() + 60 * 60 * 1000).toISOString();
const wrangler = spawn(
  "npx",
  [
    "wrangler",
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(GATE_PORT),
    "--var",
    `ORIGIN_URL:${originUrl}`,
    "--var",
    `LIST_KEY:${listKey}`,
    "--var",
    "LOCAL_SIGNIN:true",
    "--var",
    `LOCAL_SIGNIN_CODE:${signinCode}`,
    "--var",
    `LOCAL_SIGNIN_EXPIRES:${signinExpires}`,
    ...extraVars,
    ...persist,
  ],
  // Its own process group: npx, wrangler and workerd are signalled together on stop.
  { stdio: ["inherit", "pipe", "inherit"], env, detached: true },
);

const gateUrl = `http://127.0.0.1:${GATE_PORT}`;
let bannerShown = false;
wrangler.stdout.on("data", (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (!bannerShown && /Ready on/i.test(chunk.toString())) {
    bannerShown = true;
    console.log(banner());
  }
});

/** What a new user needs on one screen: where the gate, review and admin are, and how to sign in. */
function banner(): string {
  const lines = [
    "",
    "  hashgate is running",
    `    gate (upload here)  ${gateUrl}/upload`,
    `    review UI           ${gateUrl}/review`,
    `    sign in (once, 1 h) ${gateUrl}/review/signin?code=${signinCode}`,
    "                        (as admin; add &role=reviewer or &role=viewer for another role)",
    `    admin API           ${gateUrl}/admin/status`,
    `    origin              ${originUrl}`,
    "  try:",
    `    curl -F "file=@demo/clean/stripes.png" ${gateUrl}/upload     # forwarded`,
    `    curl -F "file=@demo/blocked/gradient.png" ${gateUrl}/upload   # blocked (451)`,
    "  local secrets (ADMIN_TOKEN, REVIEW_API_TOKENS, …) go in .dev.vars: see the README.",
    "  Ctrl-C stops the gate and the demo origin.",
    "",
  ];
  return lines.join("\n");
}

let stopping = false;
function stop(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  console.log(`\nhashgate: stopping (${signal})`);
  signalGroup("SIGTERM");
  setTimeout(() => signalGroup("SIGKILL"), STOP_GRACE_MS).unref();
}

function signalGroup(signal: NodeJS.Signals): void {
  if (wrangler.pid === undefined) return;
  try {
    process.kill(-wrangler.pid, signal);
  } catch {}
}

process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
wrangler.on("exit", async (code, signal) => {
  // npx may exit before workerd: make sure nothing of the group outlives us.
  signalGroup("SIGKILL");
  await stopOrigin?.();
  process.exit(stopping ? 0 : (code ?? (signal ? 1 : 0)));
});
