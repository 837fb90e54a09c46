/** Audit rows for list changes made from the CLI, through `wrangler d1 execute`. */
import { execFile } from "node:child_process";
import { stripVTControlCharacters } from "node:util";
import { type WranglerTarget, wranglerBin } from "./wrangler-kv.ts";

export interface CliAudit {
  actor: string;
  action: string;
  subject: string;
  detail: Record<string, unknown>;
}

const sql = (s: string) => `'${s.replaceAll("'", "''")}'`;

/** Best effort: a list change has already happened, so a failed audit write warns, not fails. */
export async function auditFromCli(t: WranglerTarget, e: CliAudit, db = "DB"): Promise<void> {
  const stmt = `INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (${[new Date().toISOString(), e.actor, e.action, e.subject, JSON.stringify(e.detail)].map(sql).join(", ")})`;
  const args = [wranglerBin(), "d1", "execute", db, `--${t.mode}`, "--command", stmt];
  if (t.env) args.push("--env", t.env);
  if (t.persistTo) args.push("--persist-to", t.persistTo);
  await new Promise<void>((resolve) => {
    execFile(
      process.execPath,
      args,
      { env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
      (err, _out, stderr) => {
        if (err)
          console.error(
            `hashgate lists: warning: audit log not written (${
              stripVTControlCharacters(stderr)
                .split("\n")
                .find((l) => /error|✘/i.test(l))
                ?.trim() ?? err.message
            }); apply the D1 migrations first`,
          );
        resolve();
      },
    );
  });
}
