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

/**
 * A copy of a single-item AVIF whose `av1C` carries `configObus` (libavif writes none): the
 * boxes around it grow and the `iloc` offsets (version 0/1, 4-byte fields) move with the data.
 */
export function withConfigObus(avif: Uint8Array, configObus: ArrayLike<number>): Uint8Array {
  const grow = configObus.length;
  const av1C = boxAt(avif, "av1C") - 4;
  const size = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset).getUint32(at);
  const out = new Uint8Array(avif.length + grow);
  const end = av1C + size(avif, av1C);
  out.set(avif.subarray(0, end));
  out.set(configObus, end);
  out.set(avif.subarray(end), end + grow);
  const view = new DataView(out.buffer);
  for (const type of ["meta", "iprp", "ipco", "av1C"]) {
    const at = boxAt(out, type) - 4;
    view.setUint32(at, view.getUint32(at) + grow);
  }
  const iloc = boxAt(out, "iloc") + 4;
  const version = out[iloc]!;
  if (out[iloc + 4] !== 0x44 || out[iloc + 5]! >> 4 !== 0) throw new Error("iloc layout not handled");
  let at = iloc + 8;
  for (let i = view.getUint16(iloc + 6); i > 0; i--) {
    at += 2 + (version >= 1 ? 2 : 0) + 2; // item_ID, construction_method, data_reference_index
    const extents = view.getUint16(at);
    at += 2;
    for (let e = 0; e < extents; e++, at += 8) view.setUint32(at, view.getUint32(at) + grow);
  }
  return out;
}

const u32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const u16 = (n: number) => [(n >>> 8) & 255, n & 255];
const fourcc = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

function box(type: string, ...payload: ArrayLike<number>[]): number[] {
  const body = payload.flatMap((p) => Array.from(p));
  return [...u32(8 + body.length), ...fourcc(type), ...body];
}
const fullBox = (type: string, version: number, flags: number, ...payload: ArrayLike<number>[]) =>
  box(type, [version, (flags >> 16) & 255, (flags >> 8) & 255, flags & 255], ...payload);

/** A whole box (header included) of the given type, copied out of an encoded AVIF. */
function copyBox(avif: Uint8Array, type: string): number[] {
  const at = boxAt(avif, type) - 4;
  const size = new DataView(avif.buffer, avif.byteOffset).getUint32(at);
  return Array.from(avif.subarray(at, at + size));
}

/** The payload of the (only) mdat box of an encoded single-item AVIF: the item's AV1 data. */
export function mdatPayload(avif: Uint8Array): Uint8Array {
  const at = boxAt(avif, "mdat") - 4;
  const size = new DataView(avif.buffer, avif.byteOffset).getUint32(at);
  return avif.subarray(at + 8, at + size);
}

/**
 * A grid (tiled) AVIF made from separately encoded tiles of equal size and settings, row-major
 * (`columns` × `rows`), with an output of `width` × `height`: the layout cameras and phones
 * write for large AVIFs. Items 1..n are the tiles (av01, hidden), item n+1 the grid (primary).
 */
export function buildGridAvif(
  tiles: Uint8Array[],
  columns: number,
  rows: number,
  width: number,
  height: number,
) {
  const n = tiles.length;
  const gridId = n + 1;
  const data = tiles.map(mdatPayload);
  const grid = [0, 0, rows - 1, columns - 1, ...u16(width), ...u16(height)];
  const ipco = box(
    "ipco",
    copyBox(tiles[0]!, "ispe"), // 1: tile size
    copyBox(tiles[0]!, "av1C"), // 2
    copyBox(tiles[0]!, "pixi"), // 3
    fullBox("ispe", 0, 0, u32(width), u32(height)), // 4: output size
  );
  const ipma = fullBox("ipma", 0, 0, u32(n + 1), ...tiles.map((_, i) => [...u16(i + 1), 3, 1, 0x82, 3]), [
    ...u16(gridId),
    2,
    4,
    3,
  ]);
  const infe = (id: number, type: string, hidden: boolean) =>
    fullBox("infe", 2, hidden ? 1 : 0, u16(id), u16(0), fourcc(type), [0]);
  const build = (mdatStart: number) => {
    let offset = mdatStart + 8;
    const extents: number[][] = [];
    for (const [i, d] of [...data, Uint8Array.from(grid)].entries()) {
      extents.push([...u16(i + 1), ...u16(0), ...u16(1), ...u32(offset), ...u32(d.length)]);
      offset += d.length;
    }
    const meta = fullBox(
      "meta",
      0,
      0,
      fullBox("hdlr", 0, 0, u32(0), fourcc("pict"), u32(0), u32(0), u32(0), [0]),
      fullBox("pitm", 0, 0, u16(gridId)),
      fullBox("iloc", 0, 0, [0x44, 0x00], u16(n + 1), ...extents),
      fullBox(
        "iinf",
        0,
        0,
        u16(n + 1),
        ...tiles.map((_, i) => infe(i + 1, "av01", true)),
        infe(gridId, "grid", false),
      ),
      fullBox("iref", 0, 0, box("dimg", u16(gridId), u16(n), ...tiles.map((_, i) => u16(i + 1)))),
      box("iprp", ipco, ipma),
    );
    const ftyp = box("ftyp", fourcc("avif"), u32(0), fourcc("avifmif1miaf"));
    return [...ftyp, ...meta];
  };
  const head = build(build(0).length);
  const mdat = box("mdat", ...data, grid);
  return Uint8Array.from([...head, ...mdat]);
}
