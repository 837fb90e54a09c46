/**
 * Child process of bench/image-memory.ts: decodes one image and PDQ-hashes it exactly as the
 * gate does (withDecodedImage with the PDQ core), after warming both up on a small image
 * of the same format, and prints the rise of this process's peak RSS as JSON. The peak is
 * /proc/self/status VmHWM (this process's own high-water mark): getrusage's maxRSS carries the
 * parent's over fork and exec on Linux, which would hide the image behind the generator's peak.
 *
 *   node --expose-gc bench/lib/image-peak.ts <image> <warm-up image>
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { withDecodedImage } from "../../src/image/decode.ts";
import { coreHasher } from "../../src/image/jpeg-scaled.ts";

const [file, warmFile] = process.argv.slice(2);
if (!file || !warmFile) throw new Error("usage: image-peak.ts <image> <warm-up image>");
// The core instance the JPEG decoder uses, as in the Worker (decode and hash share its memory).
const hasher = await coreHasher();

/** What the decode reserved from the isolate's budget (src/image/decode.ts), for comparison with its peak. */
let reserved = 0;

function hashFile(bytes: Uint8Array) {
  reserved = 0;
  const reserve = (n: number) => {
    reserved += n;
  };
  return withDecodedImage(bytes, { maxPixels: 2 ** 28, reserve }, (image) => ({
    pixels: image.width * image.height,
    quality: hasher.hash(image).quality,
  }));
}

/** This process's peak resident memory so far (VmHWM), or its current one (VmRSS), in bytes. */
function rss(field: "VmHWM" | "VmRSS" = "VmHWM"): number {
  if (!existsSync("/proc/self/status")) return process.resourceUsage().maxRSS * 1024;
  const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  return Number(kb) * 1024;
}

/**
 * Resets the high-water mark to the current RSS (Linux: clear_refs 5), so that an earlier
 * transient peak (reading the file, compiling) cannot hide the decode's. Returns the RSS.
 */
function resetPeak(): number {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return rss("VmRSS");
  } catch {
    return rss();
  }
}

await hashFile(new Uint8Array(readFileSync(warmFile))); // instantiates the decoders and the core: one-off costs
// The file's bytes are the upload the gate already holds (counted by the hold budget), not the decode's.
const upload = new Uint8Array(readFileSync(file));
(globalThis as { gc?: () => void }).gc?.();
const before = resetPeak();
const bytes = upload.length;
const { pixels } = await hashFile(upload);
const peak = rss() - before;
console.log(JSON.stringify({ pixels, bytes, peak, reserved }));
