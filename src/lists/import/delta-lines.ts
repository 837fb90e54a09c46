/**
 * The admin API's text delta: one change per line, `add <algo> <hex>`, `remove <algo> <hex>`,
 * `remove-id <entry id>`; blank lines and `#` comments ignored.
 */
import { checkHex, isHashAlgo, type ListOp } from "../ops.ts";
import { numberedLines, type TextSource } from "./lines.ts";
import type { ImportEvent } from "./types.ts";

function lineEvent(line: string, no: number): ImportEvent {
  const [verb, a = "", b = "", ...extra] = line.split(/\s+/);
  if (verb === "remove-id" && a && !b) return { kind: "op", line: no, op: { op: "remove-id", id: a } };
  if ((verb !== "add" && verb !== "remove") || !b || extra.length > 0)
    return { kind: "error", line: no, message: 'expected "add|remove <algo> <hex>" or "remove-id <id>"' };
  if (!isHashAlgo(a)) return { kind: "error", line: no, message: `unknown algorithm ${a}` };
  const r = checkHex(a, b);
  if ("error" in r) return { kind: "error", line: no, message: r.error };
  const op: ListOp = { op: verb, hash: { algo: a, hex: r.hex } };
  return { kind: "op", line: no, op };
}

export async function* deltaLines(source: TextSource): AsyncGenerator<ImportEvent> {
  for await (const [raw, no] of numberedLines(source)) {
    const line = raw.trim();
    if (line && !line.startsWith("#")) yield lineEvent(line, no);
  }
}

/** Ops from the admin API's JSON delta (`{ ops: [...] }`), validated like imported lines. */
export function jsonDeltaEvents(body: unknown): ImportEvent[] {
  const ops = (body as { ops?: unknown } | null)?.ops;
  if (!Array.isArray(ops)) return [{ kind: "error", line: 0, message: "body must be { ops: [...] }" }];
  return ops.map((o, i): ImportEvent => {
    const no = i + 1;
    const x = (typeof o === "object" && o !== null ? o : {}) as Record<string, unknown>;
    if (x.op === "remove-id" && typeof x.id === "string" && x.id)
      return { kind: "op", line: no, op: { op: "remove-id", id: x.id } };
    if ((x.op === "add" || x.op === "remove") && typeof x.algo === "string" && typeof x.hex === "string") {
      if (!isHashAlgo(x.algo)) return { kind: "error", line: no, message: `unknown algorithm ${x.algo}` };
      const r = checkHex(x.algo, x.hex);
      if ("error" in r) return { kind: "error", line: no, message: r.error };
      const category =
        x.op === "add" && typeof x.category === "string" && x.category ? { category: x.category } : {};
      return {
        kind: "op",
        line: no,
        op: { op: x.op, hash: { algo: x.algo, hex: r.hex }, ...category } as ListOp,
      };
    }
    return { kind: "error", line: no, message: "op must be add|remove {algo, hex} or remove-id {id}" };
  });
}
