import { testServerUrl } from "./fixtures.ts";

/** A request as the test origin (test/node/global-setup.ts) received it. */
export interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  size: number;
  sha256: string;
  bodyBase64?: string;
}

/** A path prefix unique to one test, so parallel test files can share the origin's log. */
export function uniquePrefix(): string {
  return `/t/${crypto.randomUUID()}`;
}

/** Every request the origin received whose URL starts with `prefix`. */
export async function receivedAt(prefix: string): Promise<Received[]> {
  const all = (await (await fetch(`${testServerUrl()}/__origin/log`)).json()) as Received[];
  return all.filter((r) => r.url.startsWith(prefix));
}

export function bodyOf(r: Received): Uint8Array {
  if (r.bodyBase64 === undefined) throw new Error("body not kept (over 1 MiB); compare sha256");
  return Uint8Array.from(atob(r.bodyBase64), (c) => c.charCodeAt(0));
}

/** Every request the origin received whose URL contains `marker` (for paths without a prefix). */
export async function receivedWith(marker: string): Promise<Received[]> {
  const all = (await (await fetch(`${testServerUrl()}/__origin/log`)).json()) as Received[];
  return all.filter((r) => r.url.includes(marker));
}
