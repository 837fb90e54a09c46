/**
 * The load generator: sequential POSTs over one kept-alive loopback connection per target,
 * timed from the first byte written to the last byte of the response read.
 */
import { Agent, type IncomingHttpHeaders, request } from "node:http";

export interface Upload {
  body: Buffer;
  contentType: string;
  /** Content-Encoding of the body, if any. */
  contentEncoding?: string;
}

export interface Timed {
  ms: number;
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One keep-alive connection per target, so the gate and the direct path pay the same setup. */
export function newAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1 });
}

export function timedPost(agent: Agent, url: string, upload: Upload): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": upload.contentType,
          "content-length": upload.body.length,
          ...(upload.contentEncoding ? { "content-encoding": upload.contentEncoding } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            ms: performance.now() - started,
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(upload.body);
  });
}
