import { describe, expect, it } from "vitest";
import { decodePng } from "../../src/image/png.ts";
import { coreModule, pdqHasher } from "../../src/pdq/worker.ts";
import { fixtureBytes, fixtureText } from "../helpers/fixtures.ts";
import { debugCoreModule, stagesHasher } from "../helpers/pdq-debug.ts";

/** Float32 values as 8-digit hex bit patterns, the form the intermediates use. */
function bits(values: Float32Array): string[] {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  return Array.from(u, (v) => v.toString(16).padStart(8, "0"));
}

interface Intermediates {
  hashed_wxh: [number, number];
  jarosz_window_along_rows: number;
  jarosz_window_along_cols: number;
  quality: number;
  hash: string;
  dct_median_f32hex: string;
  buffer64x64_f32hex: string[][];
  dct16x16_f32hex: string[][];
}

const CASES = [
  ["bridge-1-original.fullres", "reg-test-input__dih__bridge-1-original"],
  ["q0122", "reg-test-input__labelme-subset__q0122"],
  ["wee", "misc-images__wee"],
] as const;

describe("PDQ stages against the reference dumps (benign fixtures)", () => {
  it("uses exactly the reference's float32 DCT matrix", async () => {
    const rows = (await fixtureText("pdq/dct_matrix_16x64_f32.tsv"))
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split("\t"));
    expect(rows.length).toBe(16);
    expect(bits(stagesHasher().dctMatrix())).toEqual(rows.flat());
  });

  for (const [dump, pixels] of CASES) {
    it(`matches ${dump} stage by stage: windows, 64x64 buffer, DCT, median, quality, hash`, async () => {
      const want = JSON.parse(await fixtureText(`pdq/intermediates/${dump}.json`)) as Intermediates;
      const img = await decodePng(await fixtureBytes(`pdq/pixels/${pixels}.decoded.png`), { maxPixels: 1e8 });
      expect([img.width, img.height]).toEqual(want.hashed_wxh);
      const hasher = stagesHasher();
      const res = hasher.hash(img);
      const st = hasher.stages();
      expect([st.windowAlongRows, st.windowAlongCols]).toEqual([
        want.jarosz_window_along_rows,
        want.jarosz_window_along_cols,
      ]);
      expect(bits(st.buffer64)).toEqual(want.buffer64x64_f32hex.flat());
      expect(bits(st.dct16)).toEqual(want.dct16x16_f32hex.flat());
      expect(bits(new Float32Array([st.median]))).toEqual([want.dct_median_f32hex]);
      expect([res.quality, res.hash]).toEqual([want.quality, want.hash]);
      // The stages are read from the debug build; the deployed core must hash the same.
      expect(pdqHasher().hash(img)).toEqual(res);
    });
  }
});

describe("the deployed core keeps its stage accessors out", () => {
  const names = (mod: WebAssembly.Module) => WebAssembly.Module.exports(mod).map((e) => e.name);

  it("exports no debug* function from wasm/build/core.wasm, which the debug build has", () => {
    expect(names(coreModule).filter((n) => n.startsWith("debug"))).toEqual([]);
    expect(names(debugCoreModule)).toEqual(expect.arrayContaining(["debugBufferPtr", "debugDctMatrixPtr"]));
    // Apart from the accessors, both builds have the same ABI.
    expect(
      names(debugCoreModule)
        .filter((n) => !n.startsWith("debug"))
        .sort(),
    ).toEqual(names(coreModule).sort());
  });

  it("refuses stages on the deployed core with a clear error", () => {
    expect(() => pdqHasher().stages()).toThrow(/debug core/);
  });
});
