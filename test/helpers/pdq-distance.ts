/** Hamming distance between two 256-bit PDQ hashes in hex (64 digits): how many bits differ. */
export function hamming(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = (Number.parseInt(a.slice(i, i + 8), 16) ^ Number.parseInt(b.slice(i, i + 8), 16)) >>> 0;
    for (; x; x &= x - 1) d++;
  }
  return d;
}
