/** Decoded pixels handed to the PDQ hasher. Interleaved, 8 bits per channel, no padding. */
export interface DecodedImage {
  width: number;
  height: number;
  /** 1 = grey, 3 = RGB, 4 = RGBA (alpha is ignored by PDQ, not composited). */
  channels: 1 | 3 | 4;
  pixels: Uint8Array;
}

/** Image formats the gate recognises by their magic bytes. */
export type ImageFormat = "jpeg" | "png" | "gif" | "webp" | "bmp" | "tiff" | "avif";

/** Limits applied before and during decoding. */
export interface DecodeLimits {
  /** Largest width × height decoded; larger images are refused from their header (decompression bombs). */
  maxPixels: number;
  /**
   * Decode at the source's full size instead of the PDQ working size: `hashgate hash` prepares
   * lists from full-resolution hashes, and tests compare. Otherwise PNG, GIF, BMP and TIFF are
   * area-averaged while decoding (downscale.ts) and JPEGs are decoded as luma only, reduced by a
   * DCT scale while the shorter side stays >= 512 (jpeg-scaled.ts).
   */
  fullResolution?: boolean;
  /** Told the bytes of memory a decode will take before it takes them (the isolate's budget); may throw to refuse. */
  reserve?: (bytes: number) => void;
}

/** Why an image could not be decoded. `code` is stable; `message` is for logs. */
export class ImageDecodeError extends Error {
  readonly code: "unsupported" | "truncated" | "corrupt" | "too-large";
  constructor(code: ImageDecodeError["code"], message: string) {
    super(message);
    this.name = "ImageDecodeError";
    this.code = code;
  }
}
