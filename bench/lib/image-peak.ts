/**
 * Child process of bench/image-memory.ts: decodes one image and PDQ-hashes it exactly as the
 * gate does (withDecodedImage with the PDQ core), after warming both up on a small image
 * of the same format, and prints the rise of this process's peak RSS as JSON. The peak is
 * /proc/self/status VmHWM (this process's own high-water mark): getrusage's maxRSS carries the
 * parent's over fork and exec on Linux, which would hide the image behind the generator's peak.
 *
 *   node --expose-gc bench/lib/image-peak.ts <image> <warm-up image>
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { withDecodedImage } from "../../src/image/decode.ts";
import { PdqHasher } from "../../src/pdq/core.ts";

const [file, warmFile] = process.argv.slice(2);
if (!file || !warmFile) throw new Error("usage: image-peak.ts <image> <warm-up image>");
const wasm = await WebAssembly.compile(readFileSync(join(import.meta.dirname, "../../wasm/build/core.wasm")));
const hasher = PdqHasher.fromModule(wasm);

function hashFile(path: string) {
  return withDecodedImage(new Uint8Array(readFileSync(path)), { maxPixels: 2 ** 28 }, (image) => ({
    pixels: image.width * image.height,
    quality: hasher.hash(image).quality,
  }));
}

/** This process's peak resident memory so far, in bytes. */
function peakRss(): number {
  if (!existsSync("/proc/self/status")) return process.resourceUsage().maxRSS * 1024;
  const kb = /VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return Number(kb) * 1024;
}

await hashFile(warmFile); // instantiates the decoder and the core: one-off costs, not per image
(globalThis as { gc?: () => void }).gc?.();
const before = peakRss();
const bytes = readFileSync(file).length;
const { pixels } = await hashFile(file);
const peak = peakRss() - before;
console.log(JSON.stringify({ pixels, bytes, peak }));
