/**
 * AV1 sequence header reader: the largest frame an AV1 bitstream may code
 * (max_frame_width_minus_1 / max_frame_height_minus_1), read BEFORE the decoder runs.
 *
 * Why: libavif compares the decoded frame with the AVIF's `ispe` only AFTER libaom has decoded
 * it, so a file whose `ispe` claims a small image while its AV1 data codes a huge frame grows
 * the decoder's heap far past the reservation made from `ispe` (up to the 2 GiB a WASM heap
 * can take): one upload kills the isolate. libaom refuses any frame larger than the sequence
 * header's maximum, so comparing that maximum with `ispe` before decoding bounds the heap.
 * Our own reader, because nothing reads an AV1 sequence header inside workerd short of the
 * decoder itself (libaom in @jsquash/avif exposes no header call). Written from the AV1
 * Bitstream & Decoding Process Specification, sections 5.3 (OBU header, leb128) and 5.5
 * (sequence_header_obu up to the max frame size), nothing further.
 */

/** OBU types (AV1 spec 6.2.2) this reader acts on. */
const OBU_SEQUENCE_HEADER = 1;

export interface Av1MaxFrame {
  ok: true;
  maxWidth: number;
  maxHeight: number;
}

export type Av1HeaderResult = Av1MaxFrame | { ok: false; reason: "truncated" | "corrupt"; detail: string };

/** The largest frame of the sequence headers found, and how many were found (0: none). */
export type Av1HeadersResult = (Av1MaxFrame & { found: number }) | Exclude<Av1HeaderResult, Av1MaxFrame>;

class Av1ReadError extends Error {
  readonly reason: "truncated" | "corrupt";
  constructor(reason: Av1ReadError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

/** MSB-first bit reader over one OBU payload; reading past its end is a truncated header. */
class BitReader {
  private bit: number;
  private readonly b: Uint8Array;
  private readonly end: number;
  constructor(b: Uint8Array, end: number, start: number) {
    this.b = b;
    this.end = end;
    this.bit = start * 8;
  }
  /** f(n) of the spec, n ≤ 32. */
  f(n: number): number {
    if (this.bit + n > this.end * 8) throw new Av1ReadError("truncated", "AV1 sequence header is cut short");
    let v = 0;
    for (let i = 0; i < n; i++, this.bit++)
      v = v * 2 + ((this.b[this.bit >> 3]! >> (7 - (this.bit & 7))) & 1);
    return v;
  }
  /** uvlc() of the spec (4.10.3); only skipped here, so its value is not needed exactly. */
  uvlc(): void {
    let leadingZeros = 0;
    while (this.f(1) === 0) leadingZeros++;
    if (leadingZeros < 32) this.f(leadingZeros);
  }
}

/** sequence_header_obu() (spec 5.5.1) up to max_frame_height_minus_1. */
function readSequenceHeaderPayload(b: Uint8Array, start: number, end: number): Av1MaxFrame {
  const r = new BitReader(b, end, start);
  const seqProfile = r.f(3);
  if (seqProfile > 2) throw new Av1ReadError("corrupt", `AV1 seq_profile ${seqProfile}`);
  r.f(1); // still_picture
  const reducedStillPictureHeader = r.f(1);
  if (reducedStillPictureHeader) {
    r.f(5); // seq_level_idx[0]
  } else {
    let decoderModelInfoPresent = 0;
    let bufferDelayLength = 0;
    if (r.f(1)) {
      // timing_info() (5.5.3)
      r.f(32); // num_units_in_display_tick
      r.f(32); // time_scale
      if (r.f(1)) r.uvlc(); // equal_picture_interval → num_ticks_per_picture_minus_1
      decoderModelInfoPresent = r.f(1);
      if (decoderModelInfoPresent) {
        // decoder_model_info() (5.5.4)
        bufferDelayLength = r.f(5) + 1;
        r.f(32); // num_units_in_decoding_tick
        r.f(5); // buffer_removal_time_length_minus_1
        r.f(5); // frame_presentation_time_length_minus_1
      }
    }
    const initialDisplayDelayPresent = r.f(1);
    const operatingPoints = r.f(5) + 1;
    for (let i = 0; i < operatingPoints; i++) {
      r.f(12); // operating_point_idc[i]
      if (r.f(5) > 7) r.f(1); // seq_level_idx[i] > 7 → seq_tier[i]
      if (decoderModelInfoPresent && r.f(1)) {
        // operating_parameters_info(i) (5.5.5)
        r.f(bufferDelayLength); // decoder_buffer_delay
        r.f(bufferDelayLength); // encoder_buffer_delay
        r.f(1); // low_delay_mode_flag
      }
      if (initialDisplayDelayPresent && r.f(1)) r.f(4); // initial_display_delay_minus_1
    }
  }
  const widthBits = r.f(4) + 1;
  const heightBits = r.f(4) + 1;
  return { ok: true, maxWidth: r.f(widthBits) + 1, maxHeight: r.f(heightBits) + 1 };
}

/** leb128() (spec 4.10.5): at most 8 bytes, a value below 2^32. */
function leb128(b: Uint8Array, at: number, end: number): { value: number; next: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    if (at + i >= end) throw new Av1ReadError("truncated", "AV1 OBU size is cut short");
    const byte = b[at + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if (!(byte & 0x80)) {
      if (value > 0xffffffff) throw new Av1ReadError("corrupt", "AV1 OBU size above 2^32");
      return { value, next: at + i + 1 };
    }
  }
  throw new Av1ReadError("corrupt", "AV1 OBU size longer than 8 bytes");
}

/**
 * The max frame size of every sequence header OBU in a run of OBUs (an `av1C`'s configOBUs or
 * an item's data, "low overhead bitstream format", spec 5.2). An OBU without a size field runs
 * to the end, as libaom reads it. Throws Av1ReadError on a cut or malformed OBU.
 */
function sequenceHeadersIn(b: Uint8Array): Av1MaxFrame[] {
  const found: Av1MaxFrame[] = [];
  let at = 0;
  while (at < b.length) {
    const header = b[at]!;
    if (header & 0x80) throw new Av1ReadError("corrupt", "AV1 OBU forbidden bit set");
    const type = (header >> 3) & 0x0f;
    const extension = (header >> 2) & 1;
    const hasSize = (header >> 1) & 1;
    let payload = at + 1 + extension;
    if (payload > b.length) throw new Av1ReadError("truncated", "AV1 OBU header is cut short");
    let end = b.length;
    if (hasSize) {
      const size = leb128(b, payload, b.length);
      payload = size.next;
      end = payload + size.value;
      if (end > b.length) throw new Av1ReadError("truncated", "AV1 OBU runs past its data");
    }
    if (type === OBU_SEQUENCE_HEADER) found.push(readSequenceHeaderPayload(b, payload, end));
    at = end;
  }
  return found;
}

/**
 * The largest frame any sequence header in these OBU runs allows, and how many there are (a
 * sequence's later samples usually carry none), or "corrupt"/"truncated" for a malformed or
 * cut run.
 */
export function av1LargestFrame(runs: Iterable<Uint8Array>): Av1HeadersResult {
  try {
    let found = 0;
    let maxWidth = 0;
    let maxHeight = 0;
    for (const run of runs) {
      for (const h of sequenceHeadersIn(run)) {
        found++;
        maxWidth = Math.max(maxWidth, h.maxWidth);
        maxHeight = Math.max(maxHeight, h.maxHeight);
      }
    }
    return { ok: true, maxWidth, maxHeight, found };
  } catch (e) {
    if (!(e instanceof Av1ReadError)) throw e;
    return { ok: false, reason: e.reason, detail: e.message };
  }
}

/**
 * The largest frame any sequence header in these OBU runs allows, or why none can be read:
 * "corrupt"/"truncated" for a malformed or cut run, "corrupt" when none holds a sequence header.
 */
export function av1MaxFrame(runs: Uint8Array[]): Av1HeaderResult {
  const largest = av1LargestFrame(runs);
  if (!largest.ok) return largest;
  if (largest.found === 0) return { ok: false, reason: "corrupt", detail: "AV1 data has no sequence header" };
  return { ok: true, maxWidth: largest.maxWidth, maxHeight: largest.maxHeight };
}
