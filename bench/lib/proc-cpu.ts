/**
 * CPU time of processes from /proc (Linux only): utime + stime of /proc/<pid>/stat, in
 * milliseconds. Used to charge the gate's work to the workerd process(es) Miniflare spawns.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | null = null;

/** USER_HZ: the unit of utime/stime (100 on every mainstream Linux, but ask). */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  /** utime + stime in clock ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | null {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null; // the process is gone
  }
  // comm is in parentheses and may itself contain spaces or parentheses: split after the last ")".
  const close = raw.lastIndexOf(")");
  const comm = raw.slice(raw.indexOf("(") + 1, close);
  const fields = raw.slice(close + 2).split(" ");
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return { pid, comm, ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** Whether /proc is there to read (Linux); elsewhere CPU time is reported as unknown. */
export const HAVE_PROC = existsSync("/proc/self/stat");

/** Every live descendant of `root` whose command name is `comm`. */
export function descendantsNamed(root: number, comm: string): number[] {
  if (!HAVE_PROC) return [];
  const children = new Map<number, ProcStat[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(st);
    children.set(st.ppid, list);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (child.comm === comm) found.push(child.pid);
      queue.push(child.pid);
    }
  }
  return found;
}

/** Total CPU time (user + system) of `pids`, in milliseconds. Exited processes count 0. */
export function cpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) ticks += readStat(pid)?.ticks ?? 0;
  return (ticks * 1000) / clockTicks();
}
