/**
 * Test data: builds APNG files (acTL, fcTL, IDAT/fdAT) from PngSpecs, with the test PNG encoder,
 * so the decoder's frames can be checked against frames composited here.
 */
import { concatBytes } from "../../src/bytes.ts";
import { chunk, deflate, type PngSpec, scanlines } from "./png-encoder.ts";

export interface ApngFrameSpec {
  /** The frame's pixels (same colour type and depth as the file). */
  image: Omit<PngSpec, "colorType" | "depth" | "palette" | "trns">;
  x?: number;
  y?: number;
  /** 0 none, 1 clear to transparent, 2 restore previous. */
  dispose?: number;
  /** 0 source, 1 over. */
  blend?: number;
}

export interface ApngSpec {
  width: number;
  height: number;
  colorType: PngSpec["colorType"];
  depth: PngSpec["depth"];
  palette?: number[];
  frames: ApngFrameSpec[];
  /** A default image shown by non-APNG decoders that is not part of the animation. */
  defaultImage?: Omit<PngSpec, "colorType" | "depth" | "palette" | "trns">;
}

function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  for (const [i, v] of values.entries()) dv.setUint32(i * 4, v);
  return out;
}

export async function buildApng(spec: ApngSpec): Promise<Uint8Array> {
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, spec.width);
  new DataView(ihdr.buffer).setUint32(4, spec.height);
  ihdr.set([spec.depth, spec.colorType, 0, 0, 0], 8);
  const parts = [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr)];
  parts.push(chunk("acTL", u32s(spec.frames.length, 0)));
  if (spec.palette) parts.push(chunk("PLTE", new Uint8Array(spec.palette)));
  const zlib = async (img: ApngSpec["defaultImage"] & object) =>
    deflate(scanlines({ ...img, colorType: spec.colorType, depth: spec.depth }));
  let seq = 0;
  if (spec.defaultImage) parts.push(chunk("IDAT", await zlib(spec.defaultImage)));
  for (const [i, f] of spec.frames.entries()) {
    const fctl = concatBytes([
      u32s(seq++, f.image.width, f.image.height, f.x ?? 0, f.y ?? 0),
      new Uint8Array([0, 1, 0, 10, f.dispose ?? 0, f.blend ?? 0]),
    ]);
    parts.push(chunk("fcTL", fctl));
    const data = await zlib(f.image);
    if (i === 0 && !spec.defaultImage) parts.push(chunk("IDAT", data));
    else parts.push(chunk("fdAT", concatBytes([u32s(seq++), data])));
  }
  parts.push(chunk("IEND", new Uint8Array(0)));
  return concatBytes(parts);
}
