/**
 * Fault injection for the fault matrix: wraps a binding (KV, R2, Queue, D1) so that the Nth
 * call of a named method fails or is delayed, and counts every call. Extends
 * test/helpers/faults.ts (which fails a method on every call) with "Nth call" and "delay",
 * and reaches objects the bindings return (R2 multipart uploads; D1 statements).
 */

export type FaultKind = "fail" | "delay";

export interface Fault {
  /** Method name, e.g. "get", "put", "uploadPart", "complete", "send", "run". */
  method: string;
  /** 1-based: which call of `method` (counted across the whole binding) is hit. */
  nth: number;
  kind: FaultKind;
  /** Length of a "delay" (default FAULT_DELAY_MS): longer ones outlast the gate's binding timeouts. */
  ms?: number;
}

/** Delay injected by a "delay" fault: long against a local binding call, short for the suite. */
export const FAULT_DELAY_MS = 40;

/** Methods whose results are wrapped too, so faults reach their methods. */
const WRAP_RESULTS = new Set(["createMultipartUpload", "resumeMultipartUpload", "prepare", "bind"]);

export class Injector {
  readonly calls = new Map<string, number>();
  /** Whether the fault's call happened (a cell whose step never ran is reported as such). */
  fired = false;
  private readonly faults: Fault[];
  private readonly deep: boolean;

  /** `deep: false` leaves returned objects unwrapped (D1 statements handed back to `batch` must be real). */
  constructor(faults: Fault[] = [], opts: { deep?: boolean } = {}) {
    this.faults = faults;
    this.deep = opts.deep ?? true;
  }

  count(method: string): number {
    return this.calls.get(method) ?? 0;
  }

  /** `target` with faults injected into its methods (and those of the objects listed above). */
  wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (obj, prop) => {
        const v = Reflect.get(obj, prop, obj) as unknown;
        if (typeof v !== "function" || typeof prop !== "string") return v;
        return (...args: unknown[]) =>
          this.call(prop, () => (v as (...a: unknown[]) => unknown).apply(obj, args));
      },
    });
  }

  private call(method: string, run: () => unknown): unknown {
    const n = this.count(method) + 1;
    this.calls.set(method, n);
    const fault = this.faults.find((f) => f.method === method && f.nth === n);
    if (fault) this.fired = true;
    const wrapResult = (r: unknown) =>
      this.deep && WRAP_RESULTS.has(method) && r !== null && typeof r === "object" ? this.wrap(r) : r;
    if (SYNC_METHODS.has(method)) {
      // D1's prepare/bind are synchronous: a failure throws, a delay cannot apply.
      if (fault?.kind === "fail") throw new Error(`injected failure: ${method} call ${n}`);
      return wrapResult(run());
    }
    if (fault?.kind === "fail") {
      const failed = Promise.reject(new Error(`injected failure: ${method} call ${n}`));
      // Marked handled: KvListStore.put keeps its put promises unawaited until flush, and
      // workerd reports such a rejection as unhandled before flush awaits it (a finding of the
      // publish matrix, see fuzz/FAULTS.md). The caller still sees the rejection.
      failed.catch(() => undefined);
      return failed;
    }
    const later = fault?.kind === "delay" ? sleep(fault.ms ?? FAULT_DELAY_MS) : Promise.resolve();
    return later.then(async () => wrapResult(await run()));
  }
}

const SYNC_METHODS = new Set(["prepare", "bind"]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A queue that keeps what it was sent (its `send` goes through an Injector). */
export class MemoryQueue {
  readonly sent: unknown[] = [];
  async send(body: unknown): Promise<void> {
    this.sent.push(structuredClone(body));
  }
  async sendBatch(msgs: { body: unknown }[]): Promise<void> {
    for (const m of msgs) this.sent.push(structuredClone(m.body));
  }
}
