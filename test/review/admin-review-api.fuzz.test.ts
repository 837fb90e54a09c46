/**
 * Fuzz target (e): input validation of the admin list API (the delta route and list
 * creation) and the review JSON API, with valid tokens, on random JSON bodies, text bodies
 * and query strings. Must hold: every answer is below 500 and an error answer (4xx) is a JSON
 * `{ error, message }`; the review app's generic 503 ("unavailable": an unexpected exception
 * it caught) counts as a failure too. Extends test/admin/routes.test.ts and
 * test/cases/workflow.test.ts (fixed cases). Seeds: fuzz/corpus/api/{admin,review}-*.json.
 * Every digest here is TEST DATA.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { Hono } from "hono";
import { beforeAll, describe, expect, it } from "vitest";
import { adminRoutes } from "../../src/admin/routes.ts";
import { createReviewApp } from "../../src/review/app.ts";
import {
  ADMIN_TOKEN,
  REVIEWER_TOKEN,
  reviewEnv,
  seedCase,
  testKeys,
  VIEWER_TOKEN,
} from "../helpers/cases.ts";
import { corpus, fuzzRuns, fuzzSeed, logRun } from "../helpers/fuzz-runs.ts";

const TOKEN = "fuzz-admin-token-0123456789abcdef";
const admin = new Hono();
admin.route("/admin", adminRoutes);
const adminEnv = { ...env, ADMIN_TOKEN: `fuzzer=${TOKEN}` };
const review = createReviewApp({ keys: testKeys });
const E = reviewEnv();

async function expectClean(res: Response, what: string): Promise<void> {
  const text = await res.text();
  expect([what, res.status]).toEqual([what, expect.any(Number)]);
  expect(res.status, `${what} → ${res.status} ${text.slice(0, 200)}`).toBeLessThan(500);
  if (res.status >= 400) {
    const body = JSON.parse(text) as { error?: unknown; message?: unknown };
    expect(typeof body.error, `${what} → ${text.slice(0, 200)}`).toBe("string");
    expect(typeof body.message).toBe("string");
  }
}

const HEX32 = "0123456789abcdef0123456789abcdef";
const word = fc.oneof(
  fc.constantFrom(
    "add",
    "remove",
    "entry",
    "remove-id",
    "md5",
    "sha1",
    "sha256",
    "pdq",
    HEX32,
    `${HEX32}${HEX32}`,
  ),
  fc.constantFrom("start", "confirm", "dismiss", "escalate", "report", "", " ", "__proto__", "constructor"),
  fc.string({ maxLength: 12 }),
);
/** JSON values biased toward the shapes the routes read. */
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    word,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(word, fc.constantFrom("ops", "op", "hash", "algo", "hex", "id", "hashes", "category")),
      tie("value"),
      { maxKeys: 5 },
    ),
  ),
})).value;
const opLike = fc.record(
  {
    op: word,
    hash: fc.oneof(json, fc.record({ algo: word, hex: word }, { requiredKeys: [] })),
    id: word,
    hashes: json,
    category: word,
  },
  { requiredKeys: [] },
);

let listId = "";
let caseIds: string[] = [];
beforeAll(async () => {
  listId = `fuzz${Date.now().toString(36)}`;
  const res = await admin.request(
    "/admin/lists",
    {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        id: listId,
        provider: "fuzz tests",
        licenceRef: "test data",
        licensedUntil: "2099-12-31",
        allowedUses: ["block"],
        action: "block",
      }),
    },
    adminEnv,
  );
  expect(res.status).toBe(201);
  caseIds = [(await seedCase()).caseId, (await seedCase({ seed: 2 })).caseId];
});

describe("fuzz: admin API input validation", () => {
  const deltaBody = fc.oneof(
    fc.record({
      json: fc.oneof(json, fc.record({ ops: fc.oneof(json, fc.array(opLike, { maxLength: 5 })) })),
    }),
    fc.record({
      text: fc
        .array(fc.oneof(word, fc.constantFrom("\n", "+", "-", " ", ",", "<", "&#x110000;", "&#;")), {
          maxLength: 20,
        })
        .map((x) => x.join("")),
      format: fc.option(
        fc.constantFrom("plain", "csv", "ncmec-xml", "stopncii-json", "te-signals", "pdq-csv", "bogus", ""),
        { nil: undefined },
      ),
      algo: fc.option(word, { nil: undefined }),
      contentType: fc.constantFrom("text/plain", "application/json", "application/xml", ""),
    }),
  );

  async function postDelta(
    d: { json?: unknown; text?: string; format?: string; algo?: string; contentType?: string },
    id = listId,
  ) {
    const q = new URLSearchParams();
    if (d.format !== undefined) q.set("format", d.format);
    if (d.algo !== undefined) q.set("algo", d.algo);
    const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
    const ct = "json" in d ? "application/json" : d.contentType;
    if (ct) headers["content-type"] = ct;
    const body = "json" in d ? JSON.stringify(d.json) : d.text;
    const res = await admin.request(
      `/admin/lists/${encodeURIComponent(id)}/delta?${q}`,
      { method: "POST", headers, body },
      adminEnv,
    );
    await expectClean(res, `delta ${q} ${body?.slice(0, 120)}`);
  }

  it("replays the corpus against the delta route", async () => {
    const entries = corpus("api").filter((c) => c.name.startsWith("admin-"));
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) await postDelta({ json: JSON.parse(e.text) });
  });

  it("answers 2xx or a JSON 4xx to random delta bodies and query strings (property)", async () => {
    const runs = fuzzRuns(150);
    const t0 = Date.now();
    await fc.assert(
      fc.asyncProperty(deltaBody, fc.constantFrom("own", "missing", "weird"), async (d, which) => {
        const id = which === "own" ? listId : which === "missing" ? "no-such-list" : "..%2f%00é";
        await postDelta(d, id);
      }),
      { numRuns: runs, seed: fuzzSeed() },
    );
    logRun("api/admin-delta", runs, t0);
  });

  it("answers a JSON 4xx to random list definitions (property)", async () => {
    const runs = fuzzRuns(100);
    const t0 = Date.now();
    const def = fc.record(
      {
        id: word,
        provider: word,
        licenceRef: word,
        licensedUntil: fc.oneof(word, fc.constantFrom("2099-12-31", "2000-01-01", "9999-99-99")),
        allowedUses: fc.oneof(
          json,
          fc.array(fc.constantFrom("block", "flag", "report", "x"), { maxLength: 3 }),
        ),
        action: fc.oneof(word, fc.constantFrom("block", "flag")),
        algorithms: json,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.oneof(def, json), async (body) => {
        const res = await admin.request(
          "/admin/lists",
          {
            method: "POST",
            headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
            body: JSON.stringify(body),
          },
          adminEnv,
        );
        await expectClean(res, `create ${JSON.stringify(body).slice(0, 120)}`);
      }),
      { numRuns: runs, seed: fuzzSeed() },
    );
    logRun("api/admin-create", runs, t0);
  });
});

describe("fuzz: review API input validation", () => {
  const TOKENS = [VIEWER_TOKEN, REVIEWER_TOKEN, ADMIN_TOKEN];
  const route = fc.constantFrom(
    ["POST", "decision"],
    ["POST", "bulk"],
    ["PUT", "settings"],
    ["POST", "appeals"],
    ["POST", "resolve"],
    ["GET", "cases"],
    ["GET", "file"],
    ["GET", "case"],
  );
  const caseRef = fc.oneof(fc.constantFrom("seeded0", "seeded1"), word);
  const query = fc.array(
    fc.tuple(
      fc.constantFrom(
        "status",
        "list",
        "kind",
        "from",
        "to",
        "digest",
        "sort",
        "dir",
        "limit",
        "offset",
        "reason",
        "x",
      ),
      word,
    ),
    { maxLength: 5 },
  );

  async function call(
    r: readonly string[],
    token: string,
    ref: string,
    body: unknown,
    q: [string, string][],
  ) {
    const id = ref === "seeded0" ? caseIds[0]! : ref === "seeded1" ? caseIds[1]! : encodeURIComponent(ref);
    const qs = new URLSearchParams(q).toString();
    const path = {
      decision: `/api/cases/${id}/decision`,
      bulk: "/api/bulk",
      settings: "/api/settings",
      appeals: "/api/appeals",
      resolve: `/api/cases/${id}/report/resolve`,
      cases: `/api/cases?${qs}`,
      file: `/api/cases/${id}/files/${q[0]?.[1] ?? "0"}?${qs}`,
      case: `/api/cases/${id}`,
    }[r[1]!]!;
    const init: RequestInit = {
      method: r[0]!,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    };
    if (r[0] !== "GET") init.body = JSON.stringify(body);
    const res = await review.request(path, init, E);
    await expectClean(res, `${r[0]} ${path} ${JSON.stringify(body)?.slice(0, 120)}`);
  }

  it("replays the corpus against the review routes", async () => {
    const entries = corpus("api").filter((c) => c.name.startsWith("review-"));
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      const r = e.name.includes("bulk")
        ? ["POST", "bulk"]
        : e.name.includes("settings")
          ? ["PUT", "settings"]
          : e.name.includes("appeal")
            ? ["POST", "appeals"]
            : e.name.includes("resolve")
              ? ["POST", "resolve"]
              : ["POST", "decision"];
      for (const t of TOKENS) await call(r, t, "seeded0", JSON.parse(e.text), []);
    }
  });

  it("answers 2xx or a JSON 4xx to random bodies and queries on every route (property)", async () => {
    const runs = fuzzRuns(200);
    const t0 = Date.now();
    const body = fc.oneof(
      json,
      fc.record(
        {
          action: word,
          reason: word,
          allowList: json,
          digest: word,
          blur: json,
          greyscale: json,
          caseId: caseRef,
          complaint: word,
          reportId: json,
          resubmit: json,
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(route, fc.constantFrom(...TOKENS), caseRef, body, query, async (r, t, ref, b, q) => {
        await call(r, t, ref, b, q);
      }),
      { numRuns: runs, seed: fuzzSeed() },
    );
    logRun("api/review", runs, t0);
  });
});
