/**
 * JPEG header walk: finds the first frame header (SOFn) without decoding anything, so the
 * pixel count of a possible decompression bomb is known before a byte of it is decoded.
 */

/** What the first SOFn says, or why there is none. */
export type JpegHeader =
  | { ok: true; width: number; height: number; components: number; progressive: boolean }
  | { ok: false; reason: "truncated" | "corrupt"; detail: string };

// SOF markers are C0..CF except C4 (DHT), C8 (JPG extension) and CC (DAC).
function isSof(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Walks the marker segments from SOI to the first SOFn. */
export function readJpegHeader(bytes: Uint8Array): JpegHeader {
  if (bytes.length < 3 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    return { ok: false, reason: "corrupt", detail: "no JPEG SOI marker" };
  }
  let i = 2;
  for (;;) {
    if (i >= bytes.length) return { ok: false, reason: "truncated", detail: "file ends before SOF" };
    if (bytes[i] !== 0xff) return { ok: false, reason: "corrupt", detail: `no marker at offset ${i}` };
    while (i < bytes.length && bytes[i] === 0xff) i++; // fill bytes before a marker are legal
    if (i >= bytes.length) return { ok: false, reason: "truncated", detail: "file ends in a marker" };
    const marker = bytes[i++]!;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // markers without a length
    if (marker === 0xd9 || marker === 0xda || marker === 0xd8 || marker === 0x00) {
      return { ok: false, reason: "corrupt", detail: `marker 0x${marker.toString(16)} before any SOF` };
    }
    if (i + 2 > bytes.length)
      return { ok: false, reason: "truncated", detail: "file ends in a segment length" };
    const length = (bytes[i]! << 8) | bytes[i + 1]!;
    if (length < 2) return { ok: false, reason: "corrupt", detail: `segment length ${length}` };
    if (isSof(marker)) {
      if (i + 8 > bytes.length) return { ok: false, reason: "truncated", detail: "file ends in SOF" };
      const height = (bytes[i + 3]! << 8) | bytes[i + 4]!;
      const width = (bytes[i + 5]! << 8) | bytes[i + 6]!;
      const components = bytes[i + 7]!;
      const progressive = marker === 0xc2 || marker === 0xc6 || marker === 0xca || marker === 0xce;
      return { ok: true, width, height, components, progressive };
    }
    i += length;
  }
}
