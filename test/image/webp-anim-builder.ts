/**
 * Builds animated WebP files for tests (the container of the WebP specification: VP8X with the
 * animation flag, ANIM, then one ANMF chunk per frame) from still WebPs made by the test
 * encoder: each frame's bitstream is the still's chunks after its RIFF header and VP8X.
 */

export interface AnimFrame {
  /** A still WebP (encodeWebp); its own size is the frame's. */
  webp: Uint8Array;
  /** Offset on the canvas; even (the container stores half of it). */
  x: number;
  y: number;
  durationMs?: number;
  /** Alpha-blend over the canvas (default) or replace the rectangle. */
  blend?: boolean;
  /** Clear the rectangle to transparent after display. */
  dispose?: boolean;
}

const u24 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255];
const u32 = (n: number) => [n & 255, (n >> 8) & 255, (n >> 16) & 255, (n >>> 24) & 255];
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

function concat(parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function chunk(id: string, ...payload: ArrayLike<number>[]): Uint8Array {
  const data = concat(payload);
  return concat([ascii(id), u32(data.length), data, data.length & 1 ? [0] : []]);
}

function le32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** The still's size and its image chunks (ALPH + VP8, or VP8L), without RIFF header or VP8X. */
export function stillParts(webp: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const first = String.fromCharCode(...webp.subarray(12, 16));
  let at = 12;
  let width: number;
  let height: number;
  if (first === "VP8X") {
    width = (webp[24]! | (webp[25]! << 8) | (webp[26]! << 16)) + 1;
    height = (webp[27]! | (webp[28]! << 8) | (webp[29]! << 16)) + 1;
    at = 12 + 8 + le32(webp, 16);
  } else if (first === "VP8L") {
    const bits = le32(webp, 21);
    width = (bits & 0x3fff) + 1;
    height = ((bits >>> 14) & 0x3fff) + 1;
  } else {
    width = (webp[26]! | (webp[27]! << 8)) & 0x3fff;
    height = (webp[28]! | (webp[29]! << 8)) & 0x3fff;
  }
  return { width, height, data: webp.subarray(at) };
}

export function buildAnimatedWebp(width: number, height: number, frames: AnimFrame[], loop = 0): Uint8Array {
  // Flags: animation (0x02) and alpha (0x10).
  const parts: ArrayLike<number>[] = [
    ascii("WEBP"),
    chunk("VP8X", [0x12, 0, 0, 0, ...u24(width - 1), ...u24(height - 1)]),
    chunk("ANIM", [...u32(0), loop & 255, loop >> 8]),
  ];
  for (const f of frames) {
    const still = stillParts(f.webp);
    const flags = (f.blend === false ? 2 : 0) | (f.dispose ? 1 : 0);
    const head = [
      ...u24(f.x / 2),
      ...u24(f.y / 2),
      ...u24(still.width - 1),
      ...u24(still.height - 1),
      ...u24(f.durationMs ?? 100),
      flags,
    ];
    parts.push(chunk("ANMF", head, still.data));
  }
  const body = concat(parts);
  return concat([ascii("RIFF"), u32(body.length), body]);
}
