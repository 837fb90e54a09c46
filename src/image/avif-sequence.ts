/**
 * AVIF image sequences (`avis`) frame by frame: the colour track's samples (avif-tracks.ts, whose
 * sequence headers were checked against the track's size) fed in order to one dav1d context
 * (av1-codec.ts), which keeps its reference frames between samples so inter frames decode. Each
 * picture is drawn straight into the PDQ working size and handed out as a frame, the way animated
 * GIF and WebP frames are (frames.ts): every frame up to FRAMES_ALL, then sampled evenly; every
 * sample is decoded (later frames refer to earlier ones) and counted against
 * ANIMATION_MAX_PIXELS, past which the frames so far are judged and the file is too large.
 * The alpha track is not decoded: PDQ ignores alpha.
 *
 * A file with both a primary item and a track has both judged, whichever a viewer shows: the
 * item first, unless its data is the track's first sample (what libavif writes).
 */
import { type Av1Canvas, type Av1Colour, type Av1Decoder, type Av1Picture, av1Codec } from "./av1-codec.ts";
import { avifDecodeBytes, dav1dWorkBytes, decodeAvif } from "./avif.ts";
import { readAvifHeader } from "./avif-header.ts";
import { type AvifImage, nclx, readAvifImage } from "./avif-items.ts";
import type { AvifTrack } from "./avif-tracks.ts";
import { planScale } from "./downscale.ts";
import { type DecodedFrame, isFrameHashed, spendAnimationPixels } from "./frames.ts";
import { AvifBoxError, BoxReader } from "./iso-boxes.ts";
import { type DecodedImage, type DecodeLimits, ImageDecodeError } from "./types.ts";

type AvifLimits = Pick<DecodeLimits, "fullResolution" | "reserve">;

/**
 * Frames dav1d may hold at once while decoding a sequence: AV1's 8 reference slots and the frame
 * being decoded (a still needs one).
 */
const SEQUENCE_FRAMES_HELD = 9;

/** What decoding a track maps at its peak: a still's decode with every reference slot full. */
export function trackDecodeBytes(track: AvifTrack, fullResolution = false): number {
  const { codedWidth: width, codedHeight: height, depth, chroma } = track;
  const largest = Math.max(...track.samples.map((s) => s.size));
  const shape = { width, height, tileWidth: width, tileHeight: height, depth, chroma, fullResolution };
  const one = avifDecodeBytes({ ...shape, inputBytes: largest });
  // The frame term of avifDecodeBytes: the same shape with and without a tile to decode.
  const frame = one - avifDecodeBytes({ ...shape, tileWidth: 0, inputBytes: largest });
  return one + (SEQUENCE_FRAMES_HELD - 1) * frame;
}

/**
 * The part of trackDecodeBytes that is dav1d's (its allocation ceiling): every reference slot
 * full, and the largest sample twice (dav1d may still hold the unparsed rest of one when the
 * next is copied in; nothing here holds a copy, the samples are views of the file).
 */
export function trackWorkBytes(track: AvifTrack, fullResolution = false): number {
  const { codedWidth: width, codedHeight: height, depth, chroma } = track;
  const largest = Math.max(...track.samples.map((s) => s.size));
  const shape = { width, height, tileWidth: width, tileHeight: height, depth, chroma, fullResolution };
  return dav1dWorkBytes({ ...shape, inputBytes: 2 * largest }, SEQUENCE_FRAMES_HELD);
}

/** Every hashed frame of a track, in display order (one picture per sample), reserved for first. */
export async function* decodeTrackFrames(
  bytes: Uint8Array,
  track: AvifTrack,
  colour: Av1Colour | null,
  limits: AvifLimits,
): AsyncGenerator<DecodedFrame> {
  const { codedWidth: width, codedHeight: height } = track;
  limits.reserve?.(trackDecodeBytes(track, limits.fullResolution));
  const codec = await av1Codec();
  let failure: unknown;
  let decoder: Av1Decoder | undefined;
  let canvas: Av1Canvas | undefined;
  try {
    // The canvas first: it is not dav1d's, so it stays outside the decoder's ceiling.
    canvas = codec.canvas(width, height, planScale(width, height, limits.fullResolution));
    decoder = codec.decoder(width * height, trackWorkBytes(track, limits.fullResolution));
    yield* trackFrames(bytes, track, colour, decoder, canvas);
  } catch (err) {
    failure = err ?? new Error("thrown");
    throw err;
  } finally {
    canvas?.close();
    decoder?.close();
    codec.done(failure);
  }
}

/** The samples fed in order; each picture checked against the coded size, drawn when hashed. */
function* trackFrames(
  bytes: Uint8Array,
  track: AvifTrack,
  colour: Av1Colour | null,
  decoder: Av1Decoder,
  canvas: Av1Canvas,
): Generator<DecodedFrame> {
  const { codedWidth: width, codedHeight: height, samples } = track;
  let shown = 0;
  const frame = (picture: Av1Picture): DecodedFrame | null => {
    if (picture.width !== width || picture.height !== height) {
      throw new ImageDecodeError(
        "corrupt",
        `AVIF track frame ${shown + 1} is ${picture.width}x${picture.height}, its sample entry says ${width}x${height}`,
      );
    }
    const index = shown++;
    if (!isFrameHashed(index, samples.length)) return null;
    decoder.draw(canvas, 0, 0, colour ?? picture);
    return { index, image: canvas.finish() };
  };
  let composited = 0;
  for (const [i, s] of samples.entries()) {
    composited = spendAnimationPixels(composited, width * height, i);
    const picture = decoder.decode(bytes.subarray(s.offset, s.offset + s.size));
    const out = picture && frame(picture);
    if (out) yield out;
  }
  for (let picture = decoder.drain(); picture; picture = decoder.drain()) {
    const out = frame(picture);
    if (out) yield out;
  }
  if (shown === 0) throw new ImageDecodeError("truncated", "AVIF track's samples gave no picture");
  if (track.declaredSamples > samples.length) {
    throw new ImageDecodeError(
      "too-large",
      `AVIF sequence of ${track.declaredSamples} frames: the first ${samples.length} were judged`,
    );
  }
}

/** Whether the primary item is other than the track's first sample (so it is judged too). */
function itemIsOwnImage(bytes: Uint8Array, track: AvifTrack): boolean {
  let image: AvifImage;
  try {
    image = readAvifImage(bytes);
  } catch (e) {
    if (e instanceof AvifBoxError) throw new ImageDecodeError(e.reason, e.message);
    throw e;
  }
  const first = track.samples[0]!;
  const tile = image.tiles.length === 1 ? image.tiles[0]!.data : null;
  if (!tile || tile.length !== first.size) return true;
  return tile.some((v, i) => v !== bytes[first.offset + i]);
}

/**
 * Every hashed frame of an AVIF: a still's image, or a sequence's frames (with its primary item
 * first when that is a picture of its own). Frame indexes count the item.
 */
export async function* decodeAvifFrames(bytes: Uint8Array, limits: AvifLimits): AsyncGenerator<DecodedFrame> {
  const header = readAvifHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  const track = header.tracks?.color;
  let first = 0;
  if (header.item && (!track || itemIsOwnImage(bytes, track))) {
    yield { index: first++, image: await decodeAvif(bytes, limits) };
  }
  if (!track) return;
  const colour = track.colr ? nclx(new BoxReader(bytes), track.colr) : null;
  for await (const { index, image } of decodeTrackFrames(bytes, track, colour, limits)) {
    yield { index: first + index, image };
  }
}

/** The image a viewer shows first: the still, or a sequence's first frame (`hashgate hash`). */
export async function decodeAvifFirst(bytes: Uint8Array, limits: AvifLimits): Promise<DecodedImage> {
  const header = readAvifHeader(bytes);
  if (!header.ok) throw new ImageDecodeError(header.reason, header.detail);
  const track = header.tracks?.color;
  if (!header.sequence || !track) return decodeAvif(bytes, limits);
  const colour = track.colr ? nclx(new BoxReader(bytes), track.colr) : null;
  for await (const frame of decodeTrackFrames(bytes, track, colour, limits)) return frame.image;
  throw new ImageDecodeError("truncated", "AVIF track's samples gave no picture");
}
