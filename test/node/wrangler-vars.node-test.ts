/** The CLI's reader of wrangler.toml [vars] (src/cli/wrangler-vars.ts), on the repository's file and on edge cases. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { findWranglerToml, varOfToml, wranglerVar } from "../../src/cli/wrangler-vars.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const toml = readFileSync(new URL("../../wrangler.toml", import.meta.url), "utf8");

test("reads PDQ_SHARD_THRESHOLD of every environment of the repository's wrangler.toml as the Worker gets it", () => {
  for (const env of [undefined, "staging", "production"])
    assert.match(varOfToml(toml, "PDQ_SHARD_THRESHOLD", env) ?? "", /^\d+$/, env ?? "top level");
  assert.equal(varOfToml(toml, "NO_LIST_MODE"), "open");
  assert.equal(varOfToml(toml, "NO_LIST_MODE", "production"), "closed");
  assert.equal(varOfToml(toml, "REVIEW_HOST"), undefined);
  assert.equal(varOfToml(toml, "REVIEW_HOST", "production"), "review.example.com");
});

test("only the named table counts; a key written otherwise than as a quoted string is an error", () => {
  const text = [
    'PDQ_SHARD_THRESHOLD = "1"',
    "[vars]",
    'PDQ_SHARD_THRESHOLD_X = "9"',
    'PDQ_SHARD_THRESHOLD = "5" # comment',
    "[env.a.vars]",
    'PDQ_SHARD_THRESHOLD = "7"',
    "[env.b.vars]",
    "PDQ_SHARD_THRESHOLD = 8",
    "[[kv_namespaces]]",
    'PDQ_SHARD_THRESHOLD = "2"',
  ].join("\n");
  assert.equal(varOfToml(text, "PDQ_SHARD_THRESHOLD"), "5");
  assert.equal(varOfToml(text, "PDQ_SHARD_THRESHOLD", "a"), "7");
  assert.equal(varOfToml(text, "PDQ_SHARD_THRESHOLD", "c"), undefined);
  assert.throws(() => varOfToml(text, "PDQ_SHARD_THRESHOLD", "b"), /write it as a quoted string, got 8/);
});

test("the file is found as wrangler finds it: the working directory or the nearest parent", () => {
  assert.equal(findWranglerToml(`${ROOT}src/cli`), `${ROOT}wrangler.toml`);
  assert.deepEqual(wranglerVar("NO_LIST_MODE", "staging", `${ROOT}test`), {
    value: "closed",
    source: `${ROOT}wrangler.toml [env.staging.vars]`,
  });
  assert.equal(findWranglerToml("/"), null);
});
