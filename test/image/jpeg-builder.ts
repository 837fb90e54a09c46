// Test data: a minimal baseline JPEG encoder for flat 8x8 blocks (DC only, quantiser 1), so
// that four-component (CMYK/YCCK) files, which no available encoder writes, can be made here.

export interface FlatJpegSpec {
  /** Multiples of 8. */
  width: number;
  height: number;
  components: number;
  /** Sample value (0..255) of component `c` in the 8x8 block at block column bx, row by. */
  value(c: number, bx: number, by: number): number;
  /** Adobe APP14 transform (0 = none/CMYK, 2 = YCCK); null writes no Adobe marker. */
  adobeTransform: number | null;
}

class BitWriter {
  readonly bytes: number[] = [];
  #acc = 0;
  #n = 0;
  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.#acc = (this.#acc << 1) | ((value >> i) & 1);
      if (++this.#n === 8) this.#flushByte();
    }
  }
  #flushByte(): void {
    this.bytes.push(this.#acc);
    if (this.#acc === 0xff) this.bytes.push(0x00); // byte stuffing
    this.#acc = 0;
    this.#n = 0;
  }
  end(): number[] {
    while (this.#n !== 0) this.write(1, 1); // pad with 1 bits
    return this.bytes;
  }
}

function segment(marker: number, payload: number[]): number[] {
  const len = payload.length + 2;
  return [0xff, marker, len >> 8, len & 0xff, ...payload];
}

/** A baseline JPEG whose every block is flat at the spec's values (exactly reproducible). */
export function buildFlatJpeg(spec: FlatJpegSpec): Uint8Array {
  const { width, height, components } = spec;
  const out: number[] = [0xff, 0xd8];
  if (spec.adobeTransform !== null) {
    out.push(
      ...segment(0xee, [...new TextEncoder().encode("Adobe"), 0, 100, 0, 0, 0, 0, spec.adobeTransform]),
    );
  }
  out.push(...segment(0xdb, [0x00, ...new Array(64).fill(1)])); // quant table 0: all 1
  const ids = Array.from({ length: components }, (_, c) => c + 1);
  out.push(
    ...segment(0xc0, [
      8,
      height >> 8,
      height & 255,
      width >> 8,
      width & 255,
      components,
      ...ids.flatMap((id) => [id, 0x11, 0]),
    ]),
  );
  // DC table 0: categories 0..11 all with 4-bit codes (canonical codes 0000..1011).
  out.push(
    ...segment(0xc4, [
      0x00,
      0,
      0,
      0,
      12,
      ...new Array(12).fill(0),
      ...Array.from({ length: 12 }, (_, i) => i),
    ]),
  );
  // AC table 0: only EOB (0x00), code "0".
  out.push(...segment(0xc4, [0x10, 1, ...new Array(15).fill(0), 0x00]));
  out.push(...segment(0xda, [components, ...ids.flatMap((id) => [id, 0x00]), 0, 63, 0]));
  const bits = new BitWriter();
  const prev = new Array(components).fill(0);
  for (let by = 0; by < height / 8; by++) {
    for (let bx = 0; bx < width / 8; bx++) {
      for (let c = 0; c < components; c++) {
        const dc = 8 * (spec.value(c, bx, by) - 128); // DC of a flat block with quantiser 1
        const diff = dc - prev[c];
        prev[c] = dc;
        const size = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
        bits.write(size, 4);
        if (size > 0) bits.write(diff >= 0 ? diff : diff + (1 << size) - 1, size);
        bits.write(0, 1); // EOB
      }
    }
  }
  out.push(...bits.end(), 0xff, 0xd9);
  return Uint8Array.from(out);
}
