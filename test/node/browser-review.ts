/**
 * Browser test of the review UI (npm run test:browser): headless Debian Chromium driven by
 * playwright-core against `wrangler dev` on loopback. Seeds three cases (a generated test-pattern
 * PNG and benign bytes: TEST DATA), meets the sign-in page, signs in with the local one-time
 * link (LOCAL_SIGNIN, as `npm start` prints it), uses the queue's views and filters, takes the
 * next case with `n` (claim), opens the shortcut help with `?`, reveals with `r` (exposure count,
 * history), confirms with `c`, previews the CyberTipline report and submits it after the
 * explicit acknowledgement against the fake CyberTipline (test/report/fake-cybertip.ts, served
 * on loopback), and bulk-dismisses two cases by digest. Checks the audit trail and saves
 * screenshots (to docs/screenshots/ with UPDATE_SCREENSHOT=1, else to the temp directory, so a
 * test run leaves the work tree clean). Skips (exit 0) when /usr/bin/chromium is absent.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { crc32, deflateSync } from "node:zlib";
import { chromium } from "playwright-core";
import { getPlatformProxy } from "wrangler";
import { FakeCyberTip } from "../report/fake-cybertip.ts";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = resolve(import.meta.dirname, "../..");
const SHOTS = process.env.UPDATE_SCREENSHOT === "1" ? join(ROOT, "docs/screenshots") : tmpdir();
const SCREENSHOT = join(SHOTS, "review.png");
const REVIEWER = "local-reviewer@localhost";
const CASE_ID = "hg_01JDBRWSERTEST000000000000";
const BULK_IDS = ["hg_01JDBRWSERTEST000000000001", "hg_01JDBRWSERTEST000000000002"];
const BULK_BYTES = Buffer.from("benign bulk test bytes (TEST DATA)");
const SIGNIN_CODE = "browser-test-code-0123456789";

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
    // Two later uploads of one other file by another account: the bulk decision's target.
    const bulkSha = createHash("sha256").update(BULK_BYTES).digest("hex");
    for (const [i, id] of BULK_IDS.entries()) {
      const later = new Date(Date.parse(at) + (i + 1) * 1000).toISOString();
      const m = {
        ...msg,
        caseId: id,
        at: later,
        request: { ...msg.request, ip: "198.51.100.2", identity: { "x-account-id": "u-bulk" } },
        files: [
          {
            ...msg.files[0]!,
            filename: "bulk.bin",
            sniffedType: "application/octet-stream",
            size: BULK_BYTES.length,
            digests: { md5: createHash("md5").update(BULK_BYTES).digest("hex"), sha256: bulkSha },
            evidenceKey: `evidence/${id}/file-0`,
            matches: [{ listId: "Demo", kind: "exact", algo: "sha256", action: "block", category: "test" }],
          },
        ],
      };
      await proxy.env.EVIDENCE.put(`evidence/${id}/file-0`, BULK_BYTES);
      await db
        .prepare(
          `INSERT INTO cases (id, created_at, verdict, status, source, uploader_ip, identity, request_path, file_count, list_ids, message, updated_at)
           VALUES (?1, ?2, 'block', 'new', 'queue', '198.51.100.2', ?3, '/upload', 1, '["Demo"]', ?4, ?2)`,
        )
        .bind(id, later, JSON.stringify(m.request.identity), JSON.stringify(m))
        .run();
    }
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

  // The fake CyberTipline, served on loopback for the Worker under wrangler dev. It checks
  // uploads' MD5 with crypto.subtle as workerd offers it; Node's WebCrypto has no MD5.
  const { createHash } = await import("node:crypto");
  const subtleDigest = crypto.subtle.digest.bind(crypto.subtle);
  crypto.subtle.digest = ((algo: AlgorithmIdentifier, data: BufferSource) =>
    algo === "MD5"
      ? Promise.resolve(
          new Uint8Array(
            createHash("md5")
              .update(
                ArrayBuffer.isView(data)
                  ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
                  : new Uint8Array(data),
              )
              .digest(),
          ).buffer,
        )
      : subtleDigest(algo, data)) as typeof crypto.subtle.digest;
  const cybertip = new FakeCyberTip();
  const ctServer = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const r = await cybertip.fetch(`${cybertip.base}${(req.url ?? "").replace(/^\/ispws/, "")}`, {
      method: req.method ?? "GET",
      headers: Object.fromEntries(
        ["authorization", "content-type"].flatMap((h) =>
          req.headers[h] ? [[h, String(req.headers[h])]] : [],
        ),
      ),
      ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
    });
    res
      .writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "text/xml" })
      .end(Buffer.from(await r.arrayBuffer()));
  });
  await new Promise<void>((r) => ctServer.listen(0, "127.0.0.1", r));
  const ctPort = (ctServer.address() as AddressInfo).port;

  const port = await freePort();
  const envFile = join(work, "dev.env");
  await writeFile(
    envFile,
    [
      // As scripts/dev.ts sets them for `npm start`: local sign-in with a one-time code.
      "LOCAL_SIGNIN=true",
      `LOCAL_SIGNIN_CODE=${SIGNIN_CODE}`,
      `LOCAL_SIGNIN_EXPIRES=${new Date(Date.now() + 600_000).toISOString()}`,
      "REPORT_KIND=cybertip",
      `CYBERTIP_BASE_URL=http://127.0.0.1:${ctPort}/ispws`,
      `CYBERTIP_USERNAME=${cybertip.username}`,
      `CYBERTIP_PASSWORD=${cybertip.password}`,
      "REPORTER_EMAIL=trust-and-safety@example.org",
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
    const page = await context.newPage();
    const cspErrors: string[] = [];
    page.on("console", (m) => {
      // The sign-in page's 401 is logged by Chromium as a failed resource; it is expected.
      if (m.type() === "error" && !m.text().includes("401")) cspErrors.push(m.text());
    });
    page.on("dialog", (d) => void d.accept());

    // Not signed in: a sign-in page (not JSON) that explains Access and the local link.
    const first = await page.goto(`${base}/review`);
    if (first?.status() !== 401) fail(`unauthenticated /review answered ${first?.status()}`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    if (!(await page.getByText("Cloudflare Access").first().isVisible()))
      fail("sign-in page does not explain Access");
    // The link `npm start` prints, as a reviewer.
    await page.goto(`${base}/review/signin?code=${SIGNIN_CODE}&role=reviewer`);
    await page.waitForURL(`${base}/review`);
    await page.getByText(`${REVIEWER} (reviewer)`).waitFor();

    // Queue: open work by default, counts, the case-insensitive list filter.
    await page.locator("a.tab.current", { hasText: "open 3" }).waitFor();
    // "demo" and "Demo" are one list to a reviewer.
    await page.goto(`${base}/review?status=open&list=DEMO`);
    if ((await page.locator("table.queue tbody tr[data-case]").count()) !== 3)
      fail("list=DEMO did not match demo and Demo");
    await page.goto(`${base}/review?status=open`);
    await page.keyboard.press("j");
    await page.locator("tr.selected", { hasText: CASE_ID }).waitFor();
    await page.screenshot({ path: join(SHOTS, "review-queue.png"), fullPage: true });

    // Shortcuts: ? shows the help; n takes the oldest open case nobody has (a claim).
    await page.keyboard.press("?");
    await page.locator("#shortcuts").waitFor({ state: "visible" });
    await page.keyboard.press("Escape");
    await page.keyboard.press("n");
    await page.waitForURL(`**/review/cases/${CASE_ID}`);
    await page.getByText("You have this case until").waitFor();
    if (!(await page.getByText("test-pattern <TEST DATA>.png").isVisible()))
      fail("filename not shown as text");
    if ((await page.locator("img.evidence").count()) !== 0) fail("media shown before a reveal");

    // r: asks for the reason first (focus in the field: shortcuts are off), then reveals.
    await page.keyboard.press("r");
    await page.getByText("State why you open this file").waitFor();
    await page.keyboard.type("verify the match (browser test)");
    await page.keyboard.press("Escape");
    await page.keyboard.press("r");
    const img = page.locator("img.evidence");
    await img.waitFor();
    const shown = await img.evaluate((el) => ({
      w: (el as HTMLImageElement).naturalWidth,
      cls: el.className,
    }));
    if (shown.w !== 96) fail(`revealed image not decoded (naturalWidth ${shown.w})`);
    if (!shown.cls.includes("blurred") || !shown.cls.includes("grey")) fail(`not blurred+grey: ${shown.cls}`);
    if ((await page.locator("#exposure-count").textContent()) !== "1") fail("exposure count not 1");
    await page.locator("#case-history li", { hasText: "revealed file 0" }).waitFor({ timeout: 5000 });

    // c: confirm with a reason (typed first; the shortcut waits for it).
    await page.locator(".decision-reason").fill("matches the test list (browser test)");
    await page.locator(".decision-reason").press("Escape");
    await page.keyboard.press("c");
    await page.getByText("Done: confirmed.").waitFor();
    if ((await page.locator("#case-status").textContent()) !== "confirmed") fail("status not updated");
    if (!(await page.locator('button[data-action="confirm"]').isDisabled())) fail("confirm still enabled");
    await page
      .locator("#case-history li", { hasText: "matches the test list (browser test)" })
      .waitFor({ timeout: 5000 });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Report: preview (fields + XML, nothing sent), acknowledgement, then submit.
    await page.getByRole("button", { name: "Report…" }).click();
    await page.locator(".report-xml", { hasText: "<email>trust-and-safety@example.org</email>" }).waitFor();
    if (cybertip.calls.length !== 0) fail("the preview sent something");
    if (!(await page.getByRole("button", { name: "Submit report" }).isDisabled()))
      fail("submit enabled before ack");
    await page.screenshot({ path: join(SHOTS, "review-report.png"), fullPage: true });
    await page.locator(".report-ack").check();
    await page.getByRole("button", { name: "Submit report" }).click();
    await page.getByText(/^Reported/).waitFor({ timeout: 20_000 });
    if ((await page.locator("#case-status").textContent()) !== "reported") fail("status not reported");
    if (cybertip.reports.size !== 1) fail(`fake CyberTipline has ${cybertip.reports.size} reports`);

    // Bulk: both open cases with the other file's digest, with the count and a reason.
    const bulkSha = (await import("node:crypto")).createHash("sha256").update(BULK_BYTES).digest("hex");
    await page.goto(`${base}/review?status=open&digest=${bulkSha}`);
    await page.getByRole("button", { name: "Dismiss all 2" }).click();
    await page.getByText("Give a reason first.").waitFor();
    await page.locator(".bulk-reason").fill("benign test bytes (browser test)");
    await page.getByRole("button", { name: "Dismiss all 2" }).click();
    await page.getByText("2 of 2 case(s) dismissed").waitFor();

    if (cspErrors.length) fail(`console errors (CSP?): ${cspErrors.join(" | ")}`);
    await context.close();
  } catch (e) {
    console.error(log.slice(-4000));
    throw e;
  } finally {
    await browser.close();
    wrangler.kill("SIGTERM");
    await new Promise((r) => wrangler.once("exit", r));
    ctServer.close();
  }

  const rows = await auditRows(persist);
  const reveal = rows.find((r) => r.action === "evidence.reveal");
  const decision = rows.find((r) => r.action === "case.transition");
  if (!reveal || reveal.actor !== REVIEWER || reveal.subject !== `case:${CASE_ID}/file-0`)
    fail("reveal not audited");
  if (!decision || decision.actor !== REVIEWER) fail("decision not audited");
  await rm(work, { recursive: true, force: true });
  const bulk = rows.filter(
    (r) => r.action === "case.transition" && BULK_IDS.some((id) => r.subject === `case:${id}`),
  );
  if (bulk.length !== 2) fail(`bulk decisions audited: ${bulk.length}`);
  console.log(
    `browser test passed: sign-in, queue, claim, shortcuts, reveal (audited), confirm, report preview + submit, bulk; screenshots in ${SHOTS}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
