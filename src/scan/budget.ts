/**
 * Memory shared by every upload an isolate holds at once. A Workers isolate has 128 MB for
 * everything (JS heap, WASM instances such as a loaded PDQ index), and many uploads may be in
 * flight in one isolate: a per-upload limit alone would not bound the total. Once the shared
 * budget is used up, further uploads spool to R2 instead of holding in memory.
 */
export class MemoryBudget {
  private used = 0;
  readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Takes `n` bytes if they fit; false (taking nothing) if not. */
  tryTake(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  /** Returns bytes taken earlier. */
  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }

  get inUse(): number {
    return this.used;
  }
}

const budgets = new Map<number, MemoryBudget>();

/** The isolate's budget for the given limit (one per configured value: tests use several). */
export function isolateBudget(limit: number): MemoryBudget {
  let b = budgets.get(limit);
  if (!b) {
    b = new MemoryBudget(limit);
    budgets.set(limit, b);
  }
  return b;
}
