/** Encodings the tests put bodies and files in: compression (as HTTP means it) and base64. */

/** `bytes` compressed with CompressionStream (`deflate` is the zlib format, as HTTP means it). */
export async function compress(
  bytes: Uint8Array,
  format: "gzip" | "deflate" | "deflate-raw",
): Promise<Uint8Array> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Standard base64 with padding, for inputs of any size. */
export function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(s);
}
