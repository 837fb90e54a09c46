/** Test helpers that edit an encoded AVIF's boxes in place (test data only). */

/** Offset of a box type's 4 letters in the file (first occurrence). */
export function boxAt(bytes: Uint8Array, type: string): number {
  const t = Array.from(type, (c) => c.charCodeAt(0));
  for (let i = 0; i + 4 <= bytes.length; i++) if (t.every((v, j) => bytes[i + j] === v)) return i;
  throw new Error(`no ${type} box`);
}

/** A copy with the primary item's ispe (image size) rewritten: a header that lies about the size. */
export function withIspe(avif: Uint8Array, width: number, height: number): Uint8Array {
  const out = avif.slice();
  const view = new DataView(out.buffer);
  const at = boxAt(out, "ispe");
  view.setUint32(at + 8, width);
  view.setUint32(at + 12, height);
  return out;
}
