/** The gate benchmark's cases: what is uploaded, how often, and what a correct gate answers. */
import type { CaseSpec } from "./measure.ts";
import { gzipPayload, jsonDataUrlPayload, multipartPayload, type Payload, rawPayload } from "./payloads.ts";
import { KiB, MiB } from "./stats.ts";

/** Path of the blocked uploads; the origin must never see a request on it. */
export const BLOCKED_PATH = "/bench/blocked";
/** The listed payload: its digests are seeded into the benchmark list. */
export const LISTED: Payload = rawPayload(MiB);

/** A clean upload that must reach the origin whole (the origin answers its byte count). */
export function cleanCase(
  name: string,
  payload: Payload,
  path: string,
  iterations: number,
  warmup: number,
  budgetMs = 20_000,
): CaseSpec {
  return {
    name,
    payload,
    path,
    iterations,
    warmup,
    budgetMs,
    direct: true,
    unique: true,
    expect: (r) =>
      r.status !== 200
        ? `status ${r.status}: ${r.text.slice(0, 200)}`
        : r.text !== String(payload.body.length)
          ? `origin received ${r.text} bytes, sent ${payload.body.length}`
          : null,
  };
}

/** Issue 2's cases, against the gate as configured. */
export function gateCases(blockStatus: number): CaseSpec[] {
  return [
    cleanCase("1 KiB raw", rawPayload(KiB), "/bench/1k", 200, 10),
    {
      ...cleanCase("1 MiB raw", rawPayload(MiB), "/bench/1m", 50, 5),
      floorPath: "/hold/bench/floor-main-1m",
    },
    cleanCase("1 MiB multipart", multipartPayload(MiB), "/bench/1m-form", 50, 5),
    // Not unique (a stamp would break them): the same body every time, compared with a raw body sent the same way.
    { ...cleanCase("1 MiB raw, same body", rawPayload(MiB), "/bench/1m-same", 50, 5), unique: false },
    { ...cleanCase("1 MiB gzip", gzipPayload(MiB), "/bench/1m-gzip", 50, 5), unique: false },
    { ...cleanCase("1 MiB JSON data: URL", jsonDataUrlPayload(MiB), "/bench/1m-json", 50, 5), unique: false },
    {
      ...cleanCase("50 MiB raw", rawPayload(50 * MiB), "/bench/50m", 8, 1, 60_000),
      floorPath: "/hold/bench/floor-main-50m",
    },
    {
      name: "1 MiB raw, listed (blocked)",
      payload: LISTED,
      path: BLOCKED_PATH,
      iterations: 50,
      warmup: 3,
      budgetMs: 20_000,
      direct: false,
      unique: false,
      expect: (r) =>
        r.status !== blockStatus
          ? `expected ${blockStatus}, got ${r.status}: ${r.text.slice(0, 200)}`
          : r.headers["x-hashgate-case"]
            ? null
            : "block response without a case id header",
    },
  ];
}

/** Fewer, shorter cases for the reference configurations. */
export function referenceCases(prefix: string): CaseSpec[] {
  return [
    cleanCase(`${prefix}: 1 MiB raw`, rawPayload(MiB), "/bench/ref-1m", 30, 3),
    cleanCase(`${prefix}: 50 MiB raw`, rawPayload(50 * MiB), "/bench/ref-50m", 5, 1, 30_000),
  ];
}

/** The floor Worker's cases: each mode (its path's first segment) on 1 MiB and 50 MiB. */
export function floorCases(): CaseSpec[] {
  return ["read", "digests", "hold", "stream"].flatMap((mode) => [
    cleanCase(`floor ${mode}: 1 MiB raw`, rawPayload(MiB), `/${mode}/bench/floor-1m`, 30, 3),
    cleanCase(`floor ${mode}: 50 MiB raw`, rawPayload(50 * MiB), `/${mode}/bench/floor-50m`, 5, 1, 30_000),
  ]);
}
