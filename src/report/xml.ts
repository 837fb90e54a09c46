/**
 * CyberTipline report XML, built from a confirmed case. Element names and order follow NCMEC's
 * published schema as summarised in the project's CyberTipline reference notes (verify against
 * `GET /xsd` of the test endpoint before going live). Every text value is escaped here, in one
 * place; `validate.ts` re-parses the result before anything is sent.
 */
import type { MatchedFile, MatchMessage } from "../cases/messages.ts";

export const INCIDENT_TYPES = [
  "Child Pornography (possession, manufacture, and distribution)",
  "Child Sex Trafficking",
  "Child Sex Tourism",
  "Child Sexual Molestation",
  "Misleading Domain Name",
  "Misleading Words or Digital Images on the Internet",
  "Online Enticement of Children for Sexual Acts",
  "Unsolicited Obscene Material Sent to a Child",
] as const;
export type IncidentType = (typeof INCIDENT_TYPES)[number];

/** Industry classification categories, most severe first (a file in several takes the first). */
export const INDUSTRY_CLASSIFICATIONS = ["A1", "A2", "B1", "B2"] as const;

export interface ReporterConfig {
  email: string;
  firstName?: string;
  lastName?: string;
  /** The platform's service name (personOrUserReported/espService). */
  espService?: string;
}

/** An XML element: name, attributes, children (elements or text). */
export interface XmlNode {
  name: string;
  attrs?: Record<string, string>;
  children: (XmlNode | string)[];
}

export function el(name: string, ...children: (XmlNode | string | null | undefined)[]): XmlNode {
  return { name, children: children.filter((c): c is XmlNode | string => c !== null && c !== undefined) };
}

/** XML 1.0 forbids most control characters even when escaped: drop them. */
function isXmlChar(code: number): boolean {
  if (code < 0x20) return code === 0x09 || code === 0x0a || code === 0x0d;
  return code !== 0xfffe && code !== 0xffff;
}

export function escapeXml(s: string): string {
  return [...s]
    .filter((ch) => isXmlChar(ch.codePointAt(0) ?? 0))
    .join("")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

export function serialize(node: XmlNode): string {
  const attrs = Object.entries(node.attrs ?? {})
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join("");
  const inner = node.children.map((c) => (typeof c === "string" ? escapeXml(c) : serialize(c))).join("");
  return `<${node.name}${attrs}>${inner}</${node.name}>`;
}

export function toDocument(root: XmlNode): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serialize(root)}`;
}

function ipCaptureEvent(ip: string | null, at: string): XmlNode | null {
  if (!ip) return null;
  return el("ipCaptureEvent", el("ipAddress", ip), el("eventName", "Upload"), el("dateTime", at));
}

/** Builds the `report` document (POST /submit) for a case. */
export function buildReportXml(
  msg: MatchMessage,
  reporter: ReporterConfig,
  incidentType: IncidentType = INCIDENT_TYPES[0],
): string {
  const url = `https://${msg.request.host}${msg.request.path}`;
  const ids = Object.values(msg.request.identity);
  const person =
    msg.request.ip || ids.length > 0
      ? el(
          "personOrUserReported",
          ids[0] ? el("espIdentifier", ids[0]) : null,
          reporter.espService ? el("espService", reporter.espService) : null,
          ipCaptureEvent(msg.request.ip, msg.at),
        )
      : null;
  const root = el(
    "report",
    el("incidentSummary", el("incidentType", incidentType), el("incidentDateTime", msg.at)),
    el("internetDetails", el("webPageIncident", el("url", url))),
    el(
      "reporter",
      el(
        "reportingPerson",
        reporter.firstName ? el("firstName", reporter.firstName) : null,
        reporter.lastName ? el("lastName", reporter.lastName) : null,
        el("email", reporter.email),
      ),
    ),
    person,
  );
  root.attrs = {
    "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "xsi:noNamespaceSchemaLocation": "https://report.cybertip.org/ispws/xsd",
  };
  return toDocument(root);
}

/** The most severe A1/A2/B1/B2 category among a file's matches, if any. */
export function industryClassification(file: MatchedFile): string | null {
  const cats = new Set(file.matches.map((m) => (m.category ?? "").toUpperCase()));
  return INDUSTRY_CLASSIFICATIONS.find((c) => cats.has(c)) ?? null;
}

const HASH_TYPES: Record<string, string> = { md5: "MD5", sha1: "SHA1", sha256: "SHA256" };

/** Builds the `fileDetails` document (POST /fileinfo) for one uploaded file. */
export function buildFileInfoXml(
  reportId: string,
  fileId: string,
  file: MatchedFile,
  msg: MatchMessage,
  viewedByEsp: boolean,
): string {
  const hashes = Object.entries(file.digests)
    .filter((e): e is [string, string] => typeof e[1] === "string" && e[0] in HASH_TYPES)
    .map(([algo, value]) => ({
      name: "originalFileHash",
      attrs: { hashType: HASH_TYPES[algo]! },
      children: [value],
    }));
  const ic = industryClassification(file);
  return toDocument(
    el(
      "fileDetails",
      el("reportId", reportId),
      el("fileId", fileId),
      file.filename ? el("originalFileName", file.filename) : null,
      // True only when the audit log shows a reviewer revealed this file (United States v. Wilson).
      el("fileViewedByEsp", viewedByEsp ? "true" : "false"),
      el("exifViewedByEsp", "false"),
      // Blocked at upload: it never reached the platform, so it was never public there.
      el("publiclyAvailable", "false"),
      ic ? el("industryClassification", ic) : null,
      ...hashes,
      ipCaptureEvent(msg.request.ip, msg.at),
    ),
  );
}
