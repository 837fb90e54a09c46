/**
 * The AVIF primary image as the AV1 decoder is fed it: which AV1 items make it (the item itself,
 * or a grid's tiles in raster order), where each tile lies on the canvas, each item's data, and
 * the colour description of its `colr` (nclx) box. On avif-header.ts's box reader (our own
 * parser: header says why); written from ISO/IEC 23008-12 (iref `dimg`, the `grid` item's
 * ImageGrid structure, `colr`) and the AVIF specification. Read after readAvifHeader has
 * checked every AV1 item's sequence headers against its `ispe`.
 */
import type { Av1Colour } from "./av1-codec.ts";
import { associations, itemData, itemLocations, itemTypes } from "./avif-header.ts";
import { AvifBoxError, type Box, BoxReader, find } from "./iso-boxes.ts";

/** One AV1 item of the image and its place on the canvas. */
export interface AvifTile {
  data: Uint8Array;
  x: number;
  y: number;
  /** Its `ispe`: the decoded picture must be exactly this size. */
  width: number;
  height: number;
}

export interface AvifImage {
  width: number;
  height: number;
  tiles: AvifTile[];
  /** From the primary item's (or first tile's) `colr` nclx box; null: the AV1 sequence header's. */
  colour: Av1Colour | null;
}

/** The items an item references with `type` (`iref`), in order. */
function references(r: BoxReader, iref: Box | undefined, from: number, type: string): number[] {
  if (!iref) return [];
  const wide = r.u8(iref.start) !== 0;
  const idBytes = wide ? 4 : 2;
  const id = (at: number) => (wide ? r.u32(at) : r.u16(at));
  for (const ref of r.children(iref.start + 4, iref.end)) {
    if (ref.type !== type || id(ref.start) !== from) continue;
    const count = r.u16(ref.start + idBytes);
    if (ref.start + idBytes + 2 + count * idBytes > ref.end)
      throw new AvifBoxError("corrupt", `AVIF ${type} reference list runs past its box`);
    return Array.from({ length: count }, (_, i) => id(ref.start + idBytes + 2 + i * idBytes));
  }
  return [];
}

/** A `colr` box of type nclx: matrix coefficients and range (ISO/IEC 23091-2 code points). */
export function nclx(r: BoxReader, colr: Box | undefined): Av1Colour | null {
  if (!colr || r.type(colr.start) !== "nclx" || colr.start + 11 > colr.end) return null;
  return { matrix: r.u16(colr.start + 8), fullRange: (r.u8(colr.start + 10) & 0x80) !== 0 };
}

/** The primary image's AV1 items; throws AvifBoxError for a layout the gate cannot decode. */
export function readAvifImage(bytes: Uint8Array): AvifImage {
  const r = new BoxReader(bytes);
  const meta = find(r.children(0, bytes.length), "meta");
  if (!meta) throw new AvifBoxError("unsupported", "AVIF without a primary item (image sequence only)");
  const boxes = r.children(meta.start + 4, meta.end);
  const pitm = find(boxes, "pitm");
  const iprp = find(boxes, "iprp");
  if (!pitm || !iprp)
    throw new AvifBoxError("unsupported", "AVIF without a primary item (image sequence only)");
  const primary = r.u8(pitm.start) === 0 ? r.u16(pitm.start + 4) : r.u32(pitm.start + 4);
  const iprpBoxes = r.children(iprp.start, iprp.end);
  const properties = r.children(find(iprpBoxes, "ipco")?.start ?? 0, find(iprpBoxes, "ipco")?.end ?? 0);
  const owned = new Map<number, number[]>();
  for (const ipma of iprpBoxes.filter((b) => b.type === "ipma"))
    for (const [item, props] of associations(r, ipma))
      owned.set(item, [...(owned.get(item) ?? []), ...props]);
  const of = (item: number, type: string) =>
    (owned.get(item) ?? []).map((i) => properties[i - 1]).find((p) => p?.type === type);
  const size = (item: number) => {
    const ispe = of(item, "ispe");
    if (!ispe) throw new AvifBoxError("corrupt", `AVIF item ${item} has no ispe (image size)`);
    return { width: r.u32(ispe.start + 4), height: r.u32(ispe.start + 8) };
  };
  const types = itemTypes(r, find(boxes, "iinf"));
  const locations = itemLocations(r, find(boxes, "iloc"));
  const idat = find(boxes, "idat");
  const data = (item: number) => itemData(r, locations.get(item), idat);
  const canvas = size(primary);
  const type = types.get(primary);
  if (type === "av01") {
    const tile = { data: data(primary), x: 0, y: 0, ...canvas };
    return { ...canvas, tiles: [tile], colour: nclx(r, of(primary, "colr")) };
  }
  if (type !== "grid")
    throw new AvifBoxError("unsupported", `AVIF primary item of type ${type ?? "unknown"}`);
  const grid = data(primary);
  const fieldBytes = (grid[1]! & 1) === 1 ? 4 : 2;
  if (grid.length < 4 + 2 * fieldBytes) throw new AvifBoxError("corrupt", "AVIF grid item is too short");
  const rows = grid[2]! + 1;
  const columns = grid[3]! + 1;
  const g = new BoxReader(grid);
  const outWidth = fieldBytes === 4 ? g.u32(4) : g.u16(4);
  const outHeight = fieldBytes === 4 ? g.u32(8) : g.u16(6);
  if (outWidth !== canvas.width || outHeight !== canvas.height)
    throw new AvifBoxError("corrupt", `AVIF grid ${outWidth}x${outHeight} differs from its ispe`);
  const ids = references(r, find(boxes, "iref"), primary, "dimg");
  if (ids.length !== rows * columns)
    throw new AvifBoxError("corrupt", `AVIF grid of ${rows}x${columns} has ${ids.length} tiles`);
  const tileSize = size(ids[0]!);
  // Every tile has the first one's size and the tiles cover the canvas, the last row and
  // column reaching into it (MIAF 7.3.11.4.2; libavif refuses the same).
  const { width: tw, height: th } = tileSize;
  if (
    tw * columns < outWidth ||
    th * rows < outHeight ||
    tw * (columns - 1) >= outWidth ||
    th * (rows - 1) >= outHeight
  )
    throw new AvifBoxError("corrupt", "AVIF grid tiles do not fit its canvas");
  // Tiles may not share bytes: 65,536 tiles naming one extent would otherwise copy the file
  // 65,536 times (and decode it as often).
  let total = 0;
  const tiles = ids.map((id, i) => {
    if (types.get(id) !== "av01")
      throw new AvifBoxError("unsupported", `AVIF grid tile of type ${types.get(id)}`);
    const s = size(id);
    if (s.width !== tileSize.width || s.height !== tileSize.height)
      throw new AvifBoxError("corrupt", "AVIF grid tiles differ in size");
    const tile = data(id);
    total += tile.length;
    if (total > bytes.length)
      throw new AvifBoxError("corrupt", "AVIF grid tiles hold more data than the file");
    return { data: tile, x: (i % columns) * s.width, y: Math.floor(i / columns) * s.height, ...s };
  });
  return { ...canvas, tiles, colour: nclx(r, of(primary, "colr")) ?? nclx(r, of(ids[0]!, "colr")) };
}
