/** Samples the resident memory of processes (workerd) from /proc while a load runs. */
import { readFileSync } from "node:fs";

/** VmRSS of `pids` together, in MiB (0 where /proc cannot be read). */
export function rssMiB(pids: readonly number[]): number {
  let kib = 0;
  for (const pid of pids) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      kib += m ? Number(m[1]) : 0;
    } catch {
      // exited
    }
  }
  return kib / 1024;
}

export interface RssSample {
  atS: number;
  mib: number;
}

/** Samples every `everyMs` until stopped; returns the samples. */
export function sampleRss(pids: readonly number[], everyMs: number): { stop(): RssSample[] } {
  const t0 = performance.now();
  const samples: RssSample[] = [{ atS: 0, mib: rssMiB(pids) }];
  const timer = setInterval(
    () => samples.push({ atS: (performance.now() - t0) / 1000, mib: rssMiB(pids) }),
    everyMs,
  );
  return {
    stop() {
      clearInterval(timer);
      samples.push({ atS: (performance.now() - t0) / 1000, mib: rssMiB(pids) });
      return samples;
    },
  };
}
