import type { ListAction } from "../lists/manifest.ts";
import type { MatchHit } from "../match/types.ts";

export type Verdict = "clean" | ListAction;

/** A block in any list wins over a flag; no hit is clean. */
export function verdictOf(hits: Iterable<MatchHit>): Verdict {
  let v: Verdict = "clean";
  for (const h of hits) {
    if (h.action === "block") return "block";
    v = "flag";
  }
  return v;
}
