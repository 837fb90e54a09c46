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
  /** PDQ matches: Hamming distance, the entry's hash and the query's quality. */
  distance?: number;
  entryHash?: string;
  quality?: number;
  /** PDQ matches in an animated image: the frame (0-based, in file order) that matched. */
  frame?: number;
}
