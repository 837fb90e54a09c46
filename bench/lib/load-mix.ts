/**
 * The load test's upload mix: clean uploads of random bytes (benign TEST DATA, fresh bytes per
 * request so nothing can answer from a cache) and a few fixed "listed" payloads whose digests
 * are seeded into the benchmark list. Sizes run from 1 KiB to 50 MiB; big ones are rare so a
 * stage's bytes stay bounded on a 2-core machine.
 */
import { randomBytes } from "node:crypto";
import { KiB, MiB } from "./stats.ts";

export interface LoadUpload {
  kind: "clean" | "listed";
  size: number;
  /** Raw body or multipart form. */
  form: boolean;
  body: Buffer;
  contentType: string;
  path: string;
}

/** Sizes and their weights in the mix (the 50 MiB upload is about 1 in 500). */
const SIZES: [number, number][] = [
  [KiB, 40],
  [16 * KiB, 25],
  [128 * KiB, 15],
  [MiB, 12],
  [6 * MiB, 5], // above HOLD_MEMORY_BYTES (5 MiB): held through the R2 spool
  [20 * MiB, 1.8],
  [50 * MiB, 0.2],
];
/** Fraction of uploads that are listed. */
const LISTED_SHARE = 0.2;
/** Listed payload sizes: small, medium, and one that is spooled to R2. */
const LISTED_SIZES = [KiB, 128 * KiB, MiB, 6 * MiB];

function multipart(file: Buffer, boundary: string): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nload test (test data)\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="load.bin"\r\n` +
        "Content-Type: application/octet-stream\r\n\r\n",
    ),
    file,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

/** A small deterministic PRNG, so a run's mix can be repeated (`--seed`). */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function pickSize(rand: () => number, maxSize: number): number {
  const allowed = SIZES.filter(([s]) => s <= maxSize);
  const total = allowed.reduce((n, [, w]) => n + w, 0);
  let r = rand() * total;
  for (const [s, w] of allowed) {
    r -= w;
    if (r < 0) return s;
  }
  return allowed[0]![0];
}

export class UploadMix {
  /** The listed files' bytes (seed their digests into the list). */
  readonly listedFiles = LISTED_SIZES.map((s) => randomBytes(s));
  private readonly rand: () => number;
  private n = 0;

  private readonly listedShare: number;

  /** `listedShare`: fraction of listed uploads (0 for a clean-only run, to isolate memory). */
  constructor(seed: number, listedShare = LISTED_SHARE) {
    this.rand = prng(seed);
    this.listedShare = listedShare;
  }

  /** The next upload; `maxSize` caps clean sizes; `cleanSize` forces a clean upload of that size. */
  next(maxSize: number, cleanSize?: number): LoadUpload {
    const id = this.n++;
    const form = this.rand() < 0.5;
    const boundary = `----hg-load-${id}-${randomBytes(6).toString("hex")}`;
    const ct = form ? `multipart/form-data; boundary=${boundary}` : "application/octet-stream";
    if (cleanSize === undefined && this.rand() < this.listedShare) {
      const file = this.listedFiles[Math.floor(this.rand() * this.listedFiles.length)]!;
      const body = form ? multipart(file, boundary) : file;
      return { kind: "listed", size: file.length, form, body, contentType: ct, path: `/load/listed/${id}` };
    }
    const file = randomBytes(cleanSize ?? pickSize(this.rand, maxSize));
    const body = form ? multipart(file, boundary) : file;
    return { kind: "clean", size: file.length, form, body, contentType: ct, path: `/load/clean/${id}` };
  }
}
