/**
 * AVIF header reader: is this an AVIF, and how large is its image, read from the ISO-BMFF boxes
 * BEFORE the decoder runs (the size decides the memory reservation and the too-large refusal).
 * Our own parser, because no well-kept package reads just the box tree in a few hundred bytes of
 * code inside workerd without decoding: libavif (in @jsquash/avif) parses the same boxes, but
 * only as part of a full decode, and its build exposes no "probe" call. It reads:
 * - `ftyp`: AVIF brands (`avif`, `avis`), and not HEVC (HEIC) brands;
 * - `meta` → `pitm` (primary item), `iprp` → `ipco` (properties) + `ipma` (which item has which):
 *   the primary item's `ispe` (image spatial extents) is the decoded image's size; for a grid
 *   item it is the whole canvas. libavif refuses a file whose decoded size differs from `ispe`;
 * - `pixi` / `av1C`: bit depth (10/12-bit planes take twice the memory), an `auxC` alpha item;
 * - `moov` for an image sequence (`avis`): its tracks, samples and their AV1 sequence headers
 *   (avif-tracks.ts), checked whether or not the file also has a primary item;
 * - whether the boxes run past the end of the bytes (a truncated upload), since the decoder
 *   only says "failed";
 * - `iloc` (+ `idat`) → each AV1 item's data, and `av1C`'s configOBUs: the AV1 sequence headers
 *   (av1-sequence-header.ts), whose max frame size must fit in the item's `ispe`. libavif checks
 *   the frame against `ispe` only after decoding it, so a lying `ispe` would otherwise let the
 *   decoder grow its heap past the reservation made from it.
 */
import { concatBytes } from "../bytes.ts";
import { av1MaxFrame } from "./av1-sequence-header.ts";
import { type AvifSequence, av1Layout, readAvifSequence } from "./avif-tracks.ts";
import { AvifBoxError, type Box, BoxReader, find } from "./iso-boxes.ts";

export interface AvifHeader {
  ok: true;
  width: number;
  height: number;
  /** Largest bit depth of any item (8, 10 or 12). */
  depth: number;
  /** An alpha auxiliary item is present (one more plane to decode). */
  alpha: boolean;
  /** Chroma samples per pixel of the colour items (`av1C`): 0 (4:0:0), 0.5 (4:2:0), 1 (4:2:2), 2 (4:4:4). */
  chroma: number;
  /** The image shown is a sequence's colour track (`tracks`), not an item. */
  sequence: boolean;
  /** The primary item is a grid of tiles. */
  grid: boolean;
  /**
   * The largest canvas the AV1 decoder may build, from the items' `ispe` (each bounding its AV1
   * sequence header's max frame size); for a grid, its columns × rows of the largest tile; for
   * a sequence, the largest size its tracks declare (bounding theirs).
   */
  decodeWidth: number;
  decodeHeight: number;
  /** The file has a primary item (the image shown unless `sequence`). */
  item: boolean;
  /** The picture tracks of an image sequence (avif-tracks.ts), each checked like the items. */
  tracks: AvifSequence | null;
}

export type AvifHeaderResult =
  | AvifHeader
  | { ok: false; reason: "truncated" | "corrupt" | "unsupported"; detail: string };

const AVIF_BRANDS = new Set(["avif", "avis"]);
const HEVC_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx"]);

/** Brands of the leading `ftyp` box, major brand first; empty when there is none. */
function brands(r: BoxReader): string[] {
  if (r.type(4) !== "ftyp") return [];
  const end = Math.min(r.u32(0), r.b.length);
  const list = [r.type(8)];
  for (let at = 16; at + 4 <= end; at += 4) list.push(r.type(at));
  return list;
}

/** True for an AVIF still image or sequence: an AVIF brand, no HEVC brand, not an MP4 video. */
export function isAvif(bytes: Uint8Array): boolean {
  const list = brands(new BoxReader(bytes));
  if (!list.some((b) => AVIF_BRANDS.has(b)) || list.some((b) => HEVC_BRANDS.has(b))) return false;
  // An MP4 whose major brand is a video brand and merely lists avif stays a video.
  return AVIF_BRANDS.has(list[0]!) || !list.some((b) => b.startsWith("mp4") || b === "isom");
}

/** Per item: the 1-based indexes of its properties in `ipco` (`ipma`). */
export function associations(r: BoxReader, ipma: Box): Map<number, number[]> {
  const version = r.u8(ipma.start);
  const wideIndex = (r.u32(ipma.start) & 1) === 1;
  const count = r.u32(ipma.start + 4);
  const map = new Map<number, number[]>();
  let at = ipma.start + 8;
  for (let i = 0; i < count && at < ipma.end; i++) {
    const item = version < 1 ? r.u16(at) : r.u32(at);
    at += version < 1 ? 2 : 4;
    const n = r.u8(at++);
    const props: number[] = [];
    for (let j = 0; j < n; j++) {
      props.push(wideIndex ? r.u16(at) & 0x7fff : r.u8(at) & 0x7f);
      at += wideIndex ? 2 : 1;
    }
    map.set(item, props);
  }
  return map;
}

/** Item types by item id (`iinf` → `infe` version 2/3). */
export function itemTypes(r: BoxReader, iinf: Box | undefined): Map<number, string> {
  const types = new Map<number, string>();
  if (!iinf) return types;
  const entriesAt = iinf.start + (r.u8(iinf.start) === 0 ? 6 : 8);
  for (const infe of r.children(entriesAt, iinf.end)) {
    if (infe.type !== "infe" || r.u8(infe.start) < 2) continue;
    const wideId = r.u8(infe.start) >= 3;
    const id = wideId ? r.u32(infe.start + 4) : r.u16(infe.start + 4);
    types.set(id, r.type(infe.start + (wideId ? 10 : 8)));
  }
  return types;
}

export interface ItemLocation {
  /** 0: offsets in the file, 1: in the `idat` box, 2: in another item (not read). */
  method: number;
  extents: { offset: number; length: number }[];
}

/** Where each item's data lies (`iloc`, versions 0-2). */
export function itemLocations(r: BoxReader, iloc: Box | undefined): Map<number, ItemLocation> {
  const locations = new Map<number, ItemLocation>();
  if (!iloc) return locations;
  const version = r.u8(iloc.start);
  const offsetSize = r.u8(iloc.start + 4) >> 4;
  const lengthSize = r.u8(iloc.start + 4) & 15;
  const baseOffsetSize = r.u8(iloc.start + 5) >> 4;
  const indexSize = version >= 1 ? r.u8(iloc.start + 5) & 15 : 0;
  const count = version < 2 ? r.u16(iloc.start + 6) : r.u32(iloc.start + 6);
  let at = iloc.start + (version < 2 ? 8 : 10);
  for (let i = 0; i < count && at < iloc.end; i++) {
    const id = version < 2 ? r.u16(at) : r.u32(at);
    at += version < 2 ? 2 : 4;
    const method = version >= 1 ? r.u16(at) & 15 : 0;
    at += (version >= 1 ? 2 : 0) + 2; // construction_method, data_reference_index
    const base = r.uint(at, baseOffsetSize);
    at += baseOffsetSize;
    const extentCount = r.u16(at);
    at += 2;
    const extents: ItemLocation["extents"] = [];
    for (let j = 0; j < extentCount && at < iloc.end; j++) {
      at += indexSize;
      extents.push({ offset: base + r.uint(at, offsetSize), length: r.uint(at + offsetSize, lengthSize) });
      at += offsetSize + lengthSize;
    }
    locations.set(id, { method, extents });
  }
  return locations;
}

/** An item's data, its extents joined; what lies outside the file is a truncated upload. */
export function itemData(
  r: BoxReader,
  location: ItemLocation | undefined,
  idat: Box | undefined,
): Uint8Array {
  if (!location) throw new AvifBoxError("corrupt", "AVIF item has no iloc entry");
  if (location.method > 1) throw new AvifBoxError("unsupported", "AVIF item data in another item");
  const source = location.method === 0 ? r.b : r.b.subarray(idat?.start ?? 0, idat?.end ?? 0);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const { offset, length } of location.extents) {
    const end = length === 0 ? source.length : offset + length;
    if (end > source.length) throw new AvifBoxError("truncated", "AVIF item data ends past the file");
    total += end - offset;
    // Extents may repeat a range: never join more than the file holds.
    if (total > source.length) throw new AvifBoxError("corrupt", "AVIF item extents exceed the file");
    parts.push(source.subarray(offset, end));
  }
  return concatBytes(parts);
}

type PropertyOf = (item: number, type: string) => Box | undefined;

/**
 * The largest canvas the AV1 decoder may build: every AV1 item's sequence headers (in `av1C`
 * and in its data, which is what the decoder reads) must allow no frame larger than the item's
 * `ispe`, checked here because libavif compares them only after decoding. A grid multiplies
 * its largest tile by its columns and rows.
 */
function decodeCanvas(
  r: BoxReader,
  metaBoxes: Box[],
  items: Iterable<number>,
  types: Map<number, string>,
  of: PropertyOf,
): { decodeWidth: number; decodeHeight: number } {
  const locations = itemLocations(r, find(metaBoxes, "iloc"));
  const idat = find(metaBoxes, "idat");
  let tileWidth = 0;
  let tileHeight = 0;
  let columns = 1;
  let rows = 1;
  for (const item of items) {
    if (types.get(item) === "grid") {
      const grid = itemData(r, locations.get(item), idat);
      if (grid.length < 8) throw new AvifBoxError("corrupt", `AVIF grid item ${item} is too short`);
      rows = Math.max(rows, grid[2]! + 1);
      columns = Math.max(columns, grid[3]! + 1);
    }
    const av1C = of(item, "av1C");
    if (!av1C) continue;
    const ispe = of(item, "ispe");
    if (!ispe) throw new AvifBoxError("corrupt", `AVIF item ${item} has no ispe (image size)`);
    const width = r.u32(ispe.start + 4);
    const height = r.u32(ispe.start + 8);
    const configObus = r.b.subarray(Math.min(av1C.start + 4, av1C.end), av1C.end);
    const coded = av1MaxFrame([configObus, itemData(r, locations.get(item), idat)]);
    if (!coded.ok) throw new AvifBoxError(coded.reason, `AVIF item ${item}: ${coded.detail}`);
    if (coded.maxWidth > width || coded.maxHeight > height) {
      throw new AvifBoxError(
        "corrupt",
        `AVIF item ${item}: AV1 frames up to ${coded.maxWidth}x${coded.maxHeight} exceed its ispe ${width}x${height}`,
      );
    }
    tileWidth = Math.max(tileWidth, width);
    tileHeight = Math.max(tileHeight, height);
  }
  if (tileWidth === 0) throw new AvifBoxError("corrupt", "AVIF has no AV1 item");
  return { decodeWidth: tileWidth * columns, decodeHeight: tileHeight * rows };
}

/** Size, depth and alpha of the primary item from `meta`; null when the file has no `meta`. */
function fromMeta(r: BoxReader, meta: Box): StillFacts | null {
  const boxes = r.children(meta.start + 4, meta.end);
  const pitm = find(boxes, "pitm");
  const iprp = find(boxes, "iprp");
  if (!pitm || !iprp) return null;
  const primary = r.u8(pitm.start) === 0 ? r.u16(pitm.start + 4) : r.u32(pitm.start + 4);
  const iprpBoxes = r.children(iprp.start, iprp.end);
  const ipco = find(iprpBoxes, "ipco");
  if (!ipco) throw new AvifBoxError("corrupt", "AVIF has no ipco box");
  const properties = r.children(ipco.start, ipco.end);
  const owned = new Map<number, number[]>();
  for (const ipma of iprpBoxes.filter((b) => b.type === "ipma")) {
    for (const [item, props] of associations(r, ipma)) {
      const list = owned.get(item) ?? [];
      for (const p of props) list.push(p); // in place: a file may repeat an item across ipma boxes
      owned.set(item, list);
    }
  }
  const of = (item: number, type: string) =>
    (owned.get(item) ?? []).map((i) => properties[i - 1]).find((p) => p?.type === type);
  const ispe = of(primary, "ispe");
  if (!ispe) throw new AvifBoxError("corrupt", "AVIF primary item has no ispe (image size)");
  let depth = 8;
  let alpha = false;
  let chroma = 0;
  for (const item of owned.keys()) {
    const pixi = of(item, "pixi");
    if (pixi && r.u8(pixi.start + 4) > 0) depth = Math.max(depth, r.u8(pixi.start + 5));
    const auxC = of(item, "auxC");
    const isAlpha =
      auxC !== undefined && /alpha/.test(String.fromCharCode(...r.b.subarray(auxC.start + 4, auxC.end)));
    alpha ||= isAlpha;
    const av1C = of(item, "av1C");
    if (!av1C) continue;
    const layout = av1Layout(r, av1C);
    depth = Math.max(depth, layout.depth);
    if (!isAlpha) chroma = Math.max(chroma, layout.chroma);
  }
  const types = itemTypes(r, find(boxes, "iinf"));
  const grid = types.get(primary) === "grid";
  const canvas = decodeCanvas(r, boxes, new Set([primary, ...owned.keys()]), types, of);
  const width = r.u32(ispe.start + 4);
  const height = r.u32(ispe.start + 8);
  return { width, height, depth, alpha, chroma, grid, ...canvas };
}

type StillFacts = Omit<AvifHeader, "ok" | "sequence" | "item" | "tracks">;

/**
 * A file with picture tracks: the tracks' layout and sizes joined with the items' (both are
 * checked and the largest canvas reserved, whichever a decoder shows). The image shown is the
 * colour track's unless the major brand is `avif` and there is a primary item, as libavif
 * chooses by default.
 */
function withTracks(r: BoxReader, still: StillFacts | null, tracks: AvifSequence): AvifHeader {
  const { color, alpha } = tracks;
  const planes = alpha ? [color, alpha] : [color];
  const shown = still && r.type(8) === "avif" ? still : null;
  return {
    ok: true,
    width: shown ? shown.width : color.width || color.codedWidth,
    height: shown ? shown.height : color.height || color.codedHeight,
    depth: Math.max(still?.depth ?? 8, ...planes.map((t) => t.depth)),
    alpha: (still?.alpha ?? false) || alpha !== null,
    chroma: Math.max(still?.chroma ?? 0, color.chroma),
    sequence: !shown,
    item: still !== null,
    grid: shown?.grid ?? false,
    decodeWidth: Math.max(still?.decodeWidth ?? 0, ...planes.flatMap((t) => [t.codedWidth, t.width])),
    decodeHeight: Math.max(still?.decodeHeight ?? 0, ...planes.flatMap((t) => [t.codedHeight, t.height])),
    tracks,
  };
}

/** Reads an AVIF's image size and layout from its boxes; nothing is decoded. */
export function readAvifHeader(bytes: Uint8Array): AvifHeaderResult {
  const r = new BoxReader(bytes);
  if (!isAvif(bytes)) return { ok: false, reason: "unsupported", detail: "not an AVIF (ftyp brands)" };
  try {
    const top = r.children(0, bytes.length);
    const cut = top.find((b) => b.end > bytes.length);
    if (cut) return { ok: false, reason: "truncated", detail: `AVIF ${cut.type} box ends past the file` };
    const meta = find(top, "meta");
    const moov = find(top, "moov");
    const still = meta ? fromMeta(r, meta) : null;
    const tracks = moov ? readAvifSequence(r, moov) : null;
    if (tracks) return withTracks(r, still, tracks);
    if (still) return { ok: true, ...still, sequence: false, item: true, tracks: null };
    if (bytes.length < 64 || (!meta && !moov))
      return { ok: false, reason: "truncated", detail: "AVIF ends before its meta box" };
    return { ok: false, reason: "corrupt", detail: "AVIF has no primary item and no track" };
  } catch (e) {
    if (!(e instanceof AvifBoxError)) throw e;
    return { ok: false, reason: e.reason, detail: e.message };
  }
}
