/** Test data: small BMP writer (24/32-bit, 8-bit grey palette raw or RLE8, bottom-up or top-down). */

export interface BmpSpec {
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel, top row first. */
  rgb: Uint8Array;
  bpp: 8 | 24 | 32;
  /** 8-bit only: store the palette indices run-length encoded (RLE8). */
  rle?: boolean;
  topDown?: boolean;
}

/** 8-bit files use a grey palette; the index is the pixel's red value. */
export function encodeBmp(s: BmpSpec): Uint8Array {
  const rows: number[][] = [];
  for (let r = 0; r < s.height; r++) {
    const y = s.topDown ? r : s.height - 1 - r;
    const row: number[] = [];
    for (let x = 0; x < s.width; x++) {
      const [R, G, B] = s.rgb.subarray((y * s.width + x) * 3, (y * s.width + x) * 3 + 3);
      if (s.bpp === 8) row.push(R!);
      else row.push(B!, G!, R!, ...(s.bpp === 32 ? [255] : []));
    }
    if (s.rle) {
      const enc: number[] = [];
      for (let i = 0; i < row.length; ) {
        let n = 1;
        while (i + n < row.length && n < 255 && row[i + n] === row[i]) n++;
        enc.push(n, row[i]!);
        i += n;
      }
      rows.push([...enc, 0, 0]);
    } else {
      while (row.length % 4) row.push(0);
      rows.push(row);
    }
  }
  if (s.rle) rows.push([0, 1]);
  const palette = s.bpp === 8 ? Array.from({ length: 256 }, (_, i) => [i, i, i, 0]).flat() : [];
  const data = rows.flat();
  const offset = 14 + 40 + palette.length;
  const out = new Uint8Array(offset + data.length);
  const dv = new DataView(out.buffer);
  out.set([0x42, 0x4d]);
  dv.setUint32(2, out.length, true);
  dv.setUint32(10, offset, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, s.width, true);
  dv.setInt32(22, s.topDown ? -s.height : s.height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, s.bpp, true);
  dv.setUint32(30, s.rle ? 1 : 0, true);
  out.set(palette, 54);
  out.set(data, offset);
  return out;
}
