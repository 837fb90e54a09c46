// Runs before `npm start`: installs dependencies when node_modules is missing or older than
// package-lock.json, so a fresh clone needs only `npm start`. Plain JS: it may run on Node 20.
import { execSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const marker = "node_modules/.package-lock.json";
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync("package-lock.json").mtimeMs;
if (stale) {
  console.log("hashgate: installing dependencies (npm ci)…");
  execSync("npm ci --no-audit --no-fund", { stdio: "inherit" });
}
