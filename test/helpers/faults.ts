/** Wrappers around bindings that record calls or fail on demand, for fault-injection tests. */
import { env } from "cloudflare:test";
import type { Env } from "../../src/env.ts";

export class CapturingQueue {
  sent: unknown[] = [];
  fail = false;
  async send(body: unknown): Promise<void> {
    if (this.fail) throw new Error("injected queue failure");
    this.sent.push(structuredClone(body));
  }
  async sendBatch(): Promise<void> {
    throw new Error("not used");
  }
}

/**
 * A proxy of `target` whose methods named in `failingMethods` throw an injected error. They
 * throw synchronously, which covers D1's synchronous `prepare` as well as async methods
 * (callers await them inside try blocks); other helpers inject rejections.
 */
export function failing<T extends object>(target: T, failingMethods: string[]): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const v = Reflect.get(obj, prop, receiver);
      if (typeof prop === "string" && failingMethods.includes(prop)) {
        return () => {
          throw new Error(`injected ${prop} failure`);
        };
      }
      return typeof v === "function" ? v.bind(obj) : v;
    },
  });
}

/** The test env with some bindings replaced and variables overridden. */
export function testEnv(over: Partial<Env> = {}): Env {
  return { ...(env as unknown as Env), ...over };
}

/** A minimal ExecutionContext that collects waitUntil promises. */
export function testCtx() {
  const pending: Promise<unknown>[] = [];
  return {
    ctx: { waitUntil: (p: Promise<unknown>) => void pending.push(p) },
    settle: () => Promise.allSettled(pending),
  };
}
