/**
 * The ISO-BMFF box reader shared by the AVIF readers (avif-header.ts for items, avif-tracks.ts
 * for image sequence tracks): big-endian fields read as 0 past the end of the bytes (the caller
 * decides whether a box that runs past the file is a truncated upload), and the errors they
 * raise on bad boxes.
 */

export interface Box {
  type: string;
  /** Payload start and end (end may pass the end of the bytes when truncated). */
  start: number;
  end: number;
}

export class BoxReader {
  readonly b: Uint8Array;
  constructor(b: Uint8Array) {
    this.b = b;
  }
  u8(at: number): number {
    return this.b[at] ?? 0;
  }
  u16(at: number): number {
    return (this.u8(at) << 8) | this.u8(at + 1);
  }
  u32(at: number): number {
    return ((this.u8(at) << 24) | (this.u8(at + 1) << 16) | (this.u8(at + 2) << 8) | this.u8(at + 3)) >>> 0;
  }
  /** An unsigned big-endian field of 0, 4 or 8 bytes (iloc's sizes). */
  uint(at: number, size: number): number {
    if (size === 4) return this.u32(at);
    return size === 8 ? this.u32(at) * 2 ** 32 + this.u32(at + 4) : 0;
  }
  type(at: number): string {
    return String.fromCharCode(this.u8(at), this.u8(at + 1), this.u8(at + 2), this.u8(at + 3));
  }

  /** The boxes between `from` and `to`; stops at a box whose header does not fit. */
  children(from: number, to: number): Box[] {
    const boxes: Box[] = [];
    let at = from;
    while (at + 8 <= to && boxes.length < 1024) {
      let size = this.u32(at);
      let header = 8;
      if (size === 1) {
        if (at + 16 > this.b.length) break;
        const high = this.u32(at + 8);
        size = high * 2 ** 32 + this.u32(at + 12);
        header = 16;
      } else if (size === 0) size = to - at;
      if (size < header) throw new AvifBoxError("corrupt", `box ${this.type(at + 4)} of size ${size}`);
      boxes.push({ type: this.type(at + 4), start: at + header, end: at + size });
      at += size;
    }
    return boxes;
  }
}

export class AvifBoxError extends Error {
  readonly reason: "truncated" | "corrupt" | "unsupported";
  constructor(reason: AvifBoxError["reason"], message: string) {
    super(message);
    this.reason = reason;
  }
}

/** The first box of a type among siblings. */
export function find(boxes: Box[], type: string): Box | undefined {
  return boxes.find((b) => b.type === type);
}
