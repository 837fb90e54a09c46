/**
 * A started process and everything below it, from /proc (Linux): remembered while it runs so
 * that all of it can be stopped at the end, including children that moved into process groups
 * or sessions of their own (`npm start` puts wrangler and workerd in one), and checked gone.
 * A pid is identified with its start time, so a recycled pid is never signalled.
 */
import { readdirSync, readFileSync } from "node:fs";

interface Proc {
  pid: number;
  comm: string;
  ppid: number;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks after boot. */
  start: string;
}

function readProc(pid: number): Proc | null {
  let raw: string;
  try {
    raw = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // comm is in parentheses and may hold spaces: the fields follow the last ")".
  const close = raw.lastIndexOf(")");
  const fields = raw.slice(close + 2).split(" ");
  if (fields[0] === "Z") return null; // a zombie has exited; only its parent's wait is left
  return { pid, comm: raw.slice(raw.indexOf("(") + 1, close), ppid: Number(fields[1]), start: fields[19]! };
}

/** The live descendants of `root` (not `root` itself). */
function descendants(root: number): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = readProc(Number(name));
    if (!p) continue;
    children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  }
  const found: Proc[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

export class ProcessTree {
  private readonly seen = new Map<number, Proc>();
  readonly root: number;

  constructor(root: number) {
    this.root = root;
    const self = readProc(root);
    if (self) this.seen.set(root, self);
  }

  /** Remembers every process now below the root (call it whenever the tree may have grown). */
  record(): void {
    for (const p of descendants(this.root)) if (!this.seen.has(p.pid)) this.seen.set(p.pid, p);
  }

  /** Live pids of the recorded processes whose command name is `comm`. */
  named(comm: string): number[] {
    this.record();
    return this.alive()
      .filter((p) => p.comm === comm)
      .map((p) => p.pid);
  }

  /** Recorded processes still running (same pid, same start time). */
  alive(): Proc[] {
    return [...this.seen.values()].filter((p) => readProc(p.pid)?.start === p.start);
  }

  /** Sends `signal` to every recorded process still running; returns how many. */
  signal(signal: NodeJS.Signals): number {
    this.record();
    const live = this.alive();
    for (const p of live) {
      try {
        process.kill(p.pid, signal);
      } catch {}
    }
    return live.length;
  }
}
