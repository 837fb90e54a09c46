/** Test data for list tests: random hex digests (not from any real hash list). */

/** Deterministic random lowercase hex of `digits` digits. */
export function randomHex(digits: number, seed: number): string {
  let x = (seed * 2654435761) >>> 0 || 1;
  let s = "";
  while (s.length < digits) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    s += (x >>> 4).toString(16).padStart(7, "0").slice(0, 7);
  }
  return s.slice(0, digits);
}
