/** Byte-array helpers shared by the scanner, the hold, the image decoders, PDQ and the review app. */

/** The parts joined into one array: the part itself when there is only one (no copy). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of the first `length` bytes (all by default): digests, PDQ hashes, tokens, signatures. */
export function toHex(bytes: Uint8Array, length = bytes.length): string {
  let s = "";
  const n = Math.min(length, bytes.length);
  for (let i = 0; i < n; i++) s += HEX_DIGITS[bytes[i]!];
  return s;
}
