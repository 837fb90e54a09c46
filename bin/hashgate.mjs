#!/usr/bin/env node
// Entry point of the `hashgate` command. The CLI is TypeScript run by Node's type stripping (Node >= 22.18).
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `hashgate needs Node >= 22.18 (this is ${process.version}). Run it through npx or npm scripts, which use the Node 22 that npm install puts in node_modules/.bin.`,
  );
  process.exit(2);
}
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
