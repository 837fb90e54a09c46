/**
 * `hashgate allow-list list|revoke`: the allow-list entries in D1 (per file, per list; see
 * src/cases/allow-list.ts), through `wrangler d1 execute` like the lists CLI's audit rows.
 * The admin API (`GET /admin/allow-list`, `POST /admin/allow-list/:id/revoke`) does the same
 * over HTTP with an admin token.
 */
import { execFile } from "node:child_process";
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import { auditFromCli } from "./lists-audit.ts";
import { type WranglerTarget, wranglerBin } from "./wrangler-kv.ts";

const USAGE = `usage: hashgate allow-list <command> [options] (--local | --remote [--env NAME])

  list [--list ID] [--revoked] [--limit N]   entries, newest first (revoked ones with --revoked)
  revoke ID                                  revoke entry ID: its list's hits on that file count again

common: --db DB (D1 binding, default DB)  --persist-to DIR  --actor NAME  --json`;

const OPTIONS = {
  local: { type: "boolean" },
  remote: { type: "boolean" },
  env: { type: "string" },
  db: { type: "string", default: "DB" },
  "persist-to": { type: "string" },
  actor: { type: "string" },
  json: { type: "boolean" },
  list: { type: "string" },
  revoked: { type: "boolean" },
  limit: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** The SELECT behind `list`. */
export function listStatement(o: { listId?: string; revoked?: boolean; limit?: number }): string {
  const where = [
    ...(o.listId ? [`list_id = ${sql(o.listId)}`] : []),
    ...(o.revoked ? [] : ["revoked_at IS NULL"]),
  ];
  const limit = Math.min(Math.max(Math.trunc(o.limit ?? 100), 1), 1000);
  return `SELECT id, list_id, algo, digest, cancels_exact, case_id, file_index, added_by, added_at, reason, revoked_at, revoked_by FROM allow_entries${
    where.length ? ` WHERE ${where.join(" AND ")}` : ""
  } ORDER BY id DESC LIMIT ${limit}`;
}

/** The UPDATE behind `revoke` (the id is checked to be a positive integer first). */
export function revokeStatement(id: number, actor: string, at = new Date().toISOString()): string {
  if (!Number.isSafeInteger(id) || id <= 0) throw new Error("entry id must be a positive integer");
  return `UPDATE allow_entries SET revoked_at = ${sql(at)}, revoked_by = ${sql(actor)} WHERE id = ${id} AND revoked_at IS NULL RETURNING id, list_id, algo`;
}

/** Rows of the one statement in `wrangler d1 execute --json` output. */
export function rowsOf(stdout: string): Record<string, unknown>[] {
  const parsed = JSON.parse(stdout) as { results?: Record<string, unknown>[] }[];
  return parsed[0]?.results ?? [];
}

export function d1(t: WranglerTarget, db: string, statement: string): Promise<Record<string, unknown>[]> {
  const args = [wranglerBin(), "d1", "execute", db, `--${t.mode}`, "--json", "--command", statement];
  if (t.env) args.push("--env", t.env);
  if (t.persistTo) args.push("--persist-to", t.persistTo);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      { env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`wrangler d1 execute failed: ${stderr.trim() || err.message}`));
        else {
          try {
            resolve(rowsOf(stdout));
          } catch (e) {
            reject(e);
          }
        }
      },
    );
  });
}

export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const [cmd, arg] = positionals;
  if (v.help || !cmd) {
    console.error(USAGE);
    return v.help ? 0 : 2;
  }
  if (v.local === v.remote) {
    console.error(`say where: --local or --remote\n${USAGE}`);
    return 2;
  }
  const t: WranglerTarget = {
    mode: v.local ? "local" : "remote",
    binding: "HASHES",
    ...(v.env ? { env: v.env } : {}),
    ...(v["persist-to"] ? { persistTo: v["persist-to"] } : {}),
  };
  const db = v.db ?? "DB";
  try {
    if (cmd === "list") {
      const rows = await d1(
        t,
        db,
        listStatement({
          ...(v.list ? { listId: v.list } : {}),
          revoked: v.revoked === true,
          ...(v.limit ? { limit: Number(v.limit) } : {}),
        }),
      );
      if (v.json) console.log(JSON.stringify(rows, null, 2));
      else if (rows.length === 0) console.log("no entries");
      else
        for (const r of rows)
          console.log(
            `${r.id}\t${r.list_id}\t${r.algo}:${r.digest}\t${r.cancels_exact ? "cancels exact" : "PDQ only"}\tcase ${r.case_id ?? "-"} file ${r.file_index ?? "-"}\t${r.added_by} ${r.added_at}${r.revoked_at ? `\trevoked ${r.revoked_at} by ${r.revoked_by}` : ""}`,
          );
      return 0;
    }
    if (cmd === "revoke") {
      const id = Number(arg);
      const actor = v.actor ?? `cli:${userInfo().username}`;
      const rows = await d1(t, db, revokeStatement(id, actor));
      if (rows.length === 0) {
        console.error(`no active allow-list entry ${arg}`);
        return 1;
      }
      await auditFromCli(
        t,
        { actor, action: "allowlist.revoke", subject: `allow:${id}`, detail: { ...rows[0] } },
        db,
      );
      console.log(v.json ? JSON.stringify(rows[0]) : `revoked entry ${id}`);
      return 0;
    }
    console.error(`unknown command ${cmd}\n${USAGE}`);
    return 2;
  } catch (e) {
    console.error(`hashgate allow-list: ${(e as Error).message}`);
    return 1;
  }
}
