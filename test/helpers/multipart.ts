/** Builds multipart/form-data bodies for tests. */
export interface FormPart {
  field: string;
  filename?: string;
  contentType?: string;
  data: Uint8Array | string;
}

export function buildMultipart(parts: FormPart[], boundary = `----hgtest${crypto.randomUUID()}`) {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.field}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += "\r\n";
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    head += "\r\n";
    chunks.push(
      enc.encode(head),
      typeof p.data === "string" ? enc.encode(p.data) : p.data,
      enc.encode("\r\n"),
    );
  }
  chunks.push(enc.encode(`--${boundary}--\r\n`));
  const size = chunks.reduce((n, c) => n + c.length, 0);
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.length;
  }
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Splits bytes into a stream of chunks of the given sizes (cycled). */
export function chunkedStream(bytes: Uint8Array, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(ctrl) {
      if (at >= bytes.length) {
        ctrl.close();
        return;
      }
      const n = Math.max(1, sizes[i++ % sizes.length]!);
      ctrl.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}
