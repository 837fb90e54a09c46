/**
 * Browser test of the review UI (npm run test:browser): headless Debian Chromium driven by
 * playwright-core against `wrangler dev` on loopback. Seeds one case (a generated test-pattern
 * PNG: benign TEST DATA), signs in with a locally minted Access JWT (JWKS served here), opens
 * the queue, reveals the file, confirms the case (status and history update in place),
 * checks the audit trail and saves a screenshot (to docs/screenshots/review.png with UPDATE_SCREENSHOT=1, else to the temp
 * directory, so a test run leaves the work tree clean). Skips (exit 0) when /usr/bin/chromium
 * is absent.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { chromium } from "playwright-core";
import { getPlatformProxy } from "wrangler";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = resolve(import.meta.dirname, "../..");
const SCREENSHOT =
  process.env.UPDATE_SCREENSHOT === "1"
    ? join(ROOT, "docs/screenshots/review.png")
    : join(tmpdir(), "hashgate-review-screenshot.png");
const TEAM = "browser-test.cloudflareaccess.com";
const AUD = "browser-test-aud";
const REVIEWER = "reviewer@example.org";
const CASE_ID = "hg_01JDBRWSERTEST000000000000";

/** The slices of the D1 and R2 bindings this script uses (workers-types are not loaded in Node). */
interface Stmt {
  bind(...v: unknown[]): Stmt;
  run(): Promise<unknown>;
  all(): Promise<{ results: unknown[] }>;
}
interface SeedBindings {
  DB: { prepare(sql: string): Stmt };
  EVIDENCE: { put(key: string, value: string | Uint8Array): Promise<unknown> };
}

function fail(msg: string): never {
  throw new Error(`browser test: ${msg}`);
}

/** A 96×96 RGB test pattern as PNG (stored filter 0 rows, zlib-compressed). */
function testPatternPng(): Buffer {
  const w = 96;
  const h = 96;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 255) / w;
      raw[o + 1] = (y * 255) / h;
      raw[o + 2] = ((x >> 4) + (y >> 4)) % 2 ? 200 : 40;
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

async function seed(persist: string, png: Buffer): Promise<void> {
  const { createHash } = await import("node:crypto");
  const proxy = await getPlatformProxy<SeedBindings>({
    configPath: join(ROOT, "wrangler.toml"),
    persist: { path: join(persist, "v3") },
  });
  try {
    const db = proxy.env.DB;
    const dir = join(ROOT, "migrations");
    for (const f of (await readdir(dir)).filter((n) => n.endsWith(".sql")).sort()) {
      const sql = (await readFile(join(dir, f), "utf8")).replace(/^\s*--.*$/gm, "");
      for (const stmt of sql
        .split(/;\s*$/m)
        .map((s) => s.trim())
        .filter(Boolean))
        await db.prepare(stmt).run();
    }
    const at = new Date().toISOString();
    const msg = {
      type: "match",
      v: 1,
      caseId: CASE_ID,
      at,
      verdict: "block",
      request: {
        method: "POST",
        host: "uploads.example.com",
        path: "/upload",
        query: "",
        ip: "203.0.113.7",
        userAgent: "browser-test <b>agent</b>",
        identity: { "x-account-id": "u-<test>" },
        contentType: "multipart/form-data",
        contentLength: png.length + 200,
      },
      files: [
        {
          index: 0,
          field: "file",
          filename: "test-pattern <TEST DATA>.png",
          declaredType: "image/png",
          sniffedType: "image/png",
          size: png.length,
          digests: {
            md5: createHash("md5").update(png).digest("hex"),
            sha256: createHash("sha256").update(png).digest("hex"),
          },
          evidenceKey: `evidence/${CASE_ID}/file-0`,
          matches: [{ listId: "demo", kind: "exact", algo: "md5", action: "block", category: "test" }],
        },
      ],
    };
    await proxy.env.EVIDENCE.put(`evidence/${CASE_ID}/upload.json`, JSON.stringify(msg));
    await proxy.env.EVIDENCE.put(`evidence/${CASE_ID}/file-0`, png);
    await db
      .prepare(
        `INSERT INTO cases (id, created_at, verdict, status, source, uploader_ip, identity, request_path, file_count, list_ids, message, updated_at)
         VALUES (?1, ?2, 'block', 'new', 'queue', '203.0.113.7', ?3, '/upload', 1, '["demo"]', ?4, ?2)`,
      )
      .bind(CASE_ID, at, JSON.stringify(msg.request.identity), JSON.stringify(msg))
      .run();
  } finally {
    await proxy.dispose();
  }
}

async function auditRows(persist: string): Promise<{ actor: string; action: string; subject: string }[]> {
  const proxy = await getPlatformProxy<SeedBindings>({
    configPath: join(ROOT, "wrangler.toml"),
    persist: { path: join(persist, "v3") },
  });
  try {
    const r = await proxy.env.DB.prepare("SELECT actor, action, subject FROM audit_log ORDER BY id").all();
    return r.results as { actor: string; action: string; subject: string }[];
  } finally {
    await proxy.dispose();
  }
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function waitFor(url: string, child: ChildProcess, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) fail(`wrangler dev exited with ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  fail(`wrangler dev did not answer within ${ms} ms`);
}

async function main(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    console.log(`browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);
    return;
  }
  const work = await mkdtemp(join(tmpdir(), "hashgate-browser-"));
  const persist = join(work, "state");
  const png = testPatternPng();
  await seed(persist, png);

  // Access stand-in: a JWKS on loopback and a JWT signed with its key.
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: "b1", alg: "RS256", use: "sig" }],
  });
  const jwksServer = createServer((_req, res) =>
    res.writeHead(200, { "content-type": "application/json" }).end(jwks),
  );
  await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", r));
  const jwksPort = (jwksServer.address() as AddressInfo).port;
  const jwt = await new SignJWT({ email: REVIEWER })
    .setProtectedHeader({ alg: "RS256", kid: "b1" })
    .setIssuer(`https://${TEAM}`)
    .setAudience(AUD)
    .setExpirationTime("10m")
    .sign(privateKey);

  const port = await freePort();
  const envFile = join(work, "dev.env");
  await writeFile(
    envFile,
    [
      `ACCESS_TEAM_DOMAIN=${TEAM}`,
      `ACCESS_AUD=${AUD}`,
      `ACCESS_JWKS_URL=http://127.0.0.1:${jwksPort}/cdn-certs/jwks.json`,
      `REVIEW_ROLES=${REVIEWER}:reviewer`,
    ].join("\n"),
  );
  const wrangler = spawn(
    join(ROOT, "node_modules/.bin/wrangler"),
    [
      "dev",
      "--local",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--persist-to",
      persist,
      "--env-file",
      envFile,
      "--show-interactive-dev-session=false",
    ],
    {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let log = "";
  wrangler.stdout?.on("data", (d) => (log += d));
  wrangler.stderr?.on("data", (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    await waitFor(`${base}/review/static/review.css`, wrangler);
    const context = await browser.newContext({ viewport: { width: 1200, height: 1100 } });
    await context.addCookies([{ name: "CF_Authorization", value: jwt, url: base }]);
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") cspErrors.push(m.text());
    });

    // Queue: the seeded case is listed, uploader strings escaped.
    await page.goto(`${base}/review?status=new`);
    await page.getByRole("link", { name: CASE_ID }).click();
    await page.waitForURL(`**/review/cases/${CASE_ID}`);
    if (!(await page.getByText("test-pattern <TEST DATA>.png").isVisible()))
      fail("filename not shown as text");
    if ((await page.locator("img.evidence").count()) !== 0) fail("media shown before a reveal");

    // Reveal: refused without a reason, then shown blurred and greyscale.
    await page.getByRole("button", { name: "Reveal file 0" }).click();
    await page.getByText("State why you open this file").waitFor();
    await page.locator(".reveal-reason").fill("verify the match (browser test)");
    await page.getByRole("button", { name: "Reveal file 0" }).click();
    const img = page.locator("img.evidence");
    await img.waitFor();
    const shown = await img.evaluate((el) => ({
      w: (el as HTMLImageElement).naturalWidth,
      cls: el.className,
    }));
    if (shown.w !== 96) fail(`revealed image not decoded (naturalWidth ${shown.w})`);
    if (!shown.cls.includes("blurred") || !shown.cls.includes("grey")) fail(`not blurred+grey: ${shown.cls}`);

    // Decide: confirm with a reason.
    await page.locator(".decision-reason").fill("matches the test list (browser test)");
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByText("Done: confirmed.").waitFor();
    if ((await page.locator("#case-status").textContent()) !== "confirmed") fail("status not updated");
    // The history shows the decision without a reload.
    await page
      .locator("#case-history li", { hasText: "matches the test list (browser test)" })
      .waitFor({ timeout: 5000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    if (cspErrors.length) fail(`console errors (CSP?): ${cspErrors.join(" | ")}`);
    await context.close();
  } catch (e) {
    console.error(log.slice(-4000));
    throw e;
  } finally {
    await browser.close();
    wrangler.kill("SIGTERM");
    await new Promise((r) => wrangler.once("exit", r));
    jwksServer.close();
  }

  const rows = await auditRows(persist);
  const reveal = rows.find((r) => r.action === "evidence.reveal");
  const decision = rows.find((r) => r.action === "case.transition");
  if (!reveal || reveal.actor !== REVIEWER || reveal.subject !== `case:${CASE_ID}/file-0`)
    fail("reveal not audited");
  if (!decision || decision.actor !== REVIEWER) fail("decision not audited");
  await rm(work, { recursive: true, force: true });
  console.log(`browser test passed: queue, reveal (audited), confirm; screenshot ${SCREENSHOT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
