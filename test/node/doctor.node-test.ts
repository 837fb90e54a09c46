/** `hashgate doctor`'s offline checks against configurations an operator could write. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  configChecks,
  type DeployConfig,
  isPlaceholderId,
  secretChecks,
} from "../../src/cli/doctor-checks.ts";

const REVIEW = {
  ACCESS_TEAM_DOMAIN: "acme.cloudflareaccess.com",
  ACCESS_AUD: "aud",
  REVIEW_PUBLIC_URL: "https://review.acme.net",
  CYBERTIP_ENV: "production",
  REPORTER_EMAIL: "ts@acme.net",
  REPORTER_FIRST_NAME: "T",
  REPORTER_LAST_NAME: "S",
  REPORTER_ESP_SERVICE: "Acme",
};

function ready(): DeployConfig {
  return {
    name: "hashgate",
    topLevelName: "hashgate-dev",
    routes: [{ pattern: "uploads.acme.net/*", zone_name: "acme.net" }],
    vars: { ...REVIEW },
    kv_namespaces: [{ binding: "HASHES", id: "9f1c2a7b3e4d5f6a7b8c9d0e1f2a3b4c" }],
    d1_databases: [{ binding: "DB", database_id: "4b6f1d2e-8a9c-4e3f-b1a2-c3d4e5f6a7b8" }],
    r2_buckets: [{ binding: "EVIDENCE", bucket_name: "hashgate-evidence" }],
    queues: { producers: [{ binding: "MATCHES", queue: "hashgate-matches" }] },
    observability: { enabled: true },
  };
}

const failing = (c: DeployConfig, template = false) =>
  configChecks(c, { env: "production", template })
    .filter((x) => x.level === "error")
    .map((x) => x.name);

test("a complete environment passes", () => {
  assert.deepEqual(failing(ready()), []);
});

test("placeholder ids and example routes fail an operator's config and only warn in the template", () => {
  const c = ready();
  c.kv_namespaces[0]!.id = "00000000000000000000000000000002";
  c.d1_databases[0]!.database_id = "00000000-0000-0000-0000-000000000002";
  c.routes = [{ pattern: "uploads.example.com/*", zone_name: "example.com" }];
  assert.deepEqual(failing(c), ["resource ids", "routes"]);
  assert.deepEqual(failing(c, true), []);
});

test("an environment deploying under the top-level Worker's name fails", () => {
  const c = ready();
  c.name = "hashgate-dev";
  assert.deepEqual(failing(c, true), ["worker name"]);
});

test("missing review and report variables and bindings are named", () => {
  const c = ready();
  c.vars = { ...REVIEW, ACCESS_AUD: "", REPORTER_EMAIL: undefined };
  c.r2_buckets = [];
  const checks = configChecks(c, { env: "production", template: false });
  const review = checks.find((x) => x.name === "review and report variables");
  assert.equal(review?.level, "error");
  assert.match(review?.detail ?? "", /ACCESS_AUD, .*REPORTER_EMAIL/);
  assert.match(checks.find((x) => x.name === "bindings")?.detail ?? "", /R2 EVIDENCE/);
  c.vars = { ...REVIEW, REPORT_KIND: "webhook" };
  assert.match(
    configChecks(c, { env: "production", template: false }).find(
      (x) => x.name === "review and report variables",
    )?.detail ?? "",
    /REPORT_WEBHOOK_URL/,
  );
});

test("secrets: required ones fail, recommended ones warn", () => {
  const missing = secretChecks({}, new Set(["ADMIN_TOKEN", "CYBERTIP_USERNAME"]));
  assert.equal(missing[0]?.level, "error");
  assert.match(missing[0]?.detail ?? "", /CYBERTIP_PASSWORD/);
  const all = secretChecks(
    {},
    new Set(["ADMIN_TOKEN", "CYBERTIP_USERNAME", "CYBERTIP_PASSWORD", "ORIGIN_SIGNING_KEY", "LIST_KEY"]),
  );
  assert.deepEqual(
    all.map((x) => x.level),
    ["ok"],
  );
});

test("placeholder ids are the template's zeros, not real ids", () => {
  assert.ok(isPlaceholderId("00000000000000000000000000000001"));
  assert.ok(isPlaceholderId("00000000-0000-0000-0000-000000000000"));
  assert.ok(isPlaceholderId(""));
  assert.ok(!isPlaceholderId("9f1c2a7b3e4d5f6a7b8c9d0e1f2a3b4c"));
});

test("the repository's own wrangler.toml passes the template check for every deployed environment", async () => {
  const { unstable_readConfig } = await import("wrangler");
  for (const env of ["staging", "production"]) {
    const c = unstable_readConfig(
      { config: "wrangler.toml", env },
      { hideWarnings: true },
    ) as unknown as DeployConfig;
    assert.deepEqual(failing(c, true), [], env);
  }
});
