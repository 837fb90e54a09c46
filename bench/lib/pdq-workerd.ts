/**
 * Times PdqIndex's WASM search inside workerd (Miniflare). workerd's clocks do not advance
 * while a request computes, so the time is taken outside: a request running K searches minus
 * one running none, median over several requests. The worker calls the core's ABI directly
 * (what PdqIndex.load and .query do, minus hex conversion and entry ids) on random test hashes.
 */
import { readFileSync } from "node:fs";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { median } from "./stats.ts";

const WORKER = `
import core from "./core.wasm";
let ex;
let size = -1;
export default {
  async fetch(req) {
    const u = new URL(req.url);
    const n = Number(u.searchParams.get("n"));
    const k = Number(u.searchParams.get("k"));
    const nq = Number(u.searchParams.get("q"));
    if (n !== size) {
      ex = new WebAssembly.Instance(core, {}).exports;
      ex.indexReserve(n);
      const cap = ex.stagingCapacity();
      for (let i = 0; i < n; i += cap) {
        const k = Math.min(cap, n - i);
        const staging = new Uint8Array(ex.memory.buffer, ex.stagingPtr(), k * 32);
        for (let j = 0; j < staging.length; j += 65536) crypto.getRandomValues(staging.subarray(j, j + 65536));
        ex.indexAppend(k);
      }
      size = n;
      for (let i = 0; i < 5; i++) ex.search(8, 31); // tier-up
    }
    crypto.getRandomValues(new Uint8Array(ex.memory.buffer, ex.queryPtr(), 256));
    let found = 0;
    for (let i = 0; i < k; i++) found += ex.search(nq, 31) >= 0 ? 1 : 0;
    return new Response(String(found));
  },
};
`;

/** Milliseconds per search of `nq` query hashes against `n` hashes, in workerd. */
export async function workerdQueryMs(sizes: number[], nqs: number[]): Promise<Map<string, number>> {
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      cf: false, // no network
      log: new Log(LogLevel.WARN),
      modules: [
        { type: "ESModule", path: "worker.mjs", contents: WORKER },
        {
          type: "CompiledWasm",
          path: "core.wasm",
          contents: readFileSync(new URL("../../wasm/build/core.wasm", import.meta.url)),
        },
      ],
      compatibilityDate: "2026-10-01",
    }),
  );
  const out = new Map<string, number>();
  try {
    const call = async (n: number, q: number, k: number) => {
      const t = performance.now();
      await (await mf.dispatchFetch(`http://bench/?n=${n}&q=${q}&k=${k}`)).text();
      return performance.now() - t;
    };
    for (const n of sizes) {
      await call(n, 1, 0); // build the index
      for (const q of nqs) {
        const k = Math.max(5, Math.round(20_000_000 / (n * q)));
        const diffs: number[] = [];
        for (let r = 0; r < 7; r++) diffs.push(((await call(n, q, k)) - (await call(n, q, 0))) / k);
        out.set(`${n}:${q}`, median(diffs));
      }
    }
  } finally {
    await mf.dispose();
  }
  return out;
}
