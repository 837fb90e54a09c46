/**
 * The part of node:zlib the inflater test uses (workerd provides it under nodejs_compat; the
 * workerd test tsconfig has no Node types). Test data only: streams of every deflate block kind.
 */
declare module "node:zlib" {
  interface ZlibOptions {
    level?: number;
    memLevel?: number;
    strategy?: number;
    windowBits?: number;
    dictionary?: Uint8Array;
  }
  export const constants: { Z_FIXED: number; Z_HUFFMAN_ONLY: number; Z_RLE: number };
  export function deflateSync(data: Uint8Array, options?: ZlibOptions): Uint8Array;
  export function inflateSync(data: Uint8Array): Uint8Array;
}
