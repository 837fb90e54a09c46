/** Small statistics and formatting helpers for the benchmarks. */

/** Median CPU time (user + system, ms) of `runs` runs of `work` after one warm-up: on a shared machine, steadier than wall time. */
export async function medianCpuMs(work: () => Promise<unknown>, runs: number): Promise<number> {
  await work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.cpuUsage();
    await work();
    const t = process.cpuUsage(t0);
    times.push((t.user + t.system) / 1000);
  }
  return median(times);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile, p in [0, 100]. */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[rank]!;
}

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** A number with a fixed count of decimals, or "-" when not finite. */
export function fixed(x: number, decimals: number): string {
  return Number.isFinite(x) ? x.toFixed(decimals) : "-";
}

/** Renders rows as a plain-text table with a header rule; numbers right-aligned. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
