/**
 * The isolate's one memory budget. A Workers isolate has 128 MB for everything, and many
 * requests run in one isolate at once: a per-request limit alone would not bound the total.
 * Three consumers draw on the same budget (ISOLATE_MEMORY_BYTES):
 * - held upload bodies, through a share capped at HOLD_ISOLATE_BYTES (holdShare): past it,
 *   further uploads spool to R2 instead of holding in memory;
 * - image decodes, which reserve what the image's header says the decode will map before
 *   decoding (src/gate/judge.ts); one decode runs at a time per isolate;
 * - loaded PDQ indexes, which take their size when loaded and give it back when replaced.
 */
export class MemoryBudget {
  private used = 0;
  readonly limit: number;
  readonly parent: MemoryBudget | null;

  /** A budget of `limit` bytes; with a `parent`, a share of it that takes from both. */
  constructor(limit: number, parent: MemoryBudget | null = null) {
    this.limit = limit;
    this.parent = parent;
  }

  /** Takes `n` bytes if they fit here (and in the parent); false (taking nothing) if not. */
  tryTake(n: number): boolean {
    if (this.used + n > this.limit) return false;
    if (this.parent && !this.parent.tryTake(n)) return false;
    this.used += n;
    return true;
  }

  /**
   * Takes `n` bytes even past the limit: for memory that is already in use and cannot be
   * refused without losing matches (a loaded PDQ index). Later reservations then find less room.
   */
  forceTake(n: number): void {
    this.parent?.forceTake(n);
    this.used += n;
  }

  /** Returns bytes taken earlier. */
  give(n: number): void {
    const back = Math.min(n, this.used);
    this.used -= back;
    this.parent?.give(back);
  }

  get inUse(): number {
    return this.used;
  }
}

const budgets = new Map<number, MemoryBudget>();
const shares = new Map<MemoryBudget, Map<number, MemoryBudget>>();

/** The isolate's budget for the given limit (one per configured value: tests use several). */
export function isolateBudget(limit: number): MemoryBudget {
  let b = budgets.get(limit);
  if (!b) {
    b = new MemoryBudget(limit);
    budgets.set(limit, b);
  }
  return b;
}

/** The share of `budget` that held bodies may use together (HOLD_ISOLATE_BYTES). */
export function holdShare(budget: MemoryBudget, cap: number): MemoryBudget {
  let byCap = shares.get(budget);
  if (!byCap) {
    byCap = new Map();
    shares.set(budget, byCap);
  }
  let s = byCap.get(cap);
  if (!s) {
    s = new MemoryBudget(cap, budget);
    byCap.set(cap, s);
  }
  return s;
}
