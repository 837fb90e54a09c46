/**
 * Structural validation of the XML we send, done on the serialized text (so escaping is
 * checked too): well-formed, the root and required elements present, children in schema
 * order, enumerated values from their sets. A failure is a ReportValidationError; nothing is
 * submitted.
 */

import { XMLParser, XMLValidator } from "fast-xml-parser";
import { AppError } from "../errors.ts";
import { INCIDENT_TYPES, INDUSTRY_CLASSIFICATIONS } from "./xml.ts";

export class ReportValidationError extends AppError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super("report_invalid", `report XML invalid: ${problems.join("; ")}`);
    this.name = "ReportValidationError";
    this.problems = problems;
  }
}

type Ordered = Record<string, unknown>[];

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  trimValues: false,
  processEntities: true,
});

/** Children of a preserveOrder node, as [name, node, attributes] (skipping text). */
function children(node: Ordered): [string, Ordered, Record<string, string>][] {
  const out: [string, Ordered, Record<string, string>][] = [];
  for (const item of node) {
    const attrs = (item[":@"] ?? {}) as Record<string, string>;
    for (const [k, v] of Object.entries(item)) {
      if (k === "#text" || k === ":@" || k === "?xml") continue;
      out.push([k, v as Ordered, attrs]);
    }
  }
  return out;
}

function text(node: Ordered): string {
  return node.map((n) => (typeof n["#text"] === "string" ? n["#text"] : "")).join("");
}

function checkOrder(where: string, got: [string, ...unknown[]][], order: string[], problems: string[]): void {
  let last = -1;
  for (const [name] of got) {
    const i = order.indexOf(name);
    if (i < 0) problems.push(`${where}: unexpected element ${name}`);
    else if (i < last) problems.push(`${where}: ${name} out of order`);
    else last = i;
  }
}

function parseRoot(
  xml: string,
  rootName: string,
  problems: string[],
): [string, Ordered, Record<string, string>][] | null {
  const wf = XMLValidator.validate(xml);
  if (wf !== true) {
    problems.push(`not well-formed: ${wf.err.msg} (line ${wf.err.line})`);
    return null;
  }
  const roots = children(parser.parse(xml) as Ordered);
  if (roots.length !== 1 || roots[0]![0] !== rootName) {
    problems.push(`root must be ${rootName}`);
    return null;
  }
  return children(roots[0]![1]);
}

const REPORT_ORDER = [
  "incidentSummary",
  "internetDetails",
  "lawEnforcement",
  "reporter",
  "personOrUserReported",
];
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Validates a `report` document; throws ReportValidationError. */
export function validateReportXml(xml: string): void {
  const problems: string[] = [];
  const top = parseRoot(xml, "report", problems);
  if (top) {
    checkOrder("report", top, REPORT_ORDER, problems);
    const summary = top.find(([n]) => n === "incidentSummary")?.[1];
    if (!summary) problems.push("incidentSummary missing");
    else {
      const s = children(summary);
      const type = s.find(([n]) => n === "incidentType")?.[1];
      const at = s.find(([n]) => n === "incidentDateTime")?.[1];
      if (!type || !(INCIDENT_TYPES as readonly string[]).includes(text(type)))
        problems.push("incidentType invalid");
      if (!at || !DATETIME.test(text(at))) problems.push("incidentDateTime invalid");
    }
    const reporter = top.find(([n]) => n === "reporter")?.[1];
    const person = reporter ? children(reporter).find(([n]) => n === "reportingPerson")?.[1] : undefined;
    const email = person ? children(person).find(([n]) => n === "email")?.[1] : undefined;
    if (!email || !/^[^\s@]+@[^\s@]+$/.test(text(email)))
      problems.push("reporter/reportingPerson/email missing or invalid");
  }
  if (problems.length) throw new ReportValidationError(problems);
}

const FILE_ORDER = [
  "reportId",
  "fileId",
  "originalFileName",
  "locationOfFile",
  "fileViewedByEsp",
  "exifViewedByEsp",
  "publiclyAvailable",
  "fileRelevance",
  "fileAnnotations",
  "industryClassification",
  "originalFileHash",
  "ipCaptureEvent",
];
const HASH_HEX: Record<string, number> = { MD5: 32, SHA1: 40, SHA256: 64 };
const BOOLEANS = ["fileViewedByEsp", "exifViewedByEsp", "publiclyAvailable"];

/** Validates a `fileDetails` document; throws ReportValidationError. */
export function validateFileInfoXml(xml: string): void {
  const problems: string[] = [];
  const top = parseRoot(xml, "fileDetails", problems);
  if (top) {
    checkOrder("fileDetails", top, FILE_ORDER, problems);
    for (const req of ["reportId", "fileId"]) {
      const n = top.find(([name]) => name === req)?.[1];
      if (!n || !text(n).trim()) problems.push(`${req} missing`);
    }
    for (const [name, node, attrs] of top) {
      if (BOOLEANS.includes(name) && !["true", "false"].includes(text(node)))
        problems.push(`${name} must be true/false`);
      if (
        name === "industryClassification" &&
        !(INDUSTRY_CLASSIFICATIONS as readonly string[]).includes(text(node))
      ) {
        problems.push("industryClassification must be A1, A2, B1 or B2");
      }
      if (name === "originalFileHash") {
        const want = HASH_HEX[attrs["@hashType"] ?? ""];
        if (!want || !new RegExp(`^[0-9a-f]{${want}}$`).test(text(node)))
          problems.push("originalFileHash invalid");
      }
    }
  }
  if (problems.length) throw new ReportValidationError(problems);
}
