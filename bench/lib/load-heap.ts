/**
 * The gate isolate's JS heap after a forced garbage collection, read through workerd's
 * inspector (Chrome DevTools Protocol). Process RSS mixes the gate with Miniflare's simulators
 * and with heap V8 has not collected yet; the used heap after a full GC is the figure that
 * shows whether the gate itself keeps memory.
 */
export class HeapProbe {
  private readonly ws: WebSocket;
  private next = 1;
  private readonly waiting = new Map<number, (v: unknown) => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) this.waiting.get(msg.id)?.(msg.result);
    });
  }

  /** Connects to the gate's isolate (the worker whose title is not one of Miniflare's own). */
  static async connect(inspectorPort: number): Promise<HeapProbe> {
    const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as {
      title: string;
      webSocketDebuggerUrl: string;
    }[];
    const gate =
      targets.find((t) => /core:user:/.test(t.title) && !/__mf|miniflare/i.test(t.title)) ?? targets[0];
    if (!gate) throw new Error("no inspector target");
    console.log(`heap probe: inspector target "${gate.title}" of ${targets.map((t) => t.title).join(", ")}`);
    const ws = new WebSocket(gate.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error("inspector connection failed")), { once: true });
    });
    return new HeapProbe(ws);
  }

  private call(method: string, timeoutMs = 120_000): Promise<unknown> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer`)), timeoutMs);
      this.waiting.set(id, (v) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(v);
      });
      this.ws.send(JSON.stringify({ id, method }));
    });
  }

  /** MiB of JS heap in use after a full collection. */
  async usedAfterGcMiB(): Promise<number> {
    await this.call("HeapProfiler.enable");
    // workerd's inspector does not answer collectGarbage; a heap snapshot forces a full GC (its chunks are ignored).
    await this.call("HeapProfiler.takeHeapSnapshot");
    const u = (await this.call("Runtime.getHeapUsage")) as { usedSize: number };
    return u.usedSize / (1024 * 1024);
  }

  close(): void {
    this.ws.close();
  }
}
