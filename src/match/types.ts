import type { ListAction } from "../lists/manifest.ts";
import type { DigestAlgo } from "../scan/digests.ts";

/** One list entry that a file matched. */
export interface MatchHit {
  listId: string;
  kind: "exact" | "pdq";
  action: ListAction;
  category?: string;
  entryId?: string;
  /** Exact matches: the digest algorithm that matched. */
  algo?: DigestAlgo;
  /** PDQ matches: Hamming distance and the query's quality (never the list's hash: issue 14). */
  distance?: number;
  quality?: number;
  /** PDQ matches in an animated image: the frame (0-based, in file order) that matched. */
  frame?: number;
}
