// Node-side checks of `hashgate hash` (run: npm run test:node). The CLI runs the same WASM
// core as the Worker, compiled from wasm/build/core.wasm; these tests hash the benign PDQ
// fixture images with it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { hashFile, loadHasher, run } from "../../src/cli/hash.ts";
import { FIXTURES_DIR, fixturesPresent } from "./fixtures-dir.ts";

const FIXTURES = join(FIXTURES_DIR, "pdq");
const skip = fixturesPresent() ? false : `PDQ reference fixtures not found at ${FIXTURES_DIR}`;
if (skip && process.env.CI) throw new Error(skip);

function manifest(): Record<string, string>[] {
  const [head, ...rows] = readFileSync(join(FIXTURES, "manifest_ext.tsv"), "utf8").trim().split("\n");
  const cols = head!.split("\t");
  return rows.map((r) => Object.fromEntries(r.split("\t").map((v, i) => [cols[i], v])));
}

function distance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 64; i += 8) {
    let x = (Number.parseInt(a.slice(i, i + 8), 16) ^ Number.parseInt(b.slice(i, i + 8), 16)) >>> 0;
    for (; x; x &= x - 1) d++;
  }
  return d;
}

test("hashes every fixture: exact digests, exact PDQ on PNG, within 4 bits on JPEG of quality >= 50", {
  skip,
}, async () => {
  const hasher = await loadHasher();
  const rows = manifest();
  assert.equal(rows.length, 34);
  for (const r of rows) {
    const h = await hashFile(join(FIXTURES, r.file!), hasher);
    assert.equal(h.sha256, r.sha256, r.file);
    assert.ok(h.pdq, `${r.file}: ${h.pdqError}`);
    if (r.format === "PNG") {
      assert.deepEqual([h.pdq.hash, h.pdq.quality], [r.fullres_hex, Number(r.fullres_quality)], r.file);
    } else if (Number(r.fullres_quality) >= 50) {
      const d = distance(h.pdq.hash, r.fullres_hex!);
      assert.ok(d <= 4, `${r.file}: ${d} bits from the reference`);
    }
  }
});

test("prints reference-style pdq,quality,filename lines", { skip }, async () => {
  const file = join(FIXTURES, "images/misc-images/c.png");
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    assert.equal(await run(["--reference", file]), 0);
  } finally {
    console.log = log;
  }
  const want = manifest().find((r) => r.file === "images/misc-images/c.png")!;
  assert.deepEqual(lines, [`${want.fullres_hex},${want.fullres_quality},${file}`]);
});

test("reports a missing file and rejects unknown options", async () => {
  const err = console.error;
  console.error = () => {};
  try {
    assert.equal(await run(["--bogus", "x"]), 2);
    assert.equal(await run([]), 2);
    const log = console.log;
    console.log = () => {};
    try {
      assert.equal(await run(["/nonexistent/file.png"]), 1);
    } finally {
      console.log = log;
    }
  } finally {
    console.error = err;
  }
});

test("--gate adds the gate's reduced hash next to the full-resolution one", { skip }, async () => {
  const hasher = await loadHasher();
  const file = join(FIXTURES, "images/reg-test-input/exif-rotn/exif-rotn-6.jpg");
  const h = await hashFile(file, hasher, true);
  const want = manifest().find((r) => r.file === "images/reg-test-input/exif-rotn/exif-rotn-6.jpg")!;
  // Full resolution stays the list hash; the gate's is decoded at 1/4 (1008x756) and close to it.
  assert.equal(h.pdq?.hash !== undefined && distance(h.pdq.hash, want.fullres_hex!) <= 4, true);
  assert.ok(h.gate && !("error" in h.gate));
  assert.deepEqual([h.gate.width, h.gate.height], [1008, 756]);
  assert.equal(h.gate.distance, distance(h.gate.pdq.hash, h.pdq!.hash));
  assert.ok(h.gate.distance! <= 8, `gate hash ${h.gate.distance} bits from full resolution`);
  assert.equal((await hashFile(file, hasher)).gate, undefined);
});

test("hashes an AVIF (decoded by hashgate's dav1d build in Node), close to the PNG it was encoded from", {
  skip,
}, async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { decodeImage } = await import("../../src/image/decode.ts");
  const { default: encoderFactory } = await import("@jsquash/avif/codec/enc/avif_enc.js");
  const { defaultOptions } = await import("@jsquash/avif/meta.js");
  const png = join(FIXTURES, "images/reg-test-input/pen-and-coaster.png");
  const rgba = await decodeImage(new Uint8Array(readFileSync(png)), { maxPixels: 1e8, fullResolution: true });
  const wasm = await WebAssembly.compile(
    readFileSync(new URL(import.meta.resolve("@jsquash/avif/codec/enc/avif_enc.wasm"))),
  );
  const factory = encoderFactory as unknown as (o: object) => Promise<{
    encode(d: Uint8Array, w: number, h: number, o: object): Uint8Array | null;
  }>;
  const encoder = await factory({
    noInitialRun: true,
    instantiateWasm(imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) {
      const instance = new WebAssembly.Instance(wasm, imports);
      done(instance);
      return instance.exports;
    },
  });
  const avif = encoder.encode(rgba.pixels, rgba.width, rgba.height, {
    ...defaultOptions,
    quality: 80,
    speed: 10,
  });
  assert.ok(avif);
  const dir = mkdtempSync(join(tmpdir(), "hashgate-avif-"));
  try {
    const file = join(dir, "pen.avif");
    writeFileSync(file, avif);
    const h = await hashFile(file, await loadHasher(), true);
    const want = manifest().find((r) => r.file === "images/reg-test-input/pen-and-coaster.png")!;
    assert.ok(h.pdq, h.pdqError);
    assert.ok(
      distance(h.pdq.hash, want.fullres_hex!) <= 12,
      `${distance(h.pdq.hash, want.fullres_hex!)} bits`,
    );
    assert.ok(h.gate && !("error" in h.gate));
    assert.deepEqual([h.gate.width, h.gate.height], [924, 735]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
