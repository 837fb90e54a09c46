// Test helper: reads the PDQ fixture tables (benign test images and their reference hashes).
import { fixtureText } from "../helpers/fixtures.ts";

/** Rows of a fixture TSV as objects keyed by the header line (comment lines skipped). */
export async function readTsv(path: string): Promise<Record<string, string>[]> {
  const lines = (await fixtureText(`pdq/${path}`)).split("\n").filter((l) => l && !l.startsWith("#"));
  const head = lines[0]!.split("\t");
  return lines.slice(1).map((l) => {
    const cells = l.split("\t");
    return Object.fromEntries(head.map((h, i) => [h, cells[i] ?? ""]));
  });
}
