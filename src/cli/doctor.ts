/**
 * `hashgate doctor --env NAME`: is this environment ready to deploy and run? Reads the Wrangler
 * configuration (offline checks, `doctor-checks.ts`), then asks the account through wrangler:
 * secrets set, D1 migrations applied, an active hash list. `--offline` stops after the first
 * part (what `npm run check:deploy` runs). Exit 1 when any check fails.
 */
import { execFile } from "node:child_process";
import { parseArgs } from "node:util";
import { readManifest } from "../lists/layout.ts";
import { activeLists } from "../lists/manifest.ts";
import { type Check, configChecks, type DeployConfig, formatChecks, secretChecks } from "./doctor-checks.ts";
import { WranglerStore, wranglerBin } from "./wrangler-kv.ts";

const USAGE = `usage: hashgate doctor --env NAME [--offline] [--template] [--config wrangler.toml] [--json]

  --env NAME    the environment of wrangler.toml to check ("" or omitted: the top level)
  --offline     configuration only: no account, no network (npm run check:deploy)
  --template    the repository's own template: placeholder ids and example routes only warn`;

function wrangler(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [wranglerBin(), ...args],
      {
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0", NO_COLOR: "1" },
        maxBuffer: 1 << 24,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(firstLine(stderr) || firstLine(stdout) || err.message));
        else resolve(stdout);
      },
    );
  });
}

/** The first meaningful line of wrangler's output: one clear line, not a stack trace. */
function firstLine(text: string): string {
  return (
    text
      // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
      .replace(/\x1b\[[0-9;]*m/g, "")
      .split("\n")
      .map((l) => l.replace(/^[\s✘▲X]*\[?(ERROR|WARNING)\]?\s*/i, "").trim())
      .find((l) => l !== "" && !l.startsWith("⛅") && !/^─+$/.test(l)) ?? ""
  );
}

const NOT_LOGGED_IN = /CLOUDFLARE_API_TOKEN|not logged in|wrangler login/i;

async function accountChecks(env: string, vars: Record<string, unknown>): Promise<Check[]> {
  const envArgs = env ? ["--env", env] : [];
  const out: Check[] = [];
  try {
    const listed = JSON.parse(await wrangler(["secret", "list", "--format", "json", ...envArgs])) as {
      name: string;
    }[];
    out.push(...secretChecks(vars, new Set(listed.map((s) => s.name))));
  } catch (e) {
    const message = (e as Error).message;
    if (NOT_LOGGED_IN.test(message)) {
      // Every other account check would fail the same way: say it once.
      out.push({
        name: "account",
        level: "error",
        detail:
          "wrangler is not logged in (npx wrangler login, or set CLOUDFLARE_API_TOKEN): secrets, migrations and lists not checked",
      });
      return out;
    }
    out.push({ name: "secrets", level: "error", detail: `could not list secrets: ${message}` });
  }
  try {
    const text = await wrangler(["d1", "migrations", "list", "DB", "--remote", ...envArgs]);
    if (/No migrations to apply/i.test(text))
      out.push({ name: "D1 migrations", level: "ok", detail: "all applied" });
    else {
      const pending = [...text.matchAll(/(\d{4}_[\w-]+\.sql)/g)].map((m) => m[1]);
      out.push({
        name: "D1 migrations",
        level: "error",
        detail: `not applied: ${pending.join(", ") || "some"} (npx wrangler d1 migrations apply DB --remote ${envArgs.join(" ")})`,
      });
    }
  } catch (e) {
    out.push({ name: "D1 migrations", level: "error", detail: `could not list: ${(e as Error).message}` });
  }
  const store = new WranglerStore({ mode: "remote", binding: "HASHES", ...(env ? { env } : {}) });
  try {
    const manifest = await readManifest(store);
    const active = activeLists(manifest, new Date());
    out.push(
      active.length
        ? {
            name: "hash lists",
            level: "ok",
            detail: `${active.length} active: ${active.map((l) => `${l.id} v${l.version}`).join(", ")}`,
          }
        : {
            name: "hash lists",
            level: "error",
            detail: `no active list (${manifest.lists.length} defined): every upload would pass unchecked (hashgate lists create/import)`,
          },
    );
  } catch (e) {
    out.push({
      name: "hash lists",
      level: "error",
      detail: `could not read the manifest: ${(e as Error).message}`,
    });
  } finally {
    store.close();
  }
  return out;
}

export async function run(args: string[]): Promise<number> {
  let v: {
    env?: string;
    offline?: boolean;
    template?: boolean;
    config?: string;
    json?: boolean;
    help?: boolean;
  };
  try {
    v = parseArgs({
      args,
      options: {
        env: { type: "string" },
        offline: { type: "boolean" },
        template: { type: "boolean" },
        config: { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    console.error(`hashgate doctor: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (v.help) {
    console.error(USAGE);
    return 0;
  }
  const env = v.env ?? "";
  const { unstable_readConfig } = await import("wrangler");
  let config: DeployConfig;
  try {
    config = unstable_readConfig(
      { config: v.config ?? "wrangler.toml", ...(env ? { env } : {}) },
      { hideWarnings: true },
    ) as unknown as DeployConfig;
  } catch (e) {
    console.error(`hashgate doctor: ${firstLine((e as Error).message)}`);
    return 1;
  }
  const checks = configChecks(config, { env, template: v.template ?? false });
  if (!v.offline) checks.push(...(await accountChecks(env, config.vars)));
  const failed = checks.filter((c) => c.level === "error").length;
  if (v.json) console.log(JSON.stringify({ env, checks, failed }, null, 2));
  else {
    console.log(
      formatChecks(
        `hashgate doctor: ${env ? `environment ${env}` : "top level"}${v.offline ? " (offline)" : ""}`,
        checks,
      ),
    );
    console.log(failed ? `  ${failed} check(s) failed` : "  ready");
  }
  return failed ? 1 : 0;
}
