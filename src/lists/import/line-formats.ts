/**
 * Line-per-hash formats: plain hex, ThreatExchange signal lines (`pdq <hex>`), and the PDQ
 * tool's `hash,quality,filename` output. Blank lines and `#` comments are ignored.
 */
import { algoByLength, checkHex, checkQuality, type HashAlgo, type HashRef } from "../ops.ts";
import { numberedLines, type TextSource } from "./lines.ts";
import { DEFAULT_MIN_PDQ_QUALITY, type ImportEvent, type ImportOptions } from "./types.ts";

type LineParser = (line: string, no: number) => ImportEvent | null;

async function* byLine(source: TextSource, parse: LineParser): AsyncGenerator<ImportEvent> {
  for await (const [raw, no] of numberedLines(source)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const ev = parse(line, no);
    if (ev) yield ev;
  }
}

function addEvent(algo: HashAlgo, raw: string, no: number, quality?: number): ImportEvent {
  const r = checkHex(algo, raw);
  if ("error" in r) return { kind: "error", line: no, message: r.error };
  const hash: HashRef = quality === undefined ? { algo, hex: r.hex } : { algo, hex: r.hex, quality };
  return { kind: "op", line: no, op: { op: "add", hash } };
}

/** One hex digest per line; the algorithm from `opts.algo` or from the length. */
export function plainLines(source: TextSource, opts: ImportOptions): AsyncGenerator<ImportEvent> {
  const declared = opts.algo === "sha256" || opts.algo === "pdq" ? opts.algo : undefined;
  return byLine(source, (line, no) => {
    const algo = opts.algo ?? algoByLength(line, declared);
    if (typeof algo !== "string") return { kind: "error", line: no, message: algo.error };
    return addEvent(algo, line, no);
  });
}

/** ThreatExchange signal types hashgate can match, by their names in signal files. */
const TE_TYPES: Record<string, HashAlgo> = { pdq: "pdq", video_md5: "md5", md5: "md5" };

/** `<signal type> <value>` lines. Signal types hashgate cannot match are skipped, not errors. */
export function teSignalLines(source: TextSource): AsyncGenerator<ImportEvent> {
  return byLine(source, (line, no) => {
    const m = /^(\S+)\s+(\S+)$/.exec(line);
    if (!m) return { kind: "error", line: no, message: 'expected "<signal type> <value>"' };
    const algo = TE_TYPES[m[1]!.toLowerCase()];
    if (!algo) return { kind: "skip", line: no, reason: `signal type ${m[1]} not supported` };
    return addEvent(algo, m[2]!, no);
  });
}

/** The PDQ tool's `hash,quality,filename` lines; a `hash,quality,…` header line is allowed. */
export function pdqToolLines(source: TextSource, opts: ImportOptions): AsyncGenerator<ImportEvent> {
  const minQuality = opts.minPdqQuality ?? DEFAULT_MIN_PDQ_QUALITY;
  return byLine(source, (line, no) => {
    const [hash = "", quality = ""] = line.split(",", 3);
    if (hash.trim().toLowerCase() === "hash") return null;
    const q = checkQuality(quality);
    if ("error" in q) return { kind: "error", line: no, message: q.error };
    if (q.quality < minQuality) return { kind: "skip", line: no, reason: `PDQ quality below ${minQuality}` };
    return addEvent("pdq", hash, no, q.quality);
  });
}
