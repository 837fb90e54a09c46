/**
 * AVIF image sequence tracks (`avis`): each AV1 track's samples as byte ranges of the file, with
 * their sync flags and durations, read from the ISO-BMFF sample tables BEFORE any decoder runs,
 * and every AV1 sequence header of a track (its `av1C` configOBUs and every sample's OBUs)
 * checked against the size the track declares.
 *
 * Why the check: the AV1 decoder builds frames as large as the sequence headers allow, while
 * the memory reservation is made from the declared size (`tkhd`, the `av01` sample entry). A
 * track declaring 64×64 whose samples code 8192×8192 frames would grow the decoder's heap far
 * past its reservation; libavif compares sizes only after decoding. Every sample is read, not
 * only sync samples: a sequence header (and a key frame) may come in any temporal unit.
 *
 * Our own parser, like avif-header.ts and on its box reader: no well-kept package reads ISO-BMFF
 * sample tables inside workerd short of a decoder (libavif reads them only inside its decode)
 * or a whole-movie demuxer built for playback (mp4box.js), neither bounded on hostile counts.
 * Written from ISO/IEC 14496-12 (tkhd, tref, mdhd, hdlr, stsd, stsz/stz2, stco/co64, stsc,
 * stss, stts), the AV1 ISOBMFF binding (av01, av1C) and the AVIF specification (an alpha plane
 * is an auxiliary track that references its colour track with `auxl`).
 *
 * Hostile input: every table's entry count is checked against its box's size before it is read,
 * and at most MAX_TRACK_SAMPLES samples are listed, so the work is bounded by the file's size; a
 * sample outside the file is a truncated upload; samples that share bytes (which would let one
 * megabyte be decoded a thousand times), tables that disagree and empty samples are corrupt.
 */
import { av1LargestFrame } from "./av1-sequence-header.ts";
import { AvifBoxError, type Box, type BoxReader, find } from "./iso-boxes.ts";

/**
 * Samples listed per track at most: 16,384 (about 9 minutes at 30 frames a second; 17 bytes of
 * table each). frames.ts's ANIMATION_MAX_PIXELS ends decoding before that for frames above
 * 128×128; a track that declares more has these judged and is then reported too large.
 */
export const MAX_TRACK_SAMPLES = 16_384;

/** Bytes of a VisualSampleEntry before its child boxes (ISO/IEC 14496-12, 12.1.3). */
const VISUAL_SAMPLE_ENTRY_BYTES = 78;
/** Handlers of picture tracks: AVIF's `pict`, video's `vide`, and `auxv` for auxiliary planes. */
const PICTURE_HANDLERS = new Set(["pict", "vide", "auxv"]);

export interface AvifSample {
  /** Byte range of the sample (one AV1 temporal unit) in the file. */
  offset: number;
  size: number;
  /** A sync sample (`stss`; every sample when the track has none): a key frame. */
  sync: boolean;
  /** In the track's timescale (`stts`); 0 past the end of its table. */
  duration: number;
}

/** Bit depth and chroma samples per pixel from an `av1C` (as avif-header.ts's `chroma`). */
export interface Av1Layout {
  depth: number;
  /** 0 (monochrome), 0.5 (4:2:0), 1 (4:2:2), 2 (4:4:4). */
  chroma: number;
}

export interface AvifTrack extends Av1Layout {
  id: number;
  /** `hdlr` handler type: pict, vide or auxv. */
  handler: string;
  /** `tkhd` width and height, rounded up to whole pixels; 0 when it declares none. */
  width: number;
  height: number;
  /** The `av01` sample entry's width and height: the coded size. */
  codedWidth: number;
  codedHeight: number;
  /** Largest frame the track's AV1 sequence headers allow (within both sizes above). */
  maxFrameWidth: number;
  maxFrameHeight: number;
  /** The track this one is an auxiliary plane of (`tref` → `auxl`), e.g. alpha; null for colour. */
  auxFor: number | null;
  /** The sample entry's `colr` box (how its YUV becomes RGB), if it has one. */
  colr: Box | null;
  /** `av1C` configOBUs (a decoder reads them before the first sample). */
  configObus: Uint8Array;
  /** Units per second of `duration` (`mdhd`). */
  timescale: number;
  samples: AvifSample[];
  /** Samples the track declares: more than listed when over MAX_TRACK_SAMPLES. */
  declaredSamples: number;
}

/** The tracks a decoder shows: the first colour track, and its alpha (auxiliary) track if any. */
export interface AvifSequence {
  color: AvifTrack;
  alpha: AvifTrack | null;
}

const corrupt = (message: string) => new AvifBoxError("corrupt", message);

/** A box's children, each within it. */
function inside(r: BoxReader, parent: Box): Box[] {
  const boxes = r.children(parent.start, parent.end);
  const over = boxes.find((b) => b.end > parent.end);
  if (over) throw corrupt(`AVIF ${over.type} box runs past its ${parent.type} box`);
  return boxes;
}

function need(boxes: Box[], type: string, where: string): Box {
  const box = find(boxes, type);
  if (!box) throw corrupt(`AVIF ${where} has no ${type} box`);
  return box;
}

/** Throws unless `count` entries of `entryBits` bits starting at `first` fit in the box. */
function checkCount(box: Box, first: number, count: number, entryBits: number): void {
  if (first * 8 + count * entryBits > box.end * 8)
    throw corrupt(`AVIF ${box.type} lists ${count} entries in ${box.end - box.start} bytes`);
}

/** Depth and chroma layout from an `av1C` box's third byte (AV1 ISOBMFF binding, 2.3.3). */
export function av1Layout(r: BoxReader, av1C: Box): Av1Layout {
  const bits = r.u8(av1C.start + 2);
  const depth = bits & 0x40 ? (bits & 0x20 ? 12 : 10) : 8;
  if (bits & 0x10) return { depth, chroma: 0 };
  return { depth, chroma: bits & 0x08 ? (bits & 0x04 ? 0.5 : 1) : 2 };
}

/** Sample sizes (`stsz` or the compact `stz2`): how many the track declares and each one's size. */
function sampleSizes(r: BoxReader, tables: Box[]): { declared: number; sizeOf: (i: number) => number } {
  const stsz = find(tables, "stsz");
  if (stsz) {
    const constant = r.u32(stsz.start + 4);
    const declared = r.u32(stsz.start + 8);
    if (constant === 0) checkCount(stsz, stsz.start + 12, declared, 32);
    return { declared, sizeOf: (i) => constant || r.u32(stsz.start + 12 + 4 * i) };
  }
  const stz2 = find(tables, "stz2");
  if (!stz2) throw corrupt("AVIF track has no stsz or stz2 box");
  const field = r.u8(stz2.start + 7);
  if (field !== 4 && field !== 8 && field !== 16) throw corrupt(`AVIF stz2 field size ${field}`);
  const declared = r.u32(stz2.start + 8);
  const at = stz2.start + 12;
  checkCount(stz2, at, declared, field);
  const sizeOf = (i: number) =>
    field === 16
      ? r.u16(at + 2 * i)
      : field === 8
        ? r.u8(at + i)
        : (r.u8(at + (i >> 1)) >> (i & 1 ? 0 : 4)) & 15;
  return { declared, sizeOf };
}

/** Chunk offsets (`stco` or `co64`). */
function chunkOffsets(r: BoxReader, tables: Box[]): { count: number; offsetOf: (i: number) => number } {
  const stco = find(tables, "stco");
  const co64 = stco ? undefined : find(tables, "co64");
  const box = stco ?? co64;
  if (!box) throw corrupt("AVIF track has no stco or co64 box");
  const count = r.u32(box.start + 4);
  const bytes = stco ? 4 : 8;
  checkCount(box, box.start + 8, count, bytes * 8);
  return { count, offsetOf: (i) => r.uint(box.start + 8 + bytes * i, bytes) };
}

/**
 * The samples' byte ranges: `stsc` gives runs of chunks with their samples per chunk, each chunk
 * starts at its offset and holds its samples back to back. Lists at most `listed` samples.
 */
function sampleRanges(
  r: BoxReader,
  tables: Box[],
  listed: number,
  sizeOf: (i: number) => number,
): AvifSample[] {
  const { count: chunks, offsetOf } = chunkOffsets(r, tables);
  const stsc = need(tables, "stsc", "track");
  const runs = r.u32(stsc.start + 4);
  checkCount(stsc, stsc.start + 8, runs, 96);
  const samples: AvifSample[] = [];
  for (let e = 0; e < runs && samples.length < listed; e++) {
    const at = stsc.start + 8 + 12 * e;
    const first = r.u32(at);
    const perChunk = r.u32(at + 4);
    const next = e + 1 < runs ? r.u32(at + 12) : chunks + 1;
    // Runs start at chunk 1 and go up: each chunk is walked once at most.
    if ((e === 0 && first !== 1) || next <= first || next > chunks + 1)
      throw corrupt(`AVIF stsc run ${e + 1} starts at chunk ${first} of ${chunks}`);
    for (let chunk = first; chunk < next && samples.length < listed; chunk++) {
      let offset = offsetOf(chunk - 1);
      for (let k = 0; k < perChunk && samples.length < listed; k++) {
        const size = sizeOf(samples.length);
        if (size === 0) throw corrupt(`AVIF sample ${samples.length + 1} is empty`);
        if (offset + size > r.b.length)
          throw new AvifBoxError(
            "truncated",
            `AVIF sample ${samples.length + 1} lies past the end of the file`,
          );
        samples.push({ offset, size, sync: true, duration: 0 });
        offset += size;
      }
    }
  }
  if (samples.length < listed)
    throw corrupt(`AVIF track's chunks hold ${samples.length} of its ${listed} samples`);
  return samples;
}

/** Marks sync samples (`stss`, 1-based; none means all) and sets durations (`stts` runs). */
function sampleTiming(r: BoxReader, tables: Box[], samples: AvifSample[]): void {
  const stss = find(tables, "stss");
  if (stss) {
    const count = r.u32(stss.start + 4);
    checkCount(stss, stss.start + 8, count, 32);
    for (const s of samples) s.sync = false;
    for (let i = 0; i < count; i++) {
      const n = r.u32(stss.start + 8 + 4 * i);
      if (n >= 1 && n <= samples.length) samples[n - 1]!.sync = true;
    }
  }
  const stts = find(tables, "stts");
  if (!stts) return;
  const runs = r.u32(stts.start + 4);
  checkCount(stts, stts.start + 8, runs, 64);
  let i = 0;
  for (let e = 0; e < runs && i < samples.length; e++) {
    const count = r.u32(stts.start + 8 + 8 * e);
    const delta = r.u32(stts.start + 12 + 8 * e);
    for (let k = 0; k < count && i < samples.length; k++) samples[i++]!.duration = delta;
  }
}

/** Refuses samples that share bytes: each byte of the file is decoded once per track at most. */
function checkDisjoint(samples: AvifSample[]): void {
  const order = samples.map((_, i) => i).sort((a, b) => samples[a]!.offset - samples[b]!.offset);
  for (let k = 1; k < order.length; k++) {
    const before = samples[order[k - 1]!]!;
    if (before.offset + before.size > samples[order[k]!]!.offset)
      throw corrupt(`AVIF samples ${order[k - 1]! + 1} and ${order[k]! + 1} share bytes`);
  }
}

/** The `av01` sample entry: coded size, `av1C` layout and configOBUs. */
function sampleEntry(r: BoxReader, tables: Box[], id: number) {
  const stsd = need(tables, "stsd", `track ${id}`);
  const entries = inside(r, { type: "stsd", start: Math.min(stsd.start + 8, stsd.end), end: stsd.end });
  if (r.u32(stsd.start + 4) !== 1 || entries.length !== 1)
    throw new AvifBoxError("unsupported", `AVIF track ${id} has ${entries.length} sample descriptions`);
  const entry = entries[0]!;
  if (entry.type !== "av01")
    throw new AvifBoxError("unsupported", `AVIF track ${id} codes ${entry.type}, not AV1`);
  if (entry.end - entry.start < VISUAL_SAMPLE_ENTRY_BYTES)
    throw corrupt(`AVIF track ${id}: av01 entry too short`);
  const properties = inside(r, {
    type: "av01",
    start: entry.start + VISUAL_SAMPLE_ENTRY_BYTES,
    end: entry.end,
  });
  const av1C = need(properties, "av1C", `track ${id}`);
  if (av1C.end - av1C.start < 4) throw corrupt(`AVIF track ${id}: av1C too short`);
  return {
    codedWidth: r.u16(entry.start + 24),
    codedHeight: r.u16(entry.start + 26),
    configObus: r.b.subarray(av1C.start + 4, av1C.end),
    colr: find(properties, "colr") ?? null,
    ...av1Layout(r, av1C),
  };
}

/** Every AV1 sequence header of the track must allow no frame beyond its declared sizes. */
function checkFrameSize(r: BoxReader, t: Omit<AvifTrack, "maxFrameWidth" | "maxFrameHeight">) {
  const runs = [t.configObus, ...t.samples.map((s) => r.b.subarray(s.offset, s.offset + s.size))];
  const coded = av1LargestFrame(runs);
  if (!coded.ok) throw new AvifBoxError(coded.reason, `AVIF track ${t.id}: ${coded.detail}`);
  if (coded.found === 0) throw corrupt(`AVIF track ${t.id}: AV1 data has no sequence header`);
  const fits = (w: number, h: number) => coded.maxWidth <= w && coded.maxHeight <= h;
  if (!fits(t.codedWidth, t.codedHeight) || (t.width > 0 && t.height > 0 && !fits(t.width, t.height))) {
    throw corrupt(
      `AVIF track ${t.id}: AV1 frames up to ${coded.maxWidth}x${coded.maxHeight} exceed its declared ` +
        `size (${t.codedWidth}x${t.codedHeight} coded, ${t.width}x${t.height} shown)`,
    );
  }
  return { maxFrameWidth: coded.maxWidth, maxFrameHeight: coded.maxHeight };
}

/** One `trak`: null for a track that is no picture (audio, metadata). */
function readTrack(r: BoxReader, trak: Box): AvifTrack | null {
  const boxes = inside(r, trak);
  const tkhd = need(boxes, "tkhd", "track");
  const v1 = r.u8(tkhd.start) === 1;
  const id = r.u32(tkhd.start + (v1 ? 20 : 12));
  const sizeAt = tkhd.start + (v1 ? 88 : 76);
  if (sizeAt + 8 > tkhd.end) throw corrupt(`AVIF track ${id}: tkhd too short`);
  const mdia = inside(r, need(boxes, "mdia", `track ${id}`));
  const hdlr = need(mdia, "hdlr", `track ${id}`);
  const handler = r.type(hdlr.start + 8);
  if (!PICTURE_HANDLERS.has(handler)) return null;
  const mdhd = find(mdia, "mdhd");
  const timescale = mdhd ? r.u32(mdhd.start + (r.u8(mdhd.start) === 1 ? 20 : 12)) : 0;
  const minf = inside(r, need(mdia, "minf", `track ${id}`));
  const tables = inside(r, need(minf, "stbl", `track ${id}`));
  const entry = sampleEntry(r, tables, id);
  const tref = find(boxes, "tref");
  const auxl = tref ? find(inside(r, tref), "auxl") : undefined;
  const { declared, sizeOf } = sampleSizes(r, tables);
  if (declared === 0) throw corrupt(`AVIF track ${id} has no samples`);
  const samples = sampleRanges(r, tables, Math.min(declared, MAX_TRACK_SAMPLES), sizeOf);
  sampleTiming(r, tables, samples);
  checkDisjoint(samples);
  const track = {
    id,
    handler,
    width: Math.ceil(r.u32(sizeAt) / 65536),
    height: Math.ceil(r.u32(sizeAt + 4) / 65536),
    ...entry,
    auxFor: auxl && auxl.end - auxl.start >= 4 ? r.u32(auxl.start) : null,
    timescale,
    samples,
    declaredSamples: declared,
  };
  return { ...track, ...checkFrameSize(r, track) };
}

/**
 * The picture tracks of a `moov`, each parsed and checked (AvifBoxError otherwise); null when it
 * holds none. The colour track is the first that is no auxiliary of another, as libavif picks it.
 */
export function readAvifSequence(r: BoxReader, moov: Box): AvifSequence | null {
  const tracks: AvifTrack[] = [];
  for (const trak of inside(r, moov).filter((b) => b.type === "trak")) {
    const track = readTrack(r, trak);
    if (track) tracks.push(track);
  }
  if (tracks.length === 0) return null;
  const color = tracks.find((t) => t.auxFor === null);
  if (!color) throw corrupt("AVIF sequence has auxiliary tracks only");
  const others = tracks.filter((t) => t !== color && t.auxFor === null);
  if (others.length > 0)
    throw new AvifBoxError("unsupported", `AVIF sequence has ${others.length + 1} colour tracks`);
  return { color, alpha: tracks.find((t) => t.auxFor === color.id) ?? null };
}
