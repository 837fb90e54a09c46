/**
 * `hashgate hash [--json | --reference] [--gate] FILE...`: MD5, SHA-1, SHA-256 and PDQ (+ quality)
 * of each file, PDQ computed by the same WASM core the Worker uses (compiled here from the file).
 * PDQ is taken at full resolution, as providers distribute it and as lists are prepared.
 * `--gate` also shows the hash the gate computes (JPEG luma decoded reduced, shorter side kept
 * >= 512) and its distance to the full-resolution one.
 * Text output ends with the reference hasher's `pdq,quality,filename` lines; `--reference`
 * prints only those. Files that are not decodable images get digests and no PDQ.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { decodeImage } from "../image/decode.ts";
import { ImageDecodeError } from "../image/types.ts";
import { PdqHasher, type PdqResult } from "../pdq/core.ts";

const CORE_WASM = new URL("../../wasm/build/core.wasm", import.meta.url);
/** Full-resolution decodes build the whole image in memory: larger images are refused from their header. */
const MAX_PIXELS = 50_000_000;
/** The gate's own limit (IMAGE_MAX_PIXELS default): its decode is reduced. */
const GATE_MAX_PIXELS = 250_000_000;

export interface FileHashes {
  file: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  pdq: PdqResult | null;
  /** Why there is no PDQ (not an image, undecodable, too large). */
  pdqError?: string;
  /** With --gate: the gate's hash, its decoded size and its distance to `pdq`. */
  gate?: { pdq: PdqResult; width: number; height: number; distance: number | null } | { error: string };
}

/** Compiles the PDQ core from wasm/build (built by `npm run build:wasm`, run on install). */
export async function loadHasher(): Promise<PdqHasher> {
  let bytes: Buffer;
  try {
    bytes = await readFile(CORE_WASM);
  } catch {
    throw new Error(`PDQ core not built (${CORE_WASM.pathname}); run: npm run build:wasm`);
  }
  return PdqHasher.fromModule(new WebAssembly.Module(new Uint8Array(bytes)));
}

export async function hashFile(file: string, hasher: PdqHasher, gate = false): Promise<FileHashes> {
  const bytes = new Uint8Array(await readFile(file));
  const digest = (algo: string) => createHash(algo).update(bytes).digest("hex");
  const out: FileHashes = {
    file,
    size: bytes.length,
    md5: digest("md5"),
    sha1: digest("sha1"),
    sha256: digest("sha256"),
    pdq: null,
  };
  try {
    // Lists are prepared from full-resolution hashes (providers distribute those).
    out.pdq = hasher.hash(await decodeImage(bytes, { maxPixels: MAX_PIXELS, fullResolution: true }));
  } catch (e) {
    if (!(e instanceof ImageDecodeError)) throw e;
    out.pdqError = `${e.code}: ${e.message}`;
  }
  if (gate) out.gate = await gateHash(bytes, hasher, out.pdq);
  return out;
}

/** The hash as the gate computes it (src/gate/judge.ts: decodeImage's default, reduced path). */
async function gateHash(
  bytes: Uint8Array,
  hasher: PdqHasher,
  full: PdqResult | null,
): Promise<FileHashes["gate"]> {
  try {
    const image = await decodeImage(bytes, { maxPixels: GATE_MAX_PIXELS });
    const pdq = hasher.hash(image);
    const distance = full ? hamming(full.hash, pdq.hash) : null;
    return { pdq, width: image.width, height: image.height, distance };
  } catch (e) {
    if (!(e instanceof ImageDecodeError)) throw e;
    return { error: `${e.code}: ${e.message}` };
  }
}

function hamming(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = (Number.parseInt(a.slice(i, i + 8), 16) ^ Number.parseInt(b.slice(i, i + 8), 16)) >>> 0;
    for (; x; x &= x - 1) d++;
  }
  return d;
}

function textBlock(h: FileHashes): string {
  const pdq = h.pdq ? `${h.pdq.hash} (quality ${h.pdq.quality})` : `- (${h.pdqError})`;
  const lines = [
    h.file,
    `  md5     ${h.md5}`,
    `  sha1    ${h.sha1}`,
    `  sha256  ${h.sha256}`,
    `  pdq     ${pdq}`,
  ];
  if (h.gate) {
    const g = h.gate;
    lines.push(
      "error" in g
        ? `  gate    - (${g.error})`
        : `  gate    ${g.pdq.hash} (quality ${g.pdq.quality}, decoded ${g.width}x${g.height}${g.distance === null ? "" : `, ${g.distance} bits from pdq`})`,
    );
  }
  return lines.join("\n");
}

const USAGE = "usage: hashgate hash [--json | --reference] [--gate] FILE...";

export async function run(args: string[]): Promise<number> {
  const flags = new Set(args.filter((a) => a.startsWith("--")));
  const files = args.filter((a) => !a.startsWith("--"));
  const unknown = [...flags].filter((f) => f !== "--json" && f !== "--reference" && f !== "--gate");
  if (unknown.length > 0 || files.length === 0 || (flags.has("--json") && flags.has("--reference"))) {
    console.error(unknown.length > 0 ? `unknown option ${unknown[0]}\n${USAGE}` : USAGE);
    return 2;
  }
  const hasher = await loadHasher();
  const results: FileHashes[] = [];
  let failed = false;
  for (const file of files) {
    try {
      results.push(await hashFile(file, hasher, flags.has("--gate")));
    } catch (e) {
      failed = true;
      console.error(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (flags.has("--json")) {
    console.log(JSON.stringify(results, null, 2));
  } else {
    const reference = results.filter((r) => r.pdq).map((r) => `${r.pdq!.hash},${r.pdq!.quality},${r.file}`);
    if (!flags.has("--reference")) {
      console.log(results.map(textBlock).join("\n\n"));
      if (reference.length > 0) console.log("");
    }
    if (reference.length > 0) console.log(reference.join("\n"));
  }
  return failed ? 1 : 0;
}
