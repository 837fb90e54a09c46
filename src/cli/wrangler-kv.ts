/**
 * A ListStore backed by wrangler: writes as `wrangler kv bulk put` files, reads with
 * `kv bulk get` (JSON values) and `kv key get` (binary values, raw on stdout), deletes with
 * `kv bulk delete`. `--local` is the
 * local state the quickstart's `wrangler dev` uses (.wrangler/state); `--remote` the account's KV.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ListStore } from "../lists/store.ts";
import { BulkWriter } from "./kv-bulk.ts";

export interface WranglerTarget {
  mode: "local" | "remote";
  env?: string;
  /** KV binding name in wrangler.toml. */
  binding: string;
  /** Local state directory (wrangler's --persist-to), for tests and demos. */
  persistTo?: string;
}

/** Keys per `kv bulk get`: the REST API takes 100; locally wrangler reads one by one anyway. */
const GET_BATCH = { local: 1000, remote: 100 };
const MAX_OUTPUT_BYTES = 1 << 30;
/** Keys per `kv bulk delete` (the REST API takes 10,000). */
const DELETE_BATCH = 10_000;
/**
 * Bulk puts in flight. Remote requests are independent; local ones write one SQLite file
 * (Miniflare's KV), so they go one at a time. Local KV costs ~5 ms per pair (measured: 52 s
 * for 10,000 on this machine): local mode suits demo and test lists, not 10M-hash lists.
 */
const UPLOAD_CONCURRENCY = { local: 1, remote: 4 };

/** wrangler's own launcher, run with this Node (its package exports hide the bin path). */
export function wranglerBin(): string {
  return join(dirname(createRequire(import.meta.url).resolve("wrangler")), "..", "bin", "wrangler.js");
}

/** A failed wrangler call; `message` is one line, the full output stays in `detail`. */
export class WranglerError extends Error {
  readonly detail: string;
  constructor(command: string, output: string) {
    super(`wrangler ${command} failed: ${wranglerReason(output)}`);
    this.detail = output;
  }
}

/** wrangler's output reduced to one line: its ERROR line, or a login hint when that is the cause. */
export function wranglerReason(output: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  if (/CLOUDFLARE_API_TOKEN|not logged in|wrangler login/i.test(plain))
    return "not logged in to Cloudflare: run `npx wrangler login` (or set CLOUDFLARE_API_TOKEN) and try again";
  const lines = plain.split("\n").map((l) => l.trim());
  const error = lines.find((l) => /\[ERROR\]/.test(l));
  return (error ?? lines.filter(Boolean).at(-1) ?? "no output").replace(/^✘\s*\[ERROR\]\s*/, "");
}

function run(args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [wranglerBin(), ...args],
      {
        encoding: "buffer",
        maxBuffer: MAX_OUTPUT_BYTES,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
      },
      (err, stdout, stderr) => {
        if (err)
          reject(new WranglerError(args.slice(0, 3).join(" "), stderr.toString().trim() || err.message));
        else resolve(stdout);
      },
    );
  });
}

export class WranglerStore implements ListStore {
  private readonly target: WranglerTarget;
  private readonly tmp = mkdtempSync(join(tmpdir(), "hashgate-kv-"));
  readonly writer: BulkWriter;

  constructor(target: WranglerTarget) {
    this.target = target;
    this.writer = new BulkWriter(
      this.tmp,
      async (file) => {
        await run(["kv", "bulk", "put", file, ...this.flags()]);
        unlinkSync(file);
      },
      UPLOAD_CONCURRENCY[target.mode],
    );
  }

  private flags(): string[] {
    const f = ["--binding", this.target.binding, `--${this.target.mode}`];
    if (this.target.env) f.push("--env", this.target.env);
    if (this.target.persistTo) f.push("--persist-to", this.target.persistTo);
    return f;
  }

  async getJsonMany<T>(keys: string[]): Promise<(T | null)[]> {
    const out: (T | null)[] = [];
    const step = GET_BATCH[this.target.mode];
    for (let i = 0; i < keys.length; i += step) {
      const part = keys.slice(i, i + step);
      const file = join(this.tmp, "keys.json");
      writeFileSync(file, JSON.stringify(part));
      const text = (await run(["kv", "bulk", "get", file, ...this.flags()])).toString("utf8");
      const result = JSON.parse(text.slice(text.indexOf("{"))) as Record<string, unknown>;
      // Local output: { key: { value } }; the REST API's: { values: { key: value } }.
      const values = (result.values ?? null) as Record<string, unknown> | null;
      for (const k of part) {
        const v = values ? values[k] : (result[k] as { value?: unknown } | undefined)?.value;
        out.push(typeof v === "string" ? (JSON.parse(v) as T) : ((v ?? null) as T | null));
      }
    }
    return out;
  }

  async getBytes(key: string): Promise<Uint8Array | null> {
    const bytes = await run(["kv", "key", "get", key, ...this.flags()]);
    // wrangler prints this (exit 0) for a missing key; our binary values start with a magic number.
    return bytes.toString("latin1") === "Value not found\n" ? null : new Uint8Array(bytes);
  }

  put(key: string, value: string | Uint8Array): Promise<void> {
    return this.writer.add(key, value);
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  deleteKey(key: string): Promise<void> {
    return this.deleteKeys([key]);
  }

  /** `kv bulk delete` of `keys` (after every buffered put is written). */
  async deleteKeys(keys: string[]): Promise<void> {
    await this.flush();
    const file = join(this.tmp, "delete.json");
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      writeFileSync(file, JSON.stringify(keys.slice(i, i + DELETE_BATCH)));
      await run(["kv", "bulk", "delete", file, "--force", ...this.flags()]);
    }
  }

  close(): void {
    rmSync(this.tmp, { recursive: true, force: true });
  }
}
