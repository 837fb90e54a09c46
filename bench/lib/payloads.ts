/**
 * Upload bodies for the gate benchmark: random bytes (benign test data), raw or as a
 * multipart/form-data form with one text field and one file part. Each body can be made
 * unique before a request (`stamp`), so every upload has fresh digests as in production and
 * no layer can answer from a cache.
 */
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { Upload } from "./http-client.ts";

export interface Payload extends Upload {
  /** Bytes of file content (the whole body for raw uploads). */
  fileBytes: number;
  /** Offset of the file content in the body, where `stamp` writes. */
  fileOffset: number;
}

export function rawPayload(size: number): Payload {
  return { body: randomBytes(size), contentType: "application/octet-stream", fileBytes: size, fileOffset: 0 };
}

export function multipartPayload(size: number): Payload {
  const boundary = `----hashgate-bench-${randomBytes(8).toString("hex")}`;
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nbenchmark upload (test data)\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\n` +
      "Content-Type: application/octet-stream\r\n\r\n",
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    body: Buffer.concat([head, randomBytes(size), tail]),
    contentType: `multipart/form-data; boundary=${boundary}`,
    fileBytes: size,
    fileOffset: head.length,
  };
}

/**
 * `size` random bytes gzip'd (they do not compress: the gate decodes about as many bytes as it
 * receives). Not stamped: a stamp would break the gzip checksum.
 */
export function gzipPayload(size: number): Payload {
  return {
    body: gzipSync(randomBytes(size)),
    contentType: "application/octet-stream",
    contentEncoding: "gzip",
    fileBytes: 0,
    fileOffset: 0,
  };
}

/** A JSON body of about `size` bytes whose one field is a `data:` URL: the gate decodes it as a file. */
export function jsonDataUrlPayload(size: number): Payload {
  const b64 = randomBytes(Math.floor((size * 3) / 4)).toString("base64");
  const body = Buffer.from(
    JSON.stringify({ title: "benchmark upload (test data)", photo: `data:image/png;base64,${b64}` }),
  );
  return { body, contentType: "application/json", fileBytes: 0, fileOffset: 0 };
}

/** Writes a counter into the file content so this upload's digests differ from every other. */
export function stamp(p: Payload, counter: number): void {
  if (p.fileBytes >= 8) p.body.writeBigUInt64LE(BigInt(counter), p.fileOffset);
}
