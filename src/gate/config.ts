import type { Env } from "../env.ts";
import { GateError } from "../errors.ts";
import { SPOOL_PART_BYTES } from "../scan/hold.ts";
import {
  DEFAULT_MAX_DECODE_RATIO,
  DEFAULT_MAX_TEXT_FILES,
  DEFAULT_MIN_TEXT_FILE_BYTES,
} from "../scan/limits.ts";
import { compilePathPattern } from "./path.ts";

/** Largest body the gate will ever accept, whatever MAX_BODY_BYTES says: Enterprise's request limit. */
export const HARD_MAX_BODY_BYTES = 500 * 1024 * 1024;

export type FailMode = "closed" | "open";

/** The gate's configuration, read from wrangler vars once per isolate and validated. */
export interface GateConfig {
  /** Base URL of the origin; null forwards to the request's own URL (a Worker on a route). */
  originUrl: URL | null;
  /** Upload methods (upper case): scanned on SCAN_PATHS even without a body; see otherMethodBodies. */
  scanMethods: Set<string>;
  /** Path patterns scanned, matched against every reading of the path (src/gate/path.ts). */
  scanPaths: RegExp[];
  /** Match SCAN_PATHS case-sensitively (default: no, as case-insensitive origins route `/UPLOAD`). */
  scanPathsCaseSensitive: boolean;
  /** A body sent with a method outside SCAN_METHODS on a scanned path: scanned, or refused with 400. */
  otherMethodBodies: "scan" | "refuse";
  /** Key of the HMAC header on every forwarded request (src/gate/origin-signature.ts); null: none. */
  originSigningKey: string | null;
  /** Status of a block response (451 by default). */
  blockStatus: number;
  /** Bodies larger than this are refused with 413. */
  maxBodyBytes: number;
  /** Bodies up to this size are held in memory; larger ones are spooled to R2. */
  holdMemoryBytes: number;
  /** Memory all uploads held at once in one isolate may use; beyond it uploads spool to R2. */
  holdIsolateBytes: number;
  /** A multipart part's header block larger than this is malformed. */
  maxPartHeaderBytes: number;
  /** What to do when KV, R2 or the queue fails during a scan. */
  failMode: FailMode;
  /** Request headers copied into the case (lower case), e.g. an account id the platform sets. */
  identityHeaders: string[];
  /** Images larger than this many bytes are not decoded for PDQ. */
  imageMaxBytes: number;
  /** Images with more pixels than this (read from the header) are not decoded: decompression bombs. */
  imageMaxPixels: number;
  /** What happens to an image that cannot be decoded or is over the limits. */
  imageFailurePolicy: "forward" | "hold";
  /** Images decoded for PDQ per request at most (CPU time); later ones are unscanned ("too-many-images"). */
  imageMaxPerRequest: number;
  /** Time a KV, D1 or queue call may take before it counts as failed (FAIL_MODE applies). */
  bindingTimeoutMs: number;
  /** With no active list (no manifest, all expired or disabled): forward unscanned, or refuse with 503. */
  noListMode: FailMode;
  /** Largest decoded/encoded size ratio of a body with a Content-Encoding: decompression bombs. */
  maxDecodeRatio: number;
  /** Text values (JSON strings, form values, text fields) decoding to this many bytes or more are judged as files. */
  minTextFileBytes: number;
  /** Most files decoded from text values in one upload; more are refused with 413. */
  maxTextFiles: number;
}

/**
 * KV, D1 and queue calls answer in milliseconds to a few hundred when healthy (a cold KV read
 * is the slowest); 5 s is far beyond that and far below the minute or more a client waits
 * before it gives up and retries, which is the wait a hung binding would otherwise impose.
 */
export const DEFAULT_BINDING_TIMEOUT_MS = 5_000;
/**
 * A 6 MP image (IMAGE_MAX_PIXELS' default) takes about 0.12 s of CPU to decode and hash (0.24 s
 * measured for 12 MP, README: Images): 32 of them stay near 4 s, well inside the 30 s of CPU
 * a paid plan's request gets by default.
 */
export const DEFAULT_IMAGE_MAX_PER_REQUEST = 32;

function intVar(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new GateError(
      "config_invalid",
      "gate misconfigured",
      `${name}=${raw}: want an integer in ${min}..${max}`,
    );
  }
  return n;
}

function listVar(raw: string | undefined, fallback: string): string[] {
  return (raw ?? fallback)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function boolVar(name: string, raw: string | undefined, fallback: boolean): boolean {
  const v = (raw ?? "").trim().toLowerCase();
  if (v === "") return fallback;
  if (v === "true" || v === "false") return v === "true";
  throw new GateError("config_invalid", "gate misconfigured", `${name}=${raw}: want true or false`);
}

/** Shortest ORIGIN_SIGNING_KEY accepted: 32 characters, 128 bits or more of a random key. */
export const MIN_SIGNING_KEY_CHARS = 32;

function signingKeyVar(raw: string | undefined): string | null {
  if (raw === undefined || raw === "") return null;
  if (raw.length < MIN_SIGNING_KEY_CHARS) {
    throw new GateError(
      "config_invalid",
      "gate misconfigured",
      `ORIGIN_SIGNING_KEY: want at least ${MIN_SIGNING_KEY_CHARS} characters`,
    );
  }
  return raw;
}

/** Reads and validates the configuration. Throws GateError("config_invalid") on a bad value. */
export function parseConfig(env: Env): GateConfig {
  let originUrl: URL | null = null;
  if (env.ORIGIN_URL && env.ORIGIN_URL.trim() !== "") {
    try {
      originUrl = new URL(env.ORIGIN_URL.trim());
    } catch {
      throw new GateError(
        "config_invalid",
        "gate misconfigured",
        `ORIGIN_URL is not a URL: ${env.ORIGIN_URL}`,
      );
    }
    if (originUrl.protocol !== "http:" && originUrl.protocol !== "https:") {
      throw new GateError("config_invalid", "gate misconfigured", "ORIGIN_URL must be http(s)");
    }
  }
  const failMode = (env.FAIL_MODE ?? "closed").trim().toLowerCase();
  if (failMode !== "closed" && failMode !== "open") {
    throw new GateError(
      "config_invalid",
      "gate misconfigured",
      `FAIL_MODE=${env.FAIL_MODE}: want closed or open`,
    );
  }
  const imagePolicy = (env.IMAGE_FAILURE_POLICY ?? "forward").trim().toLowerCase();
  if (imagePolicy !== "forward" && imagePolicy !== "hold") {
    throw new GateError(
      "config_invalid",
      "gate misconfigured",
      `IMAGE_FAILURE_POLICY=${env.IMAGE_FAILURE_POLICY}: want forward or hold`,
    );
  }
  const noListMode = (env.NO_LIST_MODE ?? "open").trim().toLowerCase();
  if (noListMode !== "closed" && noListMode !== "open") {
    throw new GateError(
      "config_invalid",
      "gate misconfigured",
      `NO_LIST_MODE=${env.NO_LIST_MODE}: want closed or open`,
    );
  }
  const maxBodyBytes = intVar(
    "MAX_BODY_BYTES",
    env.MAX_BODY_BYTES,
    100 * 1024 * 1024,
    1,
    HARD_MAX_BODY_BYTES,
  );
  const otherBodies = (env.OTHER_METHOD_BODIES ?? "scan").trim().toLowerCase();
  if (otherBodies !== "scan" && otherBodies !== "refuse") {
    throw new GateError(
      "config_invalid",
      "gate misconfigured",
      `OTHER_METHOD_BODIES=${env.OTHER_METHOD_BODIES}: want scan or refuse`,
    );
  }
  const caseSensitive = boolVar("SCAN_PATHS_CASE_SENSITIVE", env.SCAN_PATHS_CASE_SENSITIVE, false);
  return {
    originUrl,
    scanMethods: new Set(listVar(env.SCAN_METHODS, "POST,PUT,PATCH").map((m) => m.toUpperCase())),
    scanPaths: listVar(env.SCAN_PATHS, "/*").map((g) => compilePathPattern(g, caseSensitive)),
    scanPathsCaseSensitive: caseSensitive,
    otherMethodBodies: otherBodies,
    originSigningKey: signingKeyVar(env.ORIGIN_SIGNING_KEY),
    blockStatus: intVar("BLOCK_STATUS", env.BLOCK_STATUS, 451, 400, 599),
    maxBodyBytes,
    // Holding more than the largest body allowed would be pointless: clamp rather than refuse.
    holdMemoryBytes: Math.min(
      maxBodyBytes,
      intVar("HOLD_MEMORY_BYTES", env.HOLD_MEMORY_BYTES, SPOOL_PART_BYTES, 0, HARD_MAX_BODY_BYTES),
    ),
    holdIsolateBytes: intVar(
      "HOLD_ISOLATE_BYTES",
      env.HOLD_ISOLATE_BYTES,
      32 * 1024 * 1024,
      0,
      96 * 1024 * 1024,
    ),
    maxPartHeaderBytes: intVar(
      "MAX_PART_HEADER_BYTES",
      env.MAX_PART_HEADER_BYTES,
      16 * 1024,
      256,
      1024 * 1024,
    ),
    failMode,
    identityHeaders: listVar(env.IDENTITY_HEADERS, "").map((h) => h.toLowerCase()),
    imageMaxBytes: intVar("IMAGE_MAX_BYTES", env.IMAGE_MAX_BYTES, 50 * 1024 * 1024, 1, HARD_MAX_BODY_BYTES),
    // 6 MP: what one decode may take beside a full hold budget in a 128 MB isolate (README: Images).
    imageMaxPixels: intVar("IMAGE_MAX_PIXELS", env.IMAGE_MAX_PIXELS, 6_000_000, 1, 500_000_000),
    imageFailurePolicy: imagePolicy,
    imageMaxPerRequest: intVar(
      "IMAGE_MAX_PER_REQUEST",
      env.IMAGE_MAX_PER_REQUEST,
      DEFAULT_IMAGE_MAX_PER_REQUEST,
      0,
      1000,
    ),
    bindingTimeoutMs: intVar(
      "BINDING_TIMEOUT_MS",
      env.BINDING_TIMEOUT_MS,
      DEFAULT_BINDING_TIMEOUT_MS,
      1,
      120_000,
    ),
    noListMode,
    maxDecodeRatio: intVar("MAX_DECODE_RATIO", env.MAX_DECODE_RATIO, DEFAULT_MAX_DECODE_RATIO, 1, 1100),
    minTextFileBytes: intVar(
      "MIN_TEXT_FILE_BYTES",
      env.MIN_TEXT_FILE_BYTES,
      DEFAULT_MIN_TEXT_FILE_BYTES,
      1,
      HARD_MAX_BODY_BYTES,
    ),
    maxTextFiles: intVar("MAX_TEXT_FILES", env.MAX_TEXT_FILES, DEFAULT_MAX_TEXT_FILES, 1, 100_000),
  };
}

const cache = new WeakMap<object, GateConfig>();

/** The configuration for this env, parsed once per isolate (env objects are stable per isolate). */
export function configFor(env: Env): GateConfig {
  let cfg = cache.get(env);
  if (!cfg) {
    cfg = parseConfig(env);
    cache.set(env, cfg);
  }
  return cfg;
}
