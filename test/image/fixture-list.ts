import { fixtureText } from "../helpers/fixtures.ts";

export interface FixtureImage {
  file: string;
  format: string;
  width: number;
  height: number;
  fullresHex: string;
  fullresQuality: number;
}

/** The fixture images of ../shared/fixtures/pdq (benign test data) with their manifest facts. */
export async function fixtureImages(): Promise<FixtureImage[]> {
  const [head, ...rows] = (await fixtureText("pdq/manifest_ext.tsv")).trim().split("\n");
  const cols = head!.split("\t");
  const at = (name: string) => cols.indexOf(name);
  return rows.map((row) => {
    const f = row.split("\t");
    return {
      file: `pdq/${f[at("file")]}`,
      format: f[at("format")]!,
      width: Number(f[at("width")]),
      height: Number(f[at("height")]),
      fullresHex: f[at("fullres_hex")]!,
      fullresQuality: Number(f[at("fullres_quality")]),
    };
  });
}

/** Offset of the first SOFn marker (its 0xFF byte). */
export function sofOffset(bytes: Uint8Array): number {
  let i = 2;
  while (i < bytes.length) {
    const m = bytes[i + 1]!;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return i;
    i += 2 + ((bytes[i + 2]! << 8) | bytes[i + 3]!);
  }
  throw new Error("no SOF");
}
