/**
 * Decodes a text value that may carry a file: a `data:` URL, or base64 (standard or URL-safe,
 * with or without padding, broken by whitespace). Streaming, so a value of any size costs
 * a few bytes of state. Written here rather than taken from a library because the gate must
 * decode the way lenient origins do, not the way a strict decoder refuses:
 *
 * - Every byte outside both base64 alphabets is skipped, as Node's `Buffer.from(s, "base64")`,
 *   Python's `b64decode` (without `validate=True`) and PHP's `base64_decode` do.
 * - Padding is where they differ. Node stops at the first `=` ("stop"); Python stops at a `=`
 *   that completes a quantum and skips any other ("complete"); PHP skips every `=` ("skip").
 *   The scan decodes "stop"; a value with base64 data after a `=` is decoded the other two
 *   ways as well (ambiguousPadding).
 * - A `data:` URL is split at its first comma; with `;base64` its data is percent-decoded, then
 *   base64-decoded (WHATWG fetch), otherwise percent-decoded. A `%` in base64 data makes an
 *   origin that skips the percent-decoding read it differently (percentInBase64).
 */

import { concatBytes } from "../bytes.ts";
export type Padding = "stop" | "complete" | "skip";

/** How one value is decoded into a file. */
export interface Recipe {
  padding: Padding;
  /** Percent-decode the data of a base64 `data:` URL before base64 (the WHATWG way). */
  percentFirst: boolean;
}

export const PRIMARY_RECIPE: Recipe = { padding: "stop", percentFirst: true };

const EQ = 61;
const PERCENT = 37;
/** Value of each byte in base64 (both alphabets), or -1. */
const B64 = new Int8Array(256).fill(-1);
for (const [i, c] of [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"].entries()) {
  B64[c.charCodeAt(0)] = i;
}
B64[43] = 62; // +
B64[47] = 63; // /
B64[45] = 62; // -
B64[95] = 63; // _

/** Streaming lenient base64 decoder. */
export class Base64Decoder {
  private acc = 0;
  private quad = 0;
  private pads = 0;
  private stopped = false;
  private sawPad = false;
  /** Base64 data came after a `=`: decoders that treat padding differently read other bytes. */
  ambiguousPadding = false;

  private readonly padding: Padding;

  constructor(padding: Padding) {
    this.padding = padding;
  }

  push(bytes: Uint8Array): Uint8Array {
    const out = new Uint8Array(Math.ceil((bytes.length * 3) / 4) + 3);
    let o = 0;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (c === EQ) {
        this.sawPad = true;
        if (this.stopped || this.padding === "skip") continue;
        if (this.padding === "stop" || (this.quad >= 2 && this.quad + ++this.pads >= 4)) {
          o = this.flushPartial(out, o);
          this.stopped = true;
        }
        continue;
      }
      const v = B64[c]!;
      if (v < 0) continue;
      if (this.sawPad) this.ambiguousPadding = true;
      if (this.stopped) continue;
      this.pads = 0;
      this.acc = (this.acc << 6) | v;
      if (++this.quad === 4) {
        out[o++] = (this.acc >> 16) & 255;
        out[o++] = (this.acc >> 8) & 255;
        out[o++] = this.acc & 255;
        this.acc = 0;
        this.quad = 0;
      }
    }
    return out.subarray(0, o);
  }

  finish(): Uint8Array {
    const out = new Uint8Array(2);
    return out.subarray(0, this.stopped ? 0 : this.flushPartial(out, 0));
  }

  /** Bytes of an unfinished quantum (2 or 3 characters; a lone character carries none). */
  private flushPartial(out: Uint8Array, o: number): number {
    if (this.quad === 2) out[o++] = (this.acc >> 4) & 255;
    else if (this.quad === 3) {
      out[o++] = (this.acc >> 10) & 255;
      out[o++] = (this.acc >> 2) & 255;
    }
    this.acc = 0;
    this.quad = 0;
    return o;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/**
 * Streaming percent-decoder: `%XX` becomes the byte, anything else (a `%` not followed by two
 * hex digits too) stays as it is. With `plusIsSpace`, `+` is a space (form encoding).
 */
export class PercentDecoder {
  private carry: number[] = [];
  sawPercent = false;
  private readonly plusIsSpace: boolean;

  constructor(plusIsSpace: boolean) {
    this.plusIsSpace = plusIsSpace;
  }

  push(bytes: Uint8Array): Uint8Array {
    const input = this.carry.length > 0 ? Uint8Array.from([...this.carry, ...bytes]) : bytes;
    this.carry = [];
    const out = new Uint8Array(input.length);
    let o = 0;
    for (let i = 0; i < input.length; i++) {
      const c = input[i]!;
      if (c === PERCENT) {
        this.sawPercent = true;
        if (i + 2 >= input.length) {
          this.carry = [...input.subarray(i)];
          break;
        }
        const hi = hexValue(input[i + 1]!);
        const lo = hexValue(input[i + 2]!);
        if (hi >= 0 && lo >= 0) {
          out[o++] = (hi << 4) | lo;
          i += 2;
          continue;
        }
      }
      out[o++] = this.plusIsSpace && c === 43 ? 32 : c;
    }
    return out.subarray(0, o);
  }

  finish(): Uint8Array {
    const rest = Uint8Array.from(this.carry);
    this.carry = [];
    return rest;
  }
}

/** Longest `data:` URL header (media type and parameters) read before giving up on it. */
const MAX_DATA_URL_HEADER = 1024;
const DATA = [100, 97, 116, 97, 58]; // "data:"

function isAsciiSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 12 || c === 13;
}

/**
 * Decodes one text value into the bytes it carries: a `data:` URL's data, or else the value
 * read as base64. Push the value's characters (as UTF-8 bytes), then finish.
 */
export class TextValueDecoder {
  private mode: "sniff" | "header" | "base64" | "percent" = "sniff";
  private head: number[] = [];
  private readonly b64: Base64Decoder;
  private percent: PercentDecoder | null = null;
  /** The `data:` URL's media type (lower case), when the value is one. */
  mediaType: string | null = null;

  private readonly recipe: Recipe;

  constructor(recipe: Recipe) {
    this.recipe = recipe;
    this.b64 = new Base64Decoder(recipe.padding);
  }

  /** Data after a `=`, or a `%` in base64 data: other decoders read other bytes (see the header). */
  get ambiguity(): { padding: boolean; percent: boolean } {
    return {
      padding: this.b64.ambiguousPadding,
      percent: this.mode === "base64" && this.mediaType !== null && (this.percent?.sawPercent ?? false),
    };
  }

  push(bytes: Uint8Array): Uint8Array {
    if (this.mode === "base64") return this.b64.push(this.percent ? this.percent.push(bytes) : bytes);
    if (this.mode === "percent") return this.percent!.push(bytes);
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      if (this.mode === "sniff") {
        if (this.head.length === 0 && isAsciiSpace(c)) continue;
        this.head.push(c);
        if ((c | 0x20) !== DATA[this.head.length - 1] && c !== DATA[this.head.length - 1]) {
          return this.decideBase64(bytes.subarray(i + 1));
        }
        if (this.head.length === DATA.length) this.mode = "header";
        continue;
      }
      // header: up to the first comma
      if (c === 44) {
        this.startData();
        return this.push(bytes.subarray(i + 1));
      }
      this.head.push(c);
      if (this.head.length > MAX_DATA_URL_HEADER) return this.decideBase64(bytes.subarray(i + 1));
    }
    return new Uint8Array(0);
  }

  finish(): Uint8Array {
    if (this.mode === "sniff" || this.mode === "header")
      return concatBytes([this.decideBase64(new Uint8Array(0)), this.b64.finish()]);
    if (this.mode === "percent") return this.percent!.finish();
    const tail = this.percent ? this.b64.push(this.percent.finish()) : new Uint8Array(0);
    return concatBytes([tail, this.b64.finish()]);
  }

  /** Not a data URL: everything read so far, and the rest, is base64. */
  private decideBase64(rest: Uint8Array): Uint8Array {
    this.mode = "base64";
    const head = Uint8Array.from(this.head);
    this.head = [];
    return concatBytes([this.b64.push(head), this.b64.push(rest)]);
  }

  private startData(): void {
    const header = String.fromCharCode(...this.head.slice(DATA.length)).trim();
    this.head = [];
    const base64 = /;\s*base64\s*$/i.test(header);
    this.mediaType = (base64 ? header.replace(/;\s*base64\s*$/i, "") : header).slice(0, 200).toLowerCase();
    if (base64) {
      this.mode = "base64";
      this.percent = this.recipe.percentFirst ? new PercentDecoder(false) : null;
    } else {
      this.mode = "percent";
      this.percent = new PercentDecoder(false);
    }
  }
}
