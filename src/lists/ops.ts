/**
 * Typed list changes produced by the importers and consumed by the publisher. Hex digests are
 * validated and lower-cased here, once, so nothing downstream re-checks them.
 */
/**
 * Same union as `DigestAlgo` in src/scan/digests.ts, restated so this module (and the CLI that
 * uses it) does not pull the Worker-only digest code into Node's type check.
 */
export type DigestAlgo = "md5" | "sha1" | "sha256";

/** Exact digests plus PDQ (a 256-bit perceptual hash, 64 hex digits). */
export type HashAlgo = DigestAlgo | "pdq";

export const HASH_ALGOS: readonly HashAlgo[] = ["md5", "sha1", "sha256", "pdq"];

export const HASH_HEX_LENGTH: Record<HashAlgo, number> = { md5: 32, sha1: 40, sha256: 64, pdq: 64 };

/** One digest of an entry; `quality` only for PDQ (0–100) when the list gives it. */
export interface HashRef {
  algo: HashAlgo;
  hex: string;
  quality?: number;
}

/**
 * - `add` / `remove`: one digest in or out of the list.
 * - `entry`: the provider entry `id` now holds exactly `hashes` (an id seen again replaces its
 *   earlier fingerprints, as NCMEC entries do).
 * - `remove-id`: a tombstone, removes every digest of entry `id`.
 */
export type ListOp =
  | { op: "add"; hash: HashRef; category?: string }
  | { op: "remove"; hash: HashRef }
  | { op: "entry"; id: string; hashes: HashRef[]; category?: string }
  | { op: "remove-id"; id: string };

export function isHashAlgo(s: string): s is HashAlgo {
  return (HASH_ALGOS as readonly string[]).includes(s);
}

const HEX_RE = /^[0-9a-f]+$/;

/** Lower-cased hex if `raw` is a valid digest of `algo`, else a reason. */
export function checkHex(algo: HashAlgo, raw: string): { hex: string } | { error: string } {
  const hex = raw.trim().toLowerCase();
  const want = HASH_HEX_LENGTH[algo];
  if (hex.length !== want) return { error: `${algo} needs ${want} hex digits, got ${hex.length}` };
  if (!HEX_RE.test(hex)) return { error: `${algo} value is not hexadecimal` };
  return { hex };
}

/**
 * The algorithm a bare hex digest has by its length. 64 digits are SHA-256 or PDQ, which
 * cannot be told apart, so they need `declared`.
 */
export function algoByLength(hex: string, declared?: "sha256" | "pdq"): HashAlgo | { error: string } {
  switch (hex.length) {
    case 32:
      return "md5";
    case 40:
      return "sha1";
    case 64:
      return declared ?? { error: "64 hex digits are SHA-256 or PDQ: declare the type (--algo sha256|pdq)" };
    default:
      return { error: `no hash algorithm has ${hex.length} hex digits` };
  }
}

/** PDQ quality 0–100, or an error for anything else. */
export function checkQuality(raw: string): { quality: number } | { error: string } {
  const q = Number(raw.trim());
  if (!Number.isInteger(q) || q < 0 || q > 100)
    return { error: `quality must be an integer 0–100, got "${raw}"` };
  return { quality: q };
}
