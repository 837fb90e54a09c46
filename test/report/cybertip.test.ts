// CyberTipline XML, validation, client retries and the resumable, idempotent report flow,
// against a fake server (test/report/fake-cybertip.ts). All case data is synthetic test data.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { CyberTipClient, CyberTipError, parseResponse } from "../../src/report/cybertip-client.ts";
import { reportStore } from "../../src/report/store.ts";
import { ReportValidationError, validateFileInfoXml, validateReportXml } from "../../src/report/validate.ts";
import { buildFileInfoXml, buildReportXml, escapeXml } from "../../src/report/xml.ts";
import { createReviewApp } from "../../src/review/app.ts";
import {
  ADMIN_TOKEN,
  bearer,
  jsonPost,
  REVIEWER_TOKEN,
  resetDb,
  reviewEnv,
  seedCase,
  testKeys,
} from "../helpers/cases.ts";
import { FakeCyberTip } from "./fake-cybertip.ts";

const noSleep = async () => {};
const reporter = {
  email: "tns@example.org",
  firstName: "Trust",
  lastName: "Safety",
  espService: "Example Uploads",
};

function setup() {
  const fake = new FakeCyberTip();
  const app = createReviewApp({ keys: testKeys, fetch: fake.fetch, sleep: noSleep });
  const E = reviewEnv({
    CYBERTIP_BASE_URL: fake.base,
    CYBERTIP_USERNAME: fake.username,
    CYBERTIP_PASSWORD: fake.password,
    REPORTER_EMAIL: reporter.email,
    REPORTER_ESP_SERVICE: reporter.espService,
  });
  const report = (id: string) => app.request(`/api/cases/${id}/report`, jsonPost(REVIEWER_TOKEN, {}), E);
  const confirm = (id: string) =>
    app.request(
      `/api/cases/${id}/decision`,
      jsonPost(REVIEWER_TOKEN, { action: "confirm", reason: "match verified" }),
      E,
    );
  const status = async (id: string) =>
    ((await (await app.request(`/api/cases/${id}`, bearer(REVIEWER_TOKEN), E)).json()) as { status: string })
      .status;
  return { fake, app, E, report, confirm, status };
}

beforeEach(resetDb);

describe("report XML", () => {
  it("builds a report that validates, with the uploader's IP capture event and escaped values", async () => {
    const m = await seedCase({ identity: { "x-account-id": `u<1>&"x"` } });
    const xml = buildReportXml(m, reporter);
    validateReportXml(xml);
    expect(xml).toContain(
      "<incidentType>Child Pornography (possession, manufacture, and distribution)</incidentType>",
    );
    expect(xml).toContain(`<incidentDateTime>${m.at}</incidentDateTime>`);
    expect(xml).toContain("<ipCaptureEvent><ipAddress>203.0.113.7</ipAddress><eventName>Upload</eventName>");
    expect(xml).toContain("<espIdentifier>u&lt;1&gt;&amp;&quot;x&quot;</espIdentifier>");
    expect(xml).toContain("<url>https://uploads.example.com/upload</url>");
  });

  it("per file: fileViewedByEsp as given, exif/public false, hashes, A1/A2/B1/B2 classification only", async () => {
    const m = await seedCase({
      filename: "a<b>&\u0001.png",
      hits: [{ category: "B1" }, { listId: "x", category: "A2" }],
    });
    const f = m.files[0]!;
    const viewed = buildFileInfoXml("77", "f1", f, m, true);
    validateFileInfoXml(viewed);
    expect(viewed).toContain("<fileViewedByEsp>true</fileViewedByEsp>");
    expect(viewed).toContain(
      "<exifViewedByEsp>false</exifViewedByEsp><publiclyAvailable>false</publiclyAvailable>",
    );
    expect(viewed).toContain("<industryClassification>A2</industryClassification>");
    expect(viewed).toContain(`<originalFileHash hashType="MD5">${f.digests.md5}</originalFileHash>`);
    expect(viewed).toContain("<originalFileName>a&lt;b&gt;&amp;.png</originalFileName>");
    const unviewed = buildFileInfoXml(
      "77",
      "f1",
      { ...f, matches: [{ ...f.matches[0]!, category: "test" }] },
      m,
      false,
    );
    expect(unviewed).toContain("<fileViewedByEsp>false</fileViewedByEsp>");
    expect(unviewed).not.toContain("industryClassification");
  });

  it("validation refuses malformed XML, wrong enum values, missing reporter email, wrong order", () => {
    const ok = `<report><incidentSummary><incidentType>Child Sex Trafficking</incidentType><incidentDateTime>2026-01-01T00:00:00Z</incidentDateTime></incidentSummary><reporter><reportingPerson><email>a@b.org</email></reportingPerson></reporter></report>`;
    validateReportXml(ok);
    const bad = [
      ok.replace("</report>", ""),
      ok.replace("Child Sex Trafficking", "Something Else"),
      ok.replace("2026-01-01T00:00:00Z", "yesterday"),
      ok.replace("<email>a@b.org</email>", ""),
      ok
        .replace(/<reporter>.*<\/reporter>/, "")
        .replace(
          "<report>",
          "<report><reporter><reportingPerson><email>a@b.org</email></reportingPerson></reporter>",
        ),
      ok.replace("a@b.org", "a&b"),
    ];
    for (const x of bad) expect(() => validateReportXml(x), x).toThrow(ReportValidationError);
    expect(() =>
      validateFileInfoXml(
        "<fileDetails><reportId>1</reportId><fileId>2</fileId><fileViewedByEsp>yes</fileViewedByEsp></fileDetails>",
      ),
    ).toThrow(ReportValidationError);
    expect(() =>
      validateFileInfoXml(
        "<fileDetails><reportId>1</reportId><fileId>2</fileId><industryClassification>C9</industryClassification></fileDetails>",
      ),
    ).toThrow(ReportValidationError);
    expect(escapeXml("<&>\"'")).toBe("&lt;&amp;&gt;&quot;&apos;");
  });
});

describe("CyberTipClient", () => {
  it("parses responses and retries only 1000/1100/1110/1111, and network errors only on idempotent steps", async () => {
    expect(
      parseResponse("<reportResponse><responseCode>0</responseCode><reportId>42</reportId></reportResponse>"),
    ).toMatchObject({ responseCode: 0, reportId: "42" });
    const fake = new FakeCyberTip();
    const client = new CyberTipClient({
      baseUrl: fake.base,
      username: fake.username,
      password: fake.password,
      fetch: fake.fetch,
      sleep: noSleep,
    });
    fake.fail("/submit", { code: 1000 }, { code: 1100 });
    const id = await client.submit(buildReportXml(await seedCase(), reporter));
    expect(fake.count("/submit")).toBe(3);
    fake.fail("/upload", { code: 1110 }, { code: 1111 });
    const up = await client.upload(id, "x.png", new Uint8Array([1, 2, 3]));
    expect(up.fileId).toMatch(/^f/);
    expect(fake.count("/upload")).toBe(3);
    // An upload is not idempotent: a lost connection is not retried (the file may be stored).
    fake.fail("/upload", { code: "network" });
    await expect(client.upload(id, "y.png", new Uint8Array([4]))).rejects.toMatchObject({ code: -1 });
    expect(fake.count("/upload")).toBe(4);
    fake.fail("/fileinfo", { code: 4100 });
    await expect(client.fileInfo("<fileDetails/>")).rejects.toMatchObject({ code: 4100, retryable: false });
    expect(fake.count("/fileinfo")).toBe(1);
    fake.fail("/submit", { code: "network" });
    await expect(client.submit("<report/>")).rejects.toBeInstanceOf(CyberTipError);
    expect(fake.count("/submit")).toBe(4);
  });

  it("reports wrong credentials as code 2000 without retrying", async () => {
    const fake = new FakeCyberTip();
    const client = new CyberTipClient({
      baseUrl: fake.base,
      username: "x",
      password: "y",
      fetch: fake.fetch,
      sleep: noSleep,
    });
    await expect(client.finish("1")).rejects.toMatchObject({ code: 2000 });
    expect(fake.count("/finish")).toBe(1);
  });
});

describe("report flow", () => {
  it("submits, uploads, sends fileinfo and finishes; stores id and XML; case becomes reported", async () => {
    const { fake, app, E, report, confirm, status } = setup();
    const m = await seedCase({ hits: [{ category: "A1" }] });
    expect((await report(m.caseId)).status).toBe(409); // not confirmed yet
    await app.request(`/api/cases/${m.caseId}/files/0?reason=verify`, bearer(REVIEWER_TOKEN), E);
    await confirm(m.caseId);
    const r = await report(m.caseId);
    expect(r.status).toBe(200);
    const out = (await r.json()) as { reportId: string; state: string };
    expect(out.state).toBe("finished");
    const sent = fake.reports.get(out.reportId)!;
    expect(sent.state).toBe("finished");
    const [file] = [...sent.files.values()];
    expect(file!.md5).toBe(m.files[0]!.digests.md5);
    expect(file!.info).toContain("<fileViewedByEsp>true</fileViewedByEsp>");
    expect(file!.info).toContain("<industryClassification>A1</industryClassification>");
    const row = await reportStore(env.DB).get(m.caseId);
    expect(row).toMatchObject({ report_id: out.reportId, state: "finished", xml: sent.xml });
    expect(await status(m.caseId)).toBe("reported");
    // Asking again yields the same report, not a second one.
    expect(((await (await report(m.caseId)).json()) as { reportId: string }).reportId).toBe(out.reportId);
    expect(fake.count("/submit")).toBe(1);
  });

  it("says fileViewedByEsp false when no reviewer revealed the file", async () => {
    const { fake, report, confirm } = setup();
    const m = await seedCase();
    await confirm(m.caseId);
    const { reportId } = (await (await report(m.caseId)).json()) as { reportId: string };
    expect([...fake.reports.get(reportId)!.files.values()][0]!.info).toContain(
      "<fileViewedByEsp>false</fileViewedByEsp>",
    );
  });

  it("resumes after a failure mid-flow without a second submit", async () => {
    const { fake, report, confirm, status } = setup();
    const m = await seedCase();
    await confirm(m.caseId);
    fake.fail("/fileinfo", { code: 4200 });
    expect((await report(m.caseId)).status).toBe(502);
    expect((await reportStore(env.DB).get(m.caseId))?.state).toBe("submitted");
    expect(await status(m.caseId)).toBe("confirmed");
    const r = await report(m.caseId);
    expect(r.status).toBe(200);
    expect(fake.count("/submit")).toBe(1);
    expect(fake.count("/upload")).toBe(1);
    expect(await status(m.caseId)).toBe("reported");
  });

  it("never resubmits when a submit's outcome is unknown; an admin resolves it with the report id", async () => {
    const { fake, app, E, report, confirm, status } = setup();
    const m = await seedCase();
    await confirm(m.caseId);
    fake.fail("/submit", { code: "network", actFirst: true });
    expect((await report(m.caseId)).status).toBe(409);
    expect((await report(m.caseId)).status).toBe(409);
    expect(fake.count("/submit")).toBe(1);
    const [reportId] = [...fake.reports.keys()];
    const resolve = await app.request(
      `/api/cases/${m.caseId}/report/resolve`,
      jsonPost(ADMIN_TOKEN, { reportId }),
      E,
    );
    expect(resolve.status).toBe(200);
    expect(((await (await report(m.caseId)).json()) as { reportId: string }).reportId).toBe(reportId);
    expect(fake.count("/submit")).toBe(1);
    expect(await status(m.caseId)).toBe("reported");
  });

  it("a rejected submit (validation code) is not retried and may be submitted again later", async () => {
    const { fake, report, confirm } = setup();
    const m = await seedCase();
    await confirm(m.caseId);
    fake.fail("/submit", { code: 4100 });
    expect((await report(m.caseId)).status).toBe(422);
    expect(fake.count("/submit")).toBe(1);
    expect((await reportStore(env.DB).get(m.caseId))?.state).toBe("rejected");
    expect((await report(m.caseId)).status).toBe(200);
    expect(fake.count("/submit")).toBe(2);
    expect(fake.reports.size).toBe(1);
  });

  it("treats a finish whose answer was lost (5102 on retry) as finished", async () => {
    const { fake, report, confirm } = setup();
    const m = await seedCase();
    await confirm(m.caseId);
    fake.fail("/finish", { code: "network", actFirst: true });
    expect((await report(m.caseId)).status).toBe(200);
    expect((await reportStore(env.DB).get(m.caseId))?.state).toBe("finished");
  });

  it("retracts an unfinished report (admin only)", async () => {
    const { fake, app, E, report, confirm } = setup();
    const m = await seedCase();
    await confirm(m.caseId);
    fake.fail("/upload", { code: 4200 });
    await report(m.caseId);
    const url = `/api/cases/${m.caseId}/report/retract`;
    expect((await app.request(url, jsonPost(REVIEWER_TOKEN, {}), E)).status).toBe(403);
    expect((await app.request(url, jsonPost(ADMIN_TOKEN, {}), E)).status).toBe(200);
    expect([...fake.reports.values()][0]!.state).toBe("retracted");
    expect((await report(m.caseId)).status).toBe(409);
  });

  it("answers 503 when reporting is not configured", async () => {
    const app = createReviewApp({ keys: testKeys });
    const m = await seedCase();
    const r = await app.request(`/api/cases/${m.caseId}/report`, jsonPost(REVIEWER_TOKEN, {}), reviewEnv());
    expect(r.status).toBe(503);
  });
});

describe("webhook reporter", () => {
  it("posts the case as signed JSON with the case id as idempotency key, retrying server errors", async () => {
    const got: { headers: Headers; body: string }[] = [];
    let failures = 1;
    const fetchFn = async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = new Request(input, init);
      got.push({ headers: req.headers, body: await req.text() });
      if (failures-- > 0) return new Response("busy", { status: 503 });
      return Response.json({ id: "pipeline-7" });
    };
    const app = createReviewApp({ keys: testKeys, fetch: fetchFn, sleep: noSleep });
    const E = reviewEnv({
      REPORT_KIND: "webhook",
      REPORT_WEBHOOK_URL: "https://pipeline.example/hook",
      REPORT_WEBHOOK_SECRET: "k",
    });
    const m = await seedCase();
    await app.request(
      `/api/cases/${m.caseId}/decision`,
      jsonPost(REVIEWER_TOKEN, { action: "confirm", reason: "ok" }),
      E,
    );
    const r = await app.request(`/api/cases/${m.caseId}/report`, jsonPost(REVIEWER_TOKEN, {}), E);
    expect(await r.json()).toMatchObject({ kind: "webhook", state: "finished", reportId: "pipeline-7" });
    expect(got).toHaveLength(2);
    expect(got[1]!.headers.get("idempotency-key")).toBe(m.caseId);
    const body = JSON.parse(got[1]!.body) as { caseId: string; files: { viewedByReviewer: boolean }[] };
    expect(body.caseId).toBe(m.caseId);
    expect(body.files[0]!.viewedByReviewer).toBe(false);
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode("k"),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    const sig = got[1]!.headers.get("x-hashgate-signature")!.slice(7);
    const sigBytes = new Uint8Array(sig.match(/../g)!.map((h) => Number.parseInt(h, 16)));
    expect(await crypto.subtle.verify("HMAC", key, sigBytes, new TextEncoder().encode(got[1]!.body))).toBe(
      true,
    );
  });
});
