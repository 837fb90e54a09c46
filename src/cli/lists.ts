/**
 * `hashgate lists <command>`: create, show, enable, disable, versions, rollback, remove and
 * import hash lists, against the local state of `wrangler dev` (--local) or the account's KV
 * (--remote [--env name]), through wrangler.
 */
import { createReadStream, existsSync, statSync } from "node:fs";
import { userInfo } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { createList, removeList, rollbackList, setEnabled } from "../lists/govern.ts";
import { deltaLines } from "../lists/import/delta-lines.ts";
import {
  IMPORT_FORMATS,
  type ImportFormat,
  ImportTally,
  importEvents,
  isImportFormat,
} from "../lists/import/index.ts";
import { ListKeyError } from "../lists/keyring.ts";
import { findList, ListError, readHistory, readManifest } from "../lists/layout.ts";
import { type ListMeta, listStatus } from "../lists/manifest.ts";
import { isHashAlgo } from "../lists/ops.ts";
import { VersionBuilder } from "../lists/publish.ts";
import { discardStaged, readStaged } from "../lists/staged.ts";
import { DEFAULT_PDQ_SHARD_THRESHOLD } from "../pdq-shards/protocol.ts";
import {
  ADMIN_TOKEN_ENV,
  discardOnGate,
  GateSwitchError,
  gateShardThreshold,
  stagesAt,
  switchOnGate,
} from "./gate-switch.ts";
import { auditFromCli } from "./lists-audit.ts";
import { EmptyImportError, formatProgress, runImport, StrictImportError } from "./lists-import.ts";
import { cliKeyring } from "./node-list-key.ts";
import { WranglerError, WranglerStore, type WranglerTarget } from "./wrangler-kv.ts";
import { wranglerVar } from "./wrangler-vars.ts";

const USAGE = `usage: hashgate lists <command> [options] (--local | --remote [--env NAME])

  create ID --provider P --licence-ref R --licensed-until YYYY-MM-DD --allowed-uses a,b
            --action block|flag [--pdq-threshold 31] [--name N] [--category C] [--disabled]
  show [ID]                 a table of lists and their status (active, disabled, expired,
                            unpublished), or one list's fields; --json for machines
  versions ID               a list's history
  enable ID | disable ID
  rollback ID [--to V]      back to the version the current one was built on, or to any
                            earlier version V of its line whose data is still stored
  switch ID                 have the gate switch the list's staged version in now (--gate)
  discard-staged ID         drop the list's staged version (its data too), so it takes a new
                            publish; --gate URL has the gate do it (also frees the indexes its
                            shard objects built, and settles a discard racing a switch)
  remove ID                 take the list out of the manifest
  demo                      create and load the quickstart's demo list (once)
  rekey [ID]                re-publish every list (or one) under HASHGATE_LIST_KEY as a new version,
                            reading it with HASHGATE_LIST_KEY_PREVIOUS (README: Rotating the list secret)
  import --list ID (--format FMT | --delta) [--replace] [--algo A] [--min-quality 50] [--strict]
         [--checkpoint F] FILE
            --delta: FILE has "add <algo> <hex>" / "remove <algo> <hex>" lines (as the admin API)
            --replace: FILE is the provider's whole list; entries of the current version that
                       it does not list are removed (snapshot sync)
            --dry-run: only read FILE and print the summary (no --list, no target needed)
            FMT: ${IMPORT_FORMATS.join(", ")}

staged versions: a new version (import, rollback, rekey) with at least the Worker's
        PDQ_SHARD_THRESHOLD PDQ hashes is staged: the gate switches it once its PDQ shard
        objects are built, at its next scheduled run, or now with --gate URL (admin token in
        ${ADMIN_TOKEN_ENV}); --wait retries until switched. The threshold is the gate's own with
        --gate (a contradicting --shard-threshold N is refused), else wrangler.toml's [vars]
        (--env: [env.NAME.vars]), else --shard-threshold N, else ${DEFAULT_PDQ_SHARD_THRESHOLD}.
        --switch-now switches at once instead (the first query then pays the build).

common: --binding HASHES  --persist-to DIR (local state dir)  --actor NAME  --json
secret: HASHGATE_LIST_KEY (the Worker's LIST_KEY) for import, demo and rekey; --local without it
        uses the public development key that \`npm start\` gives its local Worker`;

const OPTIONS = {
  local: { type: "boolean" },
  remote: { type: "boolean" },
  env: { type: "string" },
  binding: { type: "string", default: "HASHES" },
  "persist-to": { type: "string" },
  actor: { type: "string" },
  json: { type: "boolean" },
  provider: { type: "string" },
  "licence-ref": { type: "string" },
  "licensed-until": { type: "string" },
  "allowed-uses": { type: "string" },
  action: { type: "string" },
  "pdq-threshold": { type: "string" },
  name: { type: "string" },
  category: { type: "string" },
  disabled: { type: "boolean" },
  list: { type: "string" },
  format: { type: "string" },
  algo: { type: "string" },
  "min-quality": { type: "string" },
  strict: { type: "boolean" },
  checkpoint: { type: "string" },
  "dry-run": { type: "boolean" },
  to: { type: "string" },
  delta: { type: "boolean" },
  replace: { type: "boolean" },
  gate: { type: "string" },
  wait: { type: "boolean" },
  "shard-threshold": { type: "string" },
  "switch-now": { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

class UsageError extends Error {}
/** A problem the user can fix, said in one line (exit 1). */
class CliError extends Error {}

/** A list file that is not there is one clear line, before any storage is touched. */
function needFile(file: string): void {
  if (!existsSync(file)) throw new CliError(`${file}: no such file`);
  if (!statSync(file).isFile()) throw new CliError(`${file}: not a file`);
}

function target(v: Values): WranglerTarget {
  if (v.local === v.remote) throw new UsageError("say where: --local or --remote");
  return {
    mode: v.local ? "local" : "remote",
    binding: v.binding ?? "HASHES",
    ...(v.env ? { env: v.env } : {}),
    ...(v["persist-to"] ? { persistTo: v["persist-to"] } : {}),
  };
}

/** Rows under a header, each column padded to its widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

const print = (v: Values, human: string, data: unknown) =>
  console.log(v.json ? JSON.stringify(data, null, 2) : human);

/**
 * Which new versions this run stages (none with --switch-now), at the Worker's
 * PDQ_SHARD_THRESHOLD: asked of the gate with --gate (a contradicting --shard-threshold is
 * refused before anything is written), else read from wrangler.toml (a contradicting
 * --shard-threshold wins, with a warning: the deployed Worker may differ from the file).
 */
async function stageOf(v: Values): Promise<((next: ListMeta) => boolean) | undefined> {
  if (v["switch-now"]) return undefined;
  const raw = v["shard-threshold"];
  const flag = raw === undefined ? undefined : Number(raw);
  if (flag !== undefined && !(Number.isSafeInteger(flag) && flag >= 0))
    throw new UsageError("--shard-threshold needs a whole number of PDQ entries");
  const g = gateOf(v);
  if (g) {
    const t = await gateShardThreshold(g);
    if (flag !== undefined && flag !== t)
      throw new CliError(
        `--shard-threshold ${flag} contradicts the gate's PDQ_SHARD_THRESHOLD (${t ?? "none: the gate has no PDQ shard objects"}): leave it out, the gate's is used`,
      );
    // A gate without shard objects searches every list in its isolates: nothing to stage.
    return t === null ? () => false : stagesAt(t);
  }
  const toml = tomlShardThreshold(v);
  if (flag !== undefined && toml && toml.value !== flag)
    console.error(
      `warning: --shard-threshold ${flag} differs from PDQ_SHARD_THRESHOLD ${toml.value} in ${toml.source}; using ${flag}`,
    );
  return stagesAt(flag ?? toml?.value);
}

/** PDQ_SHARD_THRESHOLD from wrangler.toml's [vars] (of --env), as the Worker reads it; null when unset. */
function tomlShardThreshold(v: Values): { value: number; source: string } | null {
  let found: ReturnType<typeof wranglerVar>;
  try {
    found = wranglerVar("PDQ_SHARD_THRESHOLD", v.env);
  } catch (e) {
    throw new CliError(`wrangler.toml: ${(e as Error).message}`);
  }
  if (!found || found.value.trim() === "") return null;
  const value = Number(found.value.trim());
  if (!Number.isSafeInteger(value) || value < 0)
    throw new CliError(`${found.source}: PDQ_SHARD_THRESHOLD must be a whole number, got "${found.value}"`);
  return { value, source: found.source };
}

/** What the gate options ask for; checked before anything is written. */
function gateOf(v: Values) {
  if (v.wait && !v.gate) throw new UsageError("--wait needs --gate URL");
  if (!v.gate) return null;
  try {
    new URL(v.gate);
  } catch {
    throw new UsageError(`--gate needs the gate's URL, got ${JSON.stringify(v.gate)}`);
  }
  const token = process.env[ADMIN_TOKEN_ENV];
  if (!token) throw new CliError(`--gate needs the admin token in ${ADMIN_TOKEN_ENV}`);
  return { gate: v.gate, token, wait: v.wait ?? false };
}

/** A line beside the result: on stdout, or stderr when stdout is --json. */
const note = (v: Values, line: string) => (v.json ? console.error : console.log)(line);

const STAGED_NOTE = "will switch once the gate's PDQ shard objects are built";

/** After a staged version: the line saying so, then (with --gate) the switch on the gate. */
async function afterStaged(v: Values, id: string, version: number): Promise<string> {
  const g = gateOf(v);
  if (!g)
    return `${id}: version ${version} staged: ${STAGED_NOTE} (the gate's next scheduled run, or now with --gate URL)`;
  await switchOnGate(g, id, version);
  return `${id}: version ${version} staged, shard objects built by the gate, switched`;
}

async function command(cmd: string, id: string | undefined, rest: string[], v: Values): Promise<number> {
  const t = target(v);
  const store = new WranglerStore(t);
  const actor = v.actor ?? `cli:${userInfo().username}`;
  const audit = (action: string, subject: string, detail: Record<string, unknown>) =>
    auditFromCli(t, { actor, action, subject, detail });
  const need = () => {
    if (!id) throw new UsageError(`${cmd} needs a list id`);
    return id;
  };
  try {
    switch (cmd) {
      case "create": {
        const meta = await createList(store, {
          id,
          provider: v.provider,
          licenceRef: v["licence-ref"],
          licensedUntil: v["licensed-until"],
          allowedUses: v["allowed-uses"]
            ?.split(",")
            .map((s) => s.trim())
            .filter(Boolean),
          action: v.action,
          ...(v["pdq-threshold"] ? { pdqThreshold: Number(v["pdq-threshold"]) } : {}),
          ...(v.name ? { name: v.name } : {}),
          ...(v.category ? { category: v.category } : {}),
          enabled: !v.disabled,
        });
        await audit("list.create", `list:${meta.id}`, { ...meta });
        print(v, `created list ${meta.id} (no version published yet)`, meta);
        return 0;
      }
      case "show": {
        const manifest = await readManifest(store);
        const now = new Date();
        if (id) {
          const list = { ...findList(manifest, id), status: listStatus(findList(manifest, id), now) };
          const fields = Object.entries(list).map(([k, val]) => [
            k,
            Array.isArray(val) ? val.join(",") : String(val),
          ]);
          print(v, table(["FIELD", "VALUE"], fields), list);
          return 0;
        }
        const rows = manifest.lists.map((l) => ({
          id: l.id,
          status: listStatus(l, now),
          version: l.version,
          action: l.action,
          licensedUntil: l.licensedUntil,
          exact: l.exactEntries ?? "?",
          pdq: l.pdqEntries ?? 0,
          keyId: l.keyId ?? "-",
        }));
        const header = ["ID", "STATUS", "VERSION", "ACTION", "LICENSED UNTIL", "EXACT", "PDQ", "KEY"];
        const human = rows.length
          ? table(
              header,
              rows.map((r) => Object.values(r).map(String)),
            )
          : "no lists";
        print(v, human, rows);
        return 0;
      }
      case "versions": {
        const history = await readHistory(store, need());
        const lines = history.map((h) =>
          h.kind === "discard"
            ? `${h.at}\tdiscard\tv${h.version} (staged ${h.stagedAt ?? "?"}, never served; v${h.base} kept)\t${h.actor}`
            : `${h.at}\t${h.kind}\tv${h.version} (from v${h.base}${h.stagedAt ? `, staged ${h.stagedAt}` : ""})\t+${h.added} -${h.removed}\t${h.actor}`,
        );
        print(v, lines.join("\n") || "no versions", history);
        return 0;
      }
      case "enable":
      case "disable": {
        const list = await setEnabled(store, need(), cmd === "enable");
        await audit(`list.${cmd}`, `list:${list.id}`, {});
        print(v, `${list.id}: ${listStatus(list, new Date())}`, list);
        return 0;
      }
      case "rollback": {
        const to = v.to === undefined ? undefined : Number(v.to);
        if (to !== undefined && !(Number.isInteger(to) && to >= 0))
          throw new UsageError("--to needs a version number");
        const stage = await stageOf(v);
        gateOf(v);
        const from = findList(await readManifest(store), need()).version;
        const list = await rollbackList(store, need(), actor, new Date(), to, stage);
        await audit("list.rollback", `list:${list.id}`, { from, to: list.version, staged: !!list.staged });
        const staged = list.staged ? `\n${await afterStaged(v, list.id, list.version)}` : "";
        print(
          v,
          `${list.id}: ${list.staged ? "rolling back to" : "now at"} version ${list.version} (was ${from})${staged}`,
          { ...list, from },
        );
        return 0;
      }
      case "switch": {
        const staged = await readStaged(store, need());
        if (!staged) throw new CliError(`${need()}: no staged version`);
        if (!gateOf(v))
          throw new UsageError("switch needs --gate URL (and the admin token in HASHGATE_ADMIN_TOKEN)");
        const human = await afterStaged(v, staged.listId, staged.version);
        print(v, human, { id: staged.listId, version: staged.version, switched: true });
        return 0;
      }
      case "discard-staged": {
        const g = gateOf(v);
        if (g) {
          const r = await discardOnGate(g, need());
          const human = `${need()}: staged version ${r.discarded.version} discarded by the gate (${r.deletedKeys} keys of its data deleted, ${r.releasedObjects} shard object indexes freed); the list takes a new publish`;
          print(v, human, r);
          return 0;
        }
        const r = await discardStaged(store, need(), actor);
        const s = r.staged;
        await audit("list.discard-staged", `list:${s.listId}`, {
          version: s.version,
          kind: s.kind,
          stagedAt: s.stagedAt,
          deletedKeys: r.deletedKeys,
        });
        print(
          v,
          `${s.listId}: staged version ${s.version} discarded (${r.deletedKeys} keys of its data deleted); the list takes a new publish`,
          {
            discarded: { id: s.listId, version: s.version, kind: s.kind, stagedAt: s.stagedAt },
            deletedKeys: r.deletedKeys,
          },
        );
        return 0;
      }
      case "remove": {
        await removeList(store, need());
        await audit("list.remove", `list:${id}`, {});
        print(v, `removed list ${id} from the manifest`, { removed: id });
        return 0;
      }
      case "import":
        return await importCommand(store, t, rest, v, actor, audit);
      case "demo":
        return await demoCommand(store, t, v, actor, audit);
      case "rekey":
        return await rekeyCommand(store, t, id, v, actor, audit);
      default:
        throw new UsageError(`unknown command ${cmd}`);
    }
  } finally {
    store.close();
  }
}

async function importCommand(
  store: WranglerStore,
  t: WranglerTarget,
  files: string[],
  v: Values,
  actor: string,
  audit: (a: string, s: string, d: Record<string, unknown>) => Promise<void>,
): Promise<number> {
  const [file] = files;
  if (!v.list || !file || files.length > 1)
    throw new UsageError("import needs --list ID, --format FMT or --delta, and one FILE");
  const format = importFormat(v);
  needFile(file);
  if (v.algo !== undefined && !isHashAlgo(v.algo))
    throw new UsageError("--algo must be md5, sha1, sha256 or pdq");
  const stage = await stageOf(v);
  gateOf(v);
  const targetName = `${t.mode}${t.env ? `:${t.env}` : ""}`;
  const tty = process.stderr.isTTY;
  const { tally, result, resumedAfterLine, unlisted } = await runImport({
    store,
    listId: v.list,
    format,
    replace: v.replace ?? false,
    file,
    options: {
      ...(v.algo ? { algo: v.algo } : {}),
      ...(v["min-quality"] ? { minPdqQuality: Number(v["min-quality"]) } : {}),
    },
    actor,
    keys: await cliKeyring(t.mode),
    target: targetName,
    checkpointPath:
      v.checkpoint ?? `${file}.${v.list}.${targetName.replace(/[^a-z0-9]/gi, "_")}.checkpoint.json`,
    strict: v.strict ?? false,
    ...(stage ? { stage } : {}),
    progress: (p) => process.stderr.write(`${tty ? "\r" : ""}${formatProgress(p)}${tty ? "   " : "\n"}`),
  });
  if (tty) process.stderr.write("\n");
  const summary = { ...tally.toJSON(), published: result, resumedAfterLine, unlisted };
  await audit("list.publish", `list:${v.list}`, {
    source: v.replace ? "import --replace" : "import",
    format,
    version: result.version,
    staged: !!result.staged,
    added: result.added,
    removed: result.removed,
    errors: tally.errorCount,
  });
  const skipped = [...tally.skipped].map(([r, n]) => `  ${n} skipped: ${r}`);
  const errors = tally.errors.map((e) => `  line ${e.line}: ${e.message}`);
  const more =
    tally.errorCount > tally.errors.length
      ? [`  … ${tally.errorCount - tally.errors.length} more errors`]
      : [];
  const human = [
    `${v.list}: ${result.staged ? "staged" : "published"} version ${result.version} (from ${result.base})${resumedAfterLine ? `, resumed after line ${resumedAfterLine}` : ""}`,
    `  ${result.added} added, ${result.removed} removed; now ${result.exactEntries ?? "?"} exact digests, ${result.pdqEntries} PDQ hashes`,
    `  read: ${tally.adds} adds, ${tally.removes} removes, ${tally.entries} entries, ${tally.tombstones} tombstones`,
    ...(v.replace
      ? [`  replace: ${unlisted} entries of version ${result.base} not in the file removed`]
      : []),
    ...(result.prefilterBitsPerKey
      ? [`  prefilter: ${result.prefilterBytes} bytes, ${result.prefilterBitsPerKey.toFixed(2)} bits/digest`]
      : []),
    ...skipped,
    ...(tally.errorCount ? [`  ${tally.errorCount} malformed:`, ...errors, ...more] : []),
  ].join("\n");
  print(v, human, summary);
  if (result.staged) note(v, await afterStaged(v, v.list, result.version));
  return tally.errorCount > 0 ? 1 : 0;
}

/**
 * Re-publishes lists keyed with another secret under HASHGATE_LIST_KEY, each as a new version
 * (its base read with HASHGATE_LIST_KEY_PREVIOUS). Lists already under the current key are left.
 */
async function rekeyCommand(
  store: WranglerStore,
  t: WranglerTarget,
  only: string | undefined,
  v: Values,
  actor: string,
  audit: (a: string, s: string, d: Record<string, unknown>) => Promise<void>,
): Promise<number> {
  const keys = await cliKeyring(t.mode);
  const stage = await stageOf(v);
  gateOf(v);
  const lists = (await readManifest(store)).lists.filter((l) => !only || l.id === only);
  if (only && lists.length === 0) throw new ListError("not-found", `no list "${only}"`);
  const done: { id: string; from?: string; to: string; version: number }[] = [];
  for (const list of lists) {
    if (list.version === 0 || list.keyId === keys.current.id) continue;
    const b = await VersionBuilder.begin(store, list.id, { actor, keys, ...(stage ? { stage } : {}) });
    const r = await b.finish();
    if (r.staged) note(v, await afterStaged(v, list.id, r.version));
    await audit("list.rekey", `list:${list.id}`, {
      version: r.version,
      from: list.keyId,
      to: keys.current.id,
    });
    done.push({
      id: list.id,
      ...(list.keyId ? { from: list.keyId } : {}),
      to: keys.current.id,
      version: r.version,
    });
  }
  const human = done.length
    ? done.map((d) => `${d.id}: version ${d.version} keyed with ${d.to} (was ${d.from})`).join("\n")
    : `every list is keyed with ${keys.current.id} already`;
  print(v, human, { keyId: keys.current.id, rekeyed: done });
  return 0;
}

/** `--format FMT` or `--delta` (exactly one). */
function importFormat(v: Values): ImportFormat | "delta" {
  if (v.delta) {
    if (v.format) throw new UsageError("give --format or --delta, not both");
    return "delta";
  }
  if (!v.format) throw new UsageError("import needs --format FMT or --delta");
  if (!isImportFormat(v.format)) throw new UsageError(`--format must be one of ${IMPORT_FORMATS.join(", ")}`);
  return v.format;
}

/** Reads a list file and reports what an import would do, touching no storage. */
async function dryRun(files: string[], v: Values): Promise<number> {
  const [file] = files;
  if (!file || files.length > 1)
    throw new UsageError("import --dry-run needs --format FMT or --delta, and one FILE");
  const format = importFormat(v);
  needFile(file);
  if (v.algo !== undefined && !isHashAlgo(v.algo))
    throw new UsageError("--algo must be md5, sha1, sha256 or pdq");
  const tally = new ImportTally();
  const options = {
    ...(v.algo ? { algo: v.algo } : {}),
    ...(v["min-quality"] ? { minPdqQuality: Number(v["min-quality"]) } : {}),
  };
  const events =
    format === "delta"
      ? deltaLines(createReadStream(file))
      : importEvents(format, createReadStream(file), options);
  for await (const ev of events) tally.count(ev);
  const s = tally.toJSON();
  const human = [
    `${file}: ${s.adds} adds, ${s.removes} removes, ${s.entries} entries, ${s.tombstones} tombstones (dry run: nothing written)`,
    ...[...tally.skipped].map(([r, n]) => `  ${n} skipped: ${r}`),
    ...(s.errorCount
      ? [`  ${s.errorCount} malformed:`, ...s.errors.map((e) => `  line ${e.line}: ${e.message}`)]
      : []),
  ].join("\n");
  print(v, human, s);
  return s.errorCount > 0 ? 1 : 0;
}

/** The quickstart's demo list: digests of the benign files in demo/blocked/. */
const DEMO_LIST = {
  id: "demo",
  name: "Demo list (benign test files)",
  provider: "hashgate demo",
  category: "test",
  licenceRef: "none: benign test data",
  licensedUntil: "2099-12-31",
  allowedUses: ["block", "review"],
  action: "block",
};
const DEMO_FILE = fileURLToPath(new URL("../../demo/lists/demo-list.csv", import.meta.url));

async function demoCommand(
  store: WranglerStore,
  t: WranglerTarget,
  v: Values,
  actor: string,
  audit: (a: string, s: string, d: Record<string, unknown>) => Promise<void>,
): Promise<number> {
  const existing = (await readManifest(store)).lists.find((l) => l.id === DEMO_LIST.id);
  if (existing && existing.version > 0) {
    print(v, `demo list already loaded (version ${existing.version})`, existing);
    return 0;
  }
  if (!existing) {
    await createList(store, DEMO_LIST);
    await audit("list.create", "list:demo", DEMO_LIST);
  }
  return importCommand(store, t, [DEMO_FILE], { ...v, list: DEMO_LIST.id, format: "csv" }, actor, audit);
}

export async function run(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true });
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [cmd, ...rest] = parsed.positionals;
  if (!cmd || parsed.values.help) {
    console.error(USAGE);
    return cmd ? 0 : 2;
  }
  try {
    if (cmd === "import" && parsed.values["dry-run"]) return await dryRun(rest, parsed.values);
    return await command(cmd, cmd === "import" ? undefined : rest[0], rest, parsed.values);
  } catch (e) {
    if (e instanceof UsageError) console.error(`hashgate lists: ${e.message}\n\n${USAGE}`);
    else if (e instanceof EmptyImportError) {
      console.error(`hashgate lists: ${e.message}`);
      for (const err of e.tally.errors.slice(0, 10)) console.error(`  line ${err.line}: ${err.message}`);
    } else if (
      e instanceof ListError ||
      e instanceof StrictImportError ||
      e instanceof ListKeyError ||
      e instanceof CliError ||
      e instanceof GateSwitchError ||
      e instanceof WranglerError
    )
      console.error(`hashgate lists: ${e.message}`);
    else throw e;
    return e instanceof UsageError ? 2 : 1;
  }
}
