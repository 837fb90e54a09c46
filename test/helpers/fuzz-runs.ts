/// <reference types="vite/client" />
/**
 * Shared by the fuzz targets: how many inputs to try, and the saved corpus. The short run
 * (inside `npm test`) uses each target's own small count; `npm run fuzz` sets the FUZZ_RUNS
 * binding (fuzz/vitest.config.ts) and every target runs that many.
 */
import { env } from "cloudflare:test";

/** Inputs per property: FUZZ_RUNS when the long run set it, else `short`. */
export function fuzzRuns(short: number): number {
  const n = Number((env as unknown as { FUZZ_RUNS?: string }).FUZZ_RUNS ?? "");
  return Number.isInteger(n) && n > 0 ? n : short;
}

/** True in the long run: targets then log their counts and time taken. */
export function isLongRun(): boolean {
  return fuzzRuns(0) > 0;
}

/** Seed for the short run, fixed so `npm test` is reproducible; the long run explores freely. */
export function fuzzSeed(): number | undefined {
  return isLongRun() ? undefined : 20261128;
}

// Vite inlines the corpus at transform time: workerd itself cannot read files of the host.
const texts: Record<string, string> = import.meta.glob<string>("../../fuzz/corpus/**/*", {
  query: "?raw",
  import: "default",
  eager: true,
});

/** Corpus entries of `target` (fuzz/corpus/<target>/), by file name; `.b64` files are decoded to bytes. */
export function corpus(target: string): { name: string; text: string; bytes: Uint8Array }[] {
  const prefix = `../../fuzz/corpus/${target}/`;
  return Object.entries(texts)
    .filter(([path]) => path.startsWith(prefix))
    .map(([path, text]) => {
      const name = path.slice(prefix.length);
      const bytes = name.endsWith(".b64")
        ? Uint8Array.from(atob(text.replace(/\s+/g, "")), (c) => c.charCodeAt(0))
        : new TextEncoder().encode(text);
      return { name, text: name.endsWith(".b64") ? new TextDecoder().decode(bytes) : text, bytes };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Logs a target's count and duration in the long run (the report reads these lines). */
export function logRun(target: string, runs: number, startedAt: number): void {
  if (isLongRun())
    console.log(`fuzz ${target}: ${runs} inputs in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}
