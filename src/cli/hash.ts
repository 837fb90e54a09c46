/**
 * `hashgate hash [--json | --reference] FILE...`: MD5, SHA-1, SHA-256 and PDQ (+ quality) of
 * each file, PDQ computed by the same WASM core the Worker uses (compiled here from the file).
 * Text output ends with the reference hasher's `pdq,quality,filename` lines; `--reference`
 * prints only those. Files that are not decodable images get digests and no PDQ.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { decodeImage } from "../image/decode.ts";
import { ImageDecodeError } from "../image/types.ts";
import { PdqHasher, type PdqResult } from "../pdq/core.ts";

const CORE_WASM = new URL("../../wasm/build/core.wasm", import.meta.url);
/** Same default as the gate: larger images are refused from their header. */
const MAX_PIXELS = 50_000_000;

export interface FileHashes {
  file: string;
  size: number;
  md5: string;
  sha1: string;
  sha256: string;
  pdq: PdqResult | null;
  /** Why there is no PDQ (not an image, undecodable, too large). */
  pdqError?: string;
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

export async function hashFile(file: string, hasher: PdqHasher): Promise<FileHashes> {
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
    out.pdq = hasher.hash(await decodeImage(bytes, { maxPixels: MAX_PIXELS, fullResolution: true }));
  } catch (e) {
    if (!(e instanceof ImageDecodeError)) throw e;
    out.pdqError = `${e.code}: ${e.message}`;
  }
  return out;
}

function textBlock(h: FileHashes): string {
  const pdq = h.pdq ? `${h.pdq.hash} (quality ${h.pdq.quality})` : `- (${h.pdqError})`;
  return [
    h.file,
    `  md5     ${h.md5}`,
    `  sha1    ${h.sha1}`,
    `  sha256  ${h.sha256}`,
    `  pdq     ${pdq}`,
  ].join("\n");
}

const USAGE = "usage: hashgate hash [--json | --reference] FILE...";

export async function run(args: string[]): Promise<number> {
  const flags = new Set(args.filter((a) => a.startsWith("--")));
  const files = args.filter((a) => !a.startsWith("--"));
  const unknown = [...flags].filter((f) => f !== "--json" && f !== "--reference");
  if (unknown.length > 0 || files.length === 0 || (flags.has("--json") && flags.has("--reference"))) {
    console.error(unknown.length > 0 ? `unknown option ${unknown[0]}\n${USAGE}` : USAGE);
    return 2;
  }
  const hasher = await loadHasher();
  const results: FileHashes[] = [];
  let failed = false;
  for (const file of files) {
    try {
      results.push(await hashFile(file, hasher));
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
