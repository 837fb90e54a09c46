import { inject } from "vitest";

/** Base URL of the loopback test server started by test/node/global-setup.ts. */
export function testServerUrl(): string {
  return `http://127.0.0.1:${inject("originPort")}`;
}

/** Reads a file of ../shared/fixtures (path relative to it, e.g. "pdq/manifest.tsv"). */
export async function fixtureBytes(path: string): Promise<Uint8Array> {
  const res = await fetch(`${testServerUrl()}/__fixtures/${path}`);
  if (!res.ok) throw new Error(`fixture ${path}: ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Reads a text fixture. */
export async function fixtureText(path: string): Promise<string> {
  return new TextDecoder().decode(await fixtureBytes(path));
}
