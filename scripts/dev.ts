/**
 * `npm start`: the whole gate on this machine. Applies the D1 migrations to the local state,
 * loads the demo list into local KV (keyed with HASHGATE_LIST_KEY or the public development key,
 * which it also gives the Worker as LIST_KEY), starts the demo origin (unless ORIGIN_URL is set) and runs
 * `wrangler dev` on http://127.0.0.1:8787 with local KV, Queues, D1 and R2 (.wrangler/state).
 */
import { spawn, spawnSync } from "node:child_process";
import { startDemoOrigin } from "../demo/origin.ts";
import { DEV_LIST_KEY } from "../src/cli/node-list-key.ts";

const GATE_PORT = Number(process.env.PORT ?? 8787);
const ORIGIN_PORT = Number(process.env.DEMO_ORIGIN_PORT ?? 8788);
// The lists' secret: HASHGATE_LIST_KEY if set, else the public development key; the CLI's
// `--local` uses the same, so the demo list it loads is readable by this local Worker.
const listKey = process.env.HASHGATE_LIST_KEY || DEV_LIST_KEY;
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", HASHGATE_LIST_KEY: listKey };

function step(what: string, cmd: string, args: string[]): void {
  console.log(`hashgate: ${what}`);
  const r = spawnSync(cmd, args, { stdio: "inherit", env });
  if (r.status !== 0) {
    console.error(`hashgate: ${what} failed (${cmd} ${args.join(" ")})`);
    process.exit(r.status ?? 1);
  }
}

step("building the WebAssembly core", "npm", ["run", "--silent", "build:wasm"]);
step("applying D1 migrations (local)", "npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"]);
step("loading the demo list (local)", "npx", ["hashgate", "lists", "demo", "--local"]);

let stopOrigin: (() => Promise<void>) | null = null;
let originUrl = process.env.ORIGIN_URL ?? "";
if (originUrl === "") {
  stopOrigin = await startDemoOrigin(ORIGIN_PORT);
  originUrl = `http://127.0.0.1:${ORIGIN_PORT}`;
  console.log(`hashgate: demo origin on ${originUrl}`);
} else {
  console.log(`hashgate: forwarding to ORIGIN_URL=${originUrl} (no demo origin)`);
}

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
  ],
  { stdio: "inherit", env },
);
const stop = () => wrangler.kill("SIGINT");
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
wrangler.on("exit", async (code) => {
  await stopOrigin?.();
  process.exit(code ?? 0);
});
