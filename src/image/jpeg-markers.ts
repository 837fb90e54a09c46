/**
 * The marker structure of a JPEG file, for the scaled luma decoder (the WASM core's
 * wasm/assembly/jpeg*.ts): every marker segment with its payload, and for each scan where its
 * entropy-coded data ends. Nothing is decoded here; the walk only finds boundaries, so that the
 * core can be handed one segment or one chunk of scan data at a time.
 */

export interface JpegSegment {
  marker: number;
  /** Payload offsets (after the 2-byte length). */
  start: number;
  end: number;
  /** SOS only: the scan's entropy-coded data (restart markers included). */
  dataEnd?: number;
}

export type JpegStructure =
  | { ok: true; segments: JpegSegment[]; scans: number }
  | { ok: false; reason: "truncated" | "corrupt"; detail: string };

/** Where a scan's coded data starting at `i` ends: the first marker that is not RSTn, a stuffed zero or fill. */
function scanDataEnd(bytes: Uint8Array, i: number): number {
  const n = bytes.length;
  for (;;) {
    const j = bytes.indexOf(0xff, i);
    if (j < 0 || j + 1 >= n) return n;
    const m = bytes[j + 1]!;
    if (m === 0x00 || (m >= 0xd0 && m <= 0xd7)) i = j + 2;
    else if (m === 0xff) i = j + 1;
    else return j;
  }
}

/** Walks SOI .. EOI. A file without EOI, or whose last segment is cut, is truncated. */
export function readJpegStructure(bytes: Uint8Array, maxScans: number): JpegStructure {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) {
    return { ok: false, reason: "corrupt", detail: "no JPEG SOI marker" };
  }
  const segments: JpegSegment[] = [];
  let scans = 0;
  let i = 2;
  const n = bytes.length;
  for (;;) {
    if (i >= n) return { ok: false, reason: "truncated", detail: "JPEG has no end-of-image marker" };
    if (bytes[i] !== 0xff) return { ok: false, reason: "corrupt", detail: `no marker at offset ${i}` };
    while (i < n && bytes[i] === 0xff) i++; // fill bytes before a marker are legal
    if (i >= n) return { ok: false, reason: "truncated", detail: "file ends in a marker" };
    const marker = bytes[i++]!;
    if (marker === 0xd9)
      return scans === 0
        ? { ok: false, reason: "corrupt", detail: "JPEG has no scan" }
        : { ok: true, segments, scans };
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue; // markers without a length
    if (marker === 0xd8 || marker === 0x00)
      return { ok: false, reason: "corrupt", detail: `marker 0x${marker.toString(16)} inside the image` };
    if (i + 2 > n) return { ok: false, reason: "truncated", detail: "file ends in a segment length" };
    const length = (bytes[i]! << 8) | bytes[i + 1]!;
    if (length < 2) return { ok: false, reason: "corrupt", detail: `segment length ${length}` };
    const start = i + 2;
    const end = i + length;
    if (end > n) return { ok: false, reason: "truncated", detail: `segment 0x${marker.toString(16)} is cut` };
    if (marker === 0xda) {
      if (++scans > maxScans)
        return { ok: false, reason: "corrupt", detail: `JPEG has more than ${maxScans} scans` };
      const dataEnd = scanDataEnd(bytes, end);
      segments.push({ marker, start, end, dataEnd });
      i = dataEnd;
    } else {
      segments.push({ marker, start, end });
      i = end;
    }
  }
}
