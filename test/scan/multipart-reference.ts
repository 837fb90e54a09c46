/**
 * A one-shot reference reading of a multipart body, written for clarity, not speed: the whole
 * body in memory, plain searches. The streaming parser must agree with it on every body: same
 * parts (field, filename, bytes, offsets) or both refuse.
 */
export interface RefPart {
  field: string;
  filename: string | null;
  start: number;
  end: number;
}

const enc = new TextEncoder();

function find(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

function blank(b: Uint8Array): boolean {
  return b.every((c) => c === 13 || c === 10 || c === 32 || c === 9);
}

/**
 * A header block the parser refuses: a line not ended by CRLF, folded, without a token name
 * right before its colon, or a repeated header; a nested multipart part, or one with a
 * transfer encoding other than 7bit/8bit/binary.
 */
function refusedPart(block: string): boolean {
  const seen = new Map<string, string>();
  for (const line of block === "" ? [] : block.split("\r\n")) {
    if (line.includes("\r") || line.includes("\n")) return true;
    const c = line.indexOf(":");
    if (c <= 0 || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(line.slice(0, c))) return true;
    const name = line.slice(0, c).toLowerCase();
    if (seen.has(name)) return true;
    seen.set(name, line.slice(c + 1).trim());
  }
  const type = seen.get("content-type");
  const cte = seen.get("content-transfer-encoding");
  return (
    (type !== undefined && /^\s*multipart\//i.test(type)) ||
    (cte !== undefined && !["7bit", "8bit", "binary"].includes(cte.trim().toLowerCase()))
  );
}

/** Parts of `body`, or "error" where the streaming parser must throw. Header limits are not modelled. */
export function referenceParts(
  body: Uint8Array,
  boundary: string,
  headerParams: (block: string) => { field: string; filename: string | null } | "error",
): RefPart[] | "error" {
  // Read as if the body began with CRLF, so an opening delimiter at offset 0 is found too.
  const buf = new Uint8Array(body.length + 2);
  buf.set([13, 10]);
  buf.set(body, 2);
  const delim = enc.encode(`\r\n--${boundary}`);
  const dashBoundary = delim.subarray(2);
  const parts: RefPart[] = [];
  let at = find(buf, delim, 0);
  if (at < 0) return "error";
  // Only blank lines may stand outside the parts.
  if (!blank(buf.subarray(0, at))) return "error";
  for (;;) {
    // No transport padding after a boundary.
    const i = at + delim.length;
    if (buf.length - i < 2) return "error";
    if (buf[i] === 45 && buf[i + 1] === 45) return blank(buf.subarray(i + 2)) ? parts : "error";
    if (buf[i] !== 13 || buf[i + 1] !== 10) return "error";
    const headStart = i + 2;
    let contentStart: number;
    let block: string;
    if (buf[headStart] === 13 && buf[headStart + 1] === 10) {
      contentStart = headStart + 2;
      block = "";
    } else {
      const end = find(buf, enc.encode("\r\n\r\n"), headStart);
      if (end < 0) return "error";
      block = new TextDecoder().decode(buf.subarray(headStart, end));
      contentStart = end + 4;
    }
    // A boundary inside a header block is refused (busboy searches headers for delimiters too).
    const headEnd = block === "" ? headStart : contentStart - 4;
    if (find(buf.subarray(0, headEnd), dashBoundary, headStart) >= 0) return "error";
    const params = headerParams(block);
    if (params === "error" || refusedPart(block)) return "error";
    // "--boundary" inside a part ends it when CRLF stands right before it (within the part); anywhere else it is refused.
    const dash = find(buf, dashBoundary, contentStart);
    if (dash < 0) return "error";
    const next = dash - 2;
    if (next < contentStart || buf[next] !== 13 || buf[next + 1] !== 10) return "error";
    parts.push({ ...params, start: contentStart - 2, end: next - 2 });
    at = next;
  }
}
