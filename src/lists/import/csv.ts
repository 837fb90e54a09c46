/**
 * CSV lists with a header row naming the columns (md5, sha1, sha256, pdq, category, id,
 * quality; other columns are ignored). A row with an `id` is a provider entry (its digests
 * replace the entry's earlier ones); a row without is one add per digest.
 */
import { checkHex, checkQuality, type HashAlgo, type HashRef } from "../ops.ts";
import { numberedLines, type TextSource } from "./lines.ts";
import { DEFAULT_MIN_PDQ_QUALITY, type ImportEvent, type ImportOptions } from "./types.ts";

/** Splits one CSV record (RFC 4180 quoting, on one line). */
export function splitCsv(line: string): string[] | { error: string } {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return { error: "unterminated quoted field" };
        field += line.slice(i, q);
        if (line[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      if (i < line.length && line[i] !== ",") return { error: "text after a closing quote" };
    } else {
      const c = line.indexOf(",", i);
      field = line.slice(i, c < 0 ? line.length : c);
      if (field.includes('"')) return { error: "quote inside an unquoted field" };
      i = c < 0 ? line.length : c;
    }
    out.push(field.trim());
    if (i >= line.length) return out;
    i++; // the comma
  }
}

const HASH_COLUMNS: HashAlgo[] = ["md5", "sha1", "sha256", "pdq"];
/** Header names accepted for the category column. */
const CATEGORY_COLUMNS = ["category", "classification", "grade"];

interface Columns {
  hashes: [HashAlgo, number][];
  category?: number;
  id?: number;
  quality?: number;
  width: number;
}

function readHeader(fields: string[]): Columns | { error: string } {
  const names = fields.map((f) => f.toLowerCase());
  const hashes = HASH_COLUMNS.flatMap((a): [HashAlgo, number][] =>
    names.includes(a) ? [[a, names.indexOf(a)]] : [],
  );
  if (hashes.length === 0)
    return { error: `header names no hash column (one of ${HASH_COLUMNS.join(", ")})` };
  const cat = names.findIndex((n) => CATEGORY_COLUMNS.includes(n));
  const cols: Columns = { hashes, width: names.length };
  if (cat >= 0) cols.category = cat;
  if (names.includes("id")) cols.id = names.indexOf("id");
  if (names.includes("quality")) cols.quality = names.indexOf("quality");
  return cols;
}

function rowEvents(fields: string[], cols: Columns, no: number, minQuality: number): ImportEvent[] {
  if (fields.length !== cols.width)
    return [{ kind: "error", line: no, message: `${fields.length} fields, header has ${cols.width}` }];
  let quality: number | undefined;
  const rawQ = cols.quality === undefined ? "" : fields[cols.quality]!;
  if (rawQ !== "") {
    const q = checkQuality(rawQ);
    if ("error" in q) return [{ kind: "error", line: no, message: q.error }];
    quality = q.quality;
  }
  const hashes: HashRef[] = [];
  const skips: ImportEvent[] = [];
  for (const [algo, col] of cols.hashes) {
    const raw = fields[col]!;
    if (raw === "") continue;
    const r = checkHex(algo, raw);
    if ("error" in r) return [{ kind: "error", line: no, message: r.error }];
    if (algo === "pdq" && quality !== undefined && quality < minQuality) {
      skips.push({ kind: "skip", line: no, reason: `PDQ quality below ${minQuality}` });
      continue;
    }
    hashes.push(
      algo === "pdq" && quality !== undefined ? { algo, hex: r.hex, quality } : { algo, hex: r.hex },
    );
  }
  const category = cols.category === undefined ? "" : fields[cols.category]!;
  const id = cols.id === undefined ? "" : fields[cols.id]!;
  const cat = category ? { category } : {};
  if (id) return [...skips, { kind: "op", line: no, op: { op: "entry", id, hashes, ...cat } }];
  if (hashes.length === 0)
    return skips.length ? skips : [{ kind: "skip", line: no, reason: "row has no usable hash" }];
  return [
    ...skips,
    ...hashes.map((hash): ImportEvent => ({ kind: "op", line: no, op: { op: "add", hash, ...cat } })),
  ];
}

export async function* csvRows(source: TextSource, opts: ImportOptions): AsyncGenerator<ImportEvent> {
  const minQuality = opts.minPdqQuality ?? DEFAULT_MIN_PDQ_QUALITY;
  let cols: Columns | undefined;
  for await (const [line, no] of numberedLines(source)) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const fields = splitCsv(line);
    if ("error" in fields) {
      yield { kind: "error", line: no, message: fields.error };
      if (!cols) return;
      continue;
    }
    if (!cols) {
      const h = readHeader(fields);
      if ("error" in h) {
        yield { kind: "error", line: no, message: h.error };
        return;
      }
      cols = h;
      continue;
    }
    yield* rowEvents(fields, cols, no, minQuality);
  }
}
