/**
 * `npm run bench -- multipart`: the streaming multipart parser (src/scan/multipart.ts) in Node
 * on 32 MiB file parts of three kinds — random bytes, and the hostile cases of a body made of
 * dashes and line ends (every "-" and CR could begin a boundary) and of CRLF-dense text —
 * in 64 KiB and 4 KiB chunks. Baseline, measured in the same run: SHA-256 of the same chunks
 * (node:crypto), the digest the gate computes over every byte anyway. Median of 5.
 */
import { createHash, randomBytes } from "node:crypto";
import { MultipartParser } from "../src/scan/multipart.ts";

const BOUNDARY = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
const SIZE = 32 << 20;
const enc = new TextEncoder();

function form(fill: Uint8Array): Uint8Array {
  const head = enc.encode(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n`,
  );
  const tail = enc.encode(`\r\n--${BOUNDARY}--\r\n`);
  const out = new Uint8Array(head.length + fill.length + tail.length);
  out.set(head);
  out.set(fill, head.length);
  out.set(tail, head.length + fill.length);
  return out;
}

const BODIES: Record<string, Uint8Array> = {
  random: form(randomBytes(SIZE)),
  "dashes and line ends": form(Buffer.alloc(SIZE, "--\r\n-\n\r-")),
  "CRLF-dense text": form(Buffer.alloc(SIZE, "ab\r\n")),
};

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function parse(body: Uint8Array, chunk: number): void {
  const parser = new MultipartParser(BOUNDARY, { maxHeaderBytes: 16384, maxParts: 1000 });
  for (let at = 0; at < body.length; at += chunk) parser.push(body.subarray(at, at + chunk));
  parser.finish();
}

function sha256(body: Uint8Array, chunk: number): void {
  const h = createHash("sha256");
  for (let at = 0; at < body.length; at += chunk) h.update(body.subarray(at, at + chunk));
  h.digest();
}

const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;

console.log("\nmultipart parser, 32 MiB part (median of 5; ratio = parser / SHA-256 of the same bytes)\n");
console.log("| body | chunks | parser ms | MiB/s | SHA-256 ms | ratio |\n|---|---|---|---|---|---|");
for (const [name, body] of Object.entries(BODIES)) {
  for (const chunk of [65536, 4096]) {
    const p: number[] = [];
    const f: number[] = [];
    for (let r = 0; r < 5; r++) {
      f.push(timed(() => sha256(body, chunk)));
      p.push(timed(() => parse(body, chunk)));
    }
    const [pm, fm] = [median(p), median(f)];
    console.log(
      `| ${name} | ${chunk / 1024} KiB | ${pm.toFixed(0)} | ${(32 / (pm / 1000)).toFixed(0)} | ${fm.toFixed(1)} | ${(pm / fm).toFixed(1)} |`,
    );
  }
}
