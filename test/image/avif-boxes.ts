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

/** How buildAvifSequence lays out its track (the defaults are what encoders write). */
export interface SequenceLayout {
  /** `tkhd` width and height (default: the first still's `ispe`). */
  trackSize?: [number, number];
  /** The `av01` sample entry's width and height (default: the first still's `ispe`). */
  entrySize?: [number, number];
  /** Samples per chunk (default: all in one chunk). */
  perChunk?: number;
  /** 64-bit chunk offsets (`co64`) instead of `stco`. */
  co64?: boolean;
  /** `stss` sample numbers (1-based); undefined writes no `stss` (every sample is a sync sample). */
  sync?: number[];
  /** A still AVIF whose item becomes the file's primary item too (libavif writes the first frame). */
  item?: Uint8Array;
  majorBrand?: "avis" | "avif";
}

/** `stsc` for `n` samples, `perChunk` to a chunk and the rest in a last, smaller chunk. */
function stsc(n: number, perChunk: number): number[] {
  const full = Math.floor(n / perChunk);
  const runs = [[1, perChunk]];
  if (n % perChunk) runs.push([full + 1, n % perChunk]);
  if (full === 0) runs.shift();
  return fullBox(
    "stsc",
    0,
    0,
    u32(runs.length),
    ...runs.map(([first, count]) => [...u32(first!), ...u32(count!), ...u32(1)]),
  );
}

/**
 * An AVIF image sequence (`avis`) made from separately encoded stills (test data only): one
 * track whose samples are the stills' AV1 data, each a key frame with its sequence header, in
 * one `mdat`. The `av01` entry takes the first still's `av1C`.
 */
export function buildAvifSequence(stills: Uint8Array[], layout: SequenceLayout = {}): Uint8Array {
  const data = stills.map(mdatPayload);
  const ispe = copyBox(stills[0]!, "ispe");
  const size = (at: number) =>
    (ispe[at]! << 24) | (ispe[at + 1]! << 16) | (ispe[at + 2]! << 8) | ispe[at + 3]!;
  const [trackW, trackH] = layout.trackSize ?? [size(12), size(16)];
  const [entryW, entryH] = layout.entrySize ?? [size(12), size(16)];
  const perChunk = layout.perChunk ?? data.length;
  const itemData = layout.item ? mdatPayload(layout.item) : new Uint8Array(0);
  const n = data.length;
  const matrix = [
    ...u32(0x10000),
    ...u32(0),
    ...u32(0),
    ...u32(0),
    ...u32(0x10000),
    ...u32(0),
    ...u32(0),
    ...u32(0),
    ...u32(0x40000000),
  ];
  const av01 = box(
    "av01",
    [0, 0, 0, 0, 0, 0, ...u16(1), ...u16(0), ...u16(0), ...new Array(12).fill(0)],
    [...u16(entryW), ...u16(entryH), ...u32(0x480000), ...u32(0x480000), ...u32(0), ...u16(1)],
    new Array(32).fill(0),
    [...u16(0x18), 0xff, 0xff],
    copyBox(stills[0]!, "av1C"),
  );
  const build = (mdatStart: number) => {
    const itemAt = mdatStart + 8;
    const chunkOffsets: number[] = [];
    let offset = itemAt + itemData.length;
    for (const [i, d] of data.entries()) {
      if (i % perChunk === 0) chunkOffsets.push(offset);
      offset += d.length;
    }
    const stbl = box(
      "stbl",
      fullBox("stsd", 0, 0, u32(1), av01),
      fullBox("stts", 0, 0, u32(1), u32(n), u32(1)),
      ...(layout.sync ? [fullBox("stss", 0, 0, u32(layout.sync.length), ...layout.sync.map(u32))] : []),
      stsc(n, perChunk),
      fullBox("stsz", 0, 0, u32(0), u32(n), ...data.map((d) => u32(d.length))),
      layout.co64
        ? fullBox("co64", 0, 0, u32(chunkOffsets.length), ...chunkOffsets.map((o) => [...u32(0), ...u32(o)]))
        : fullBox("stco", 0, 0, u32(chunkOffsets.length), ...chunkOffsets.map(u32)),
    );
    const trak = box(
      "trak",
      fullBox(
        "tkhd",
        0,
        3,
        u32(0),
        u32(0),
        u32(1),
        u32(0),
        u32(n),
        u32(0),
        u32(0),
        u32(0),
        u32(0),
        matrix,
        u32(trackW * 0x10000),
        u32(trackH * 0x10000),
      ),
      box(
        "mdia",
        fullBox("mdhd", 0, 0, u32(0), u32(0), u32(10), u32(n), u16(0x55c4), u16(0)),
        fullBox("hdlr", 0, 0, u32(0), fourcc("pict"), u32(0), u32(0), u32(0), [0]),
        box(
          "minf",
          fullBox("vmhd", 0, 1, new Array(8).fill(0)),
          box("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1))),
          stbl,
        ),
      ),
    );
    const mvhd = fullBox(
      "mvhd",
      0,
      0,
      u32(0),
      u32(0),
      u32(10),
      u32(n),
      u32(0x10000),
      u16(0x100),
      new Array(10).fill(0),
      matrix,
      new Array(24).fill(0),
      u32(2),
    );
    const moov = box("moov", mvhd, trak);
    const meta = layout.item
      ? fullBox(
          "meta",
          0,
          0,
          fullBox("hdlr", 0, 0, u32(0), fourcc("pict"), u32(0), u32(0), u32(0), [0]),
          fullBox("pitm", 0, 0, u16(1)),
          fullBox(
            "iloc",
            0,
            0,
            [0x44, 0x00],
            u16(1),
            u16(1),
            u16(0),
            u16(1),
            u32(itemAt),
            u32(itemData.length),
          ),
          fullBox("iinf", 0, 0, u16(1), fullBox("infe", 2, 0, u16(1), u16(0), fourcc("av01"), [0])),
          box(
            "iprp",
            box("ipco", copyBox(layout.item, "ispe"), copyBox(layout.item, "av1C")),
            fullBox("ipma", 0, 0, u32(1), u16(1), [2, 1, 0x82]),
          ),
        )
      : [];
    // libavif requires a meta box (a primary item) of a file listing the `avif` brand.
    const compatible = layout.item ? "avifavismif1miafmsf1iso8" : "avismif1miafmsf1iso8";
    const ftyp = box("ftyp", fourcc(layout.majorBrand ?? "avis"), u32(0), fourcc(compatible));
    return [...ftyp, ...meta, ...moov];
  };
  const head = build(build(0).length);
  return Uint8Array.from([...head, ...box("mdat", itemData, ...data)]);
}
