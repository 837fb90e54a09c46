/**
 * The checks of `hashgate doctor` that read only the Wrangler configuration (no account, no
 * network): what `npm run check:deploy` runs. Each check names what is wrong and how to mend it.
 */

export type Level = "ok" | "warn" | "error";

export interface Check {
  name: string;
  level: Level;
  detail: string;
}

/** The part of Wrangler's resolved configuration (`unstable_readConfig`) the checks read. */
export interface DeployConfig {
  name?: string;
  topLevelName?: string;
  routes?: unknown[];
  route?: unknown;
  vars: Record<string, unknown>;
  kv_namespaces: { binding: string; id?: string }[];
  d1_databases: { binding: string; database_id?: string }[];
  r2_buckets: { binding: string; bucket_name?: string }[];
  queues: { producers?: { binding: string; queue: string }[]; consumers?: { queue: string }[] };
  observability?: { enabled?: boolean; logs?: { enabled?: boolean } };
  analytics_engine_datasets?: { binding: string }[];
}

export interface ConfigCheckOptions {
  /** The environment checked ("" for the top level). */
  env: string;
  /**
   * The repository's own wrangler.toml is a template: what only an operator can fill in
   * (resource ids, routes, review and report variables) is a warning there, an error in an
   * operator's configuration.
   */
  template: boolean;
}

/** Bindings the Worker cannot run without (src/env.ts). */
const REQUIRED_BINDINGS = { kv: "HASHES", d1: "DB", r2: "EVIDENCE", queue: "MATCHES" } as const;
/** Variables review and reporting need in a deployed environment (docs/review.md). */
const REVIEW_VARS = ["ACCESS_TEAM_DOMAIN", "ACCESS_AUD", "REVIEW_PUBLIC_URL"];
const CYBERTIP_VARS = [
  "CYBERTIP_ENV",
  "REPORTER_EMAIL",
  "REPORTER_FIRST_NAME",
  "REPORTER_LAST_NAME",
  "REPORTER_ESP_SERVICE",
];

/** An id of the template: zeros, perhaps with one last digit (`000…0`, `00000000-…-000000000002`). */
export const isPlaceholderId = (id: string | undefined): boolean =>
  id === undefined || id.trim() === "" || /^[0-]+[0-9]?$/.test(id.trim());

const EXAMPLE_HOST = /(^|[./])example\.(com|org|net)(\/|$|:)/i;

function routePatterns(c: DeployConfig): string[] {
  const all = [...(c.routes ?? []), ...(c.route ? [c.route] : [])];
  return all.map((r) => (typeof r === "string" ? r : String((r as { pattern?: string }).pattern ?? "")));
}

const str = (v: unknown) => (typeof v === "string" ? v.trim() : "");

/** Every offline check of one environment's configuration. */
export function configChecks(c: DeployConfig, opts: ConfigCheckOptions): Check[] {
  const out: Check[] = [];
  const deployed = opts.env !== "";
  const placeholderLevel: Level = opts.template ? "warn" : "error";
  const add = (name: string, level: Level, detail: string) => out.push({ name, level, detail });

  const kv = c.kv_namespaces.find((k) => k.binding === REQUIRED_BINDINGS.kv);
  const d1 = c.d1_databases.find((d) => d.binding === REQUIRED_BINDINGS.d1);
  const r2 = c.r2_buckets.find((b) => b.binding === REQUIRED_BINDINGS.r2);
  const queue = c.queues.producers?.find((q) => q.binding === REQUIRED_BINDINGS.queue);
  const missing = [
    ...(kv ? [] : ["KV HASHES"]),
    ...(d1 ? [] : ["D1 DB"]),
    ...(r2 ? [] : ["R2 EVIDENCE"]),
    ...(queue ? [] : ["queue producer MATCHES"]),
  ];
  if (missing.length)
    add(
      "bindings",
      "error",
      `missing: ${missing.join(", ")} (wrangler.toml; bindings are not inherited by environments)`,
    );
  else add("bindings", "ok", "HASHES, DB, EVIDENCE and MATCHES are bound");

  if (deployed) {
    const placeholders = [
      ...(kv && isPlaceholderId(kv.id) ? [`KV HASHES id ${kv.id ?? "(none)"}`] : []),
      ...(d1 && isPlaceholderId(d1.database_id) ? [`D1 DB database_id ${d1.database_id ?? "(none)"}`] : []),
    ];
    if (placeholders.length)
      add(
        "resource ids",
        placeholderLevel,
        `placeholder ${placeholders.join(" and ")}: create the resources (README: Operating it) and copy their ids`,
      );
    else add("resource ids", "ok", "KV and D1 ids are set");

    const examples = routePatterns(c).filter((p) => EXAMPLE_HOST.test(p));
    if (examples.length)
      add(
        "routes",
        placeholderLevel,
        `example route ${examples.join(", ")}: put the platform's upload host here`,
      );
    else if (routePatterns(c).length === 0 && str(c.vars.ORIGIN_URL) === "")
      add(
        "routes",
        "warn",
        "no route and no ORIGIN_URL: the Worker would only answer on workers.dev, forwarding to itself",
      );
    else add("routes", "ok", routePatterns(c).join(", ") || `ORIGIN_URL=${str(c.vars.ORIGIN_URL)}`);

    if (c.topLevelName && c.name === c.topLevelName)
      add(
        "worker name",
        "error",
        `environment ${opts.env} deploys as "${c.name}", the top-level Worker's name: a deploy without --env would replace it`,
      );
    else add("worker name", "ok", `deploys as "${c.name}"`);

    const reviewMissing = REVIEW_VARS.filter((k) => str(c.vars[k]) === "");
    const kind = str(c.vars.REPORT_KIND) || "cybertip";
    const reportMissing =
      kind === "webhook"
        ? str(c.vars.REPORT_WEBHOOK_URL)
          ? []
          : ["REPORT_WEBHOOK_URL"]
        : CYBERTIP_VARS.filter((k) => str(c.vars[k]) === "");
    if (reviewMissing.length + reportMissing.length)
      add(
        "review and report variables",
        placeholderLevel,
        `not set in [env.${opts.env}.vars]: ${[...reviewMissing, ...reportMissing].join(", ")} (docs/review.md)`,
      );
    else add("review and report variables", "ok", `review via Access, reports by ${kind}`);
  }

  if (c.observability?.enabled) add("observability", "ok", "Workers Logs on");
  else add("observability", "warn", "[observability] is off: the gate's log lines are kept nowhere");
  return out;
}

/** Secrets a deployed environment needs (errors) or should have (warnings), given its variables. */
export function secretChecks(vars: Record<string, unknown>, present: Set<string>): Check[] {
  const kind = str(vars.REPORT_KIND) || "cybertip";
  const required = [
    "ADMIN_TOKEN",
    ...(kind === "webhook" ? ["REPORT_WEBHOOK_SECRET"] : ["CYBERTIP_USERNAME", "CYBERTIP_PASSWORD"]),
  ];
  const recommended = ["ORIGIN_SIGNING_KEY", "LIST_KEY"];
  const missing = required.filter((s) => !present.has(s));
  const missingRecommended = recommended.filter((s) => !present.has(s));
  const out: Check[] = [];
  out.push(
    missing.length
      ? {
          name: "secrets",
          level: "error",
          detail: `not set: ${missing.join(", ")} (npx wrangler secret put NAME --env …)`,
        }
      : { name: "secrets", level: "ok", detail: `${required.join(", ")} set` },
  );
  if (missingRecommended.length)
    out.push({
      name: "recommended secrets",
      level: "warn",
      detail: `not set: ${missingRecommended.join(", ")} (README)`,
    });
  return out;
}

const MARK: Record<Level, string> = { ok: "ok   ", warn: "warn ", error: "FAIL " };

export function formatChecks(title: string, checks: Check[]): string {
  return [title, ...checks.map((c) => `  ${MARK[c.level]} ${c.name}: ${c.detail}`)].join("\n");
}
