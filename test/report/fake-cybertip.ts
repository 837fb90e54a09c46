// A fake CyberTipline reporting API as the documentation describes it (reportResponse XML,
// response codes, Basic auth), served through an injected fetch. Failures are scripted per
// endpoint: a response code, or "network" (the request throws, as if the connection dropped
// after the server acted: `actFirst`).
import { XMLParser } from "fast-xml-parser";

type Failure = { code: number | "network"; actFirst?: boolean };

export class FakeCyberTip {
  readonly base = "https://cybertip.fake/ispws";
  readonly calls: { path: string; body: string }[] = [];
  readonly reports = new Map<
    string,
    { xml: string; files: Map<string, { name: string; md5: string; info?: string }>; state: string }
  >();
  private next = 1000;
  private failures = new Map<string, Failure[]>();
  readonly username = "esp-user";
  readonly password = "s3cret";

  fail(path: string, ...f: Failure[]) {
    this.failures.set(path, [...(this.failures.get(path) ?? []), ...f]);
  }

  count(path: string): number {
    return this.calls.filter((c) => c.path === path).length;
  }

  private respond(code: number, desc: string, extra = ""): Response {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><reportResponse><responseCode>${code}</responseCode><responseDescription>${desc}</responseDescription>${extra}</reportResponse>`;
    return new Response(xml, {
      status: code === 0 ? 200 : code === 2000 ? 401 : code < 2000 ? 500 : 400,
      headers: { "content-type": "text/xml" },
    });
  }

  fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    const path = new URL(req.url).pathname.replace("/ispws", "");
    const auth = req.headers.get("authorization");
    const body = path === "/submit" || path === "/fileinfo" ? await req.clone().text() : "(multipart)";
    this.calls.push({ path, body });
    if (auth !== `Basic ${btoa(`${this.username}:${this.password}`)}`)
      return this.respond(2000, "Authentication required");
    const f = this.failures.get(path)?.shift();
    if (f && f.code === "network" && !f.actFirst) throw new TypeError("network connection lost");
    if (f && typeof f.code === "number") return this.respond(f.code, "scripted failure");
    const res = await this.handle(path, req);
    if (f && f.code === "network") throw new TypeError("connection reset after the server acted");
    return res;
  };

  private async handle(path: string, req: Request): Promise<Response> {
    if (path === "/submit") {
      const xml = await req.text();
      if (!xml.includes("<incidentType>")) return this.respond(4100, "Validation failed");
      const id = String(this.next++);
      this.reports.set(id, { xml, files: new Map(), state: "open" });
      return this.respond(0, "Success", `<reportId>${id}</reportId>`);
    }
    if (path === "/upload") {
      const form = await req.formData();
      const r = this.reports.get(String(form.get("id")));
      if (!r) return this.respond(5001, "Report missing");
      if (r.state !== "open") return this.respond(r.state === "finished" ? 5102 : 5101, "closed");
      const file = form.get("file") as File;
      const bytes = new Uint8Array(await file.arrayBuffer());
      const md5 = [...new Uint8Array(await crypto.subtle.digest("MD5", bytes))]
        .map((b) => b.toString(16).padStart(2, "0"))
        .join("");
      const fileId = `f${this.next++}`;
      r.files.set(fileId, { name: file.name, md5 });
      return this.respond(
        0,
        "Success",
        `<reportId>${form.get("id")}</reportId><fileId>${fileId}</fileId><hash>${md5}</hash>`,
      );
    }
    if (path === "/fileinfo") {
      const xml = await req.text();
      const doc = new XMLParser({ parseTagValue: false }).parse(xml) as {
        fileDetails?: { reportId?: string; fileId?: string };
      };
      const r = this.reports.get(String(doc.fileDetails?.reportId));
      const f = r?.files.get(String(doc.fileDetails?.fileId));
      if (!r) return this.respond(5001, "Report missing");
      if (!f) return this.respond(5002, "File missing");
      f.info = xml;
      return this.respond(0, "Success");
    }
    if (path === "/finish" || path === "/retract") {
      const form = await req.formData();
      const r = this.reports.get(String(form.get("id")));
      if (!r) return this.respond(5001, "Report missing");
      if (r.state === "finished") return this.respond(5102, "Already finished");
      if (r.state === "retracted") return this.respond(5101, "Already retracted");
      r.state = path === "/finish" ? "finished" : "retracted";
      return this.respond(0, "Success");
    }
    return this.respond(4000, "Invalid request");
  }
}
