/** Types of origin-verifier/index.js: hashgate's origin-signature verifier for Node origins. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Transform } from "node:stream";

export declare const SIGNATURE_HEADER: "x-hashgate-signature";
export declare const DEFAULT_MAX_AGE_SECONDS: number;
export declare const DEFAULT_MAX_FUTURE_SKEW_SECONDS: number;
export declare const DEFAULT_REPLAY_CACHE_ENTRIES: number;

export type Verdict = "clean" | "flag" | "unscanned";

export interface ReplayStore {
  /** True the first time `nonce` is seen; remember it until `expiresAtMs`. */
  firstUse(nonce: string, expiresAtMs: number, nowMs?: number): boolean | Promise<boolean>;
}

export interface VerifyOptions {
  /** ORIGIN_SIGNING_KEY; several during a rotation (any one may match). */
  key: string | Buffer | Array<string | Buffer>;
  /** Oldest signature accepted, in seconds (default 300). */
  maxAgeSeconds?: number;
  /** How far ahead of this clock a signature may be dated, in seconds (default 30). */
  maxFutureSkewSeconds?: number;
  /** Nonce store; default one in this process's memory; false: no replay check. */
  replay?: ReplayStore | false;
  /** Accept only these verdicts (e.g. ["clean", "flag"] on upload routes); default all. */
  verdicts?: Verdict[];
  /** Clock, for tests. */
  now?: () => Date;
}

export interface VerifyInput {
  header: string | string[] | undefined | null;
  /** The method as received. */
  method: string;
  /** Path and query as received (Node's req.url; Express's req.originalUrl). */
  url: string;
}

export type VerifyResult =
  | { ok: true; verdict: Verdict; bodySha256: string | null; timestamp: number; nonce: string }
  | {
      ok: false;
      reason:
        | "missing"
        | "malformed"
        | "expired"
        | "future"
        | "bad_signature"
        | "replayed"
        | "verdict_refused";
    };

export type Verified = Extract<VerifyResult, { ok: true }>;

export declare function parseSignatureHeader(
  value: string | string[] | undefined | null,
): { t: number; nonce: string; verdict: Verdict; bodySha256: string | null; sig: string } | null;
export declare function createReplayCache(opts?: { maxEntries?: number }): ReplayStore;
export declare function verifySignature(input: VerifyInput, opts: VerifyOptions): Promise<VerifyResult>;
export declare function bodyMatches(verified: { bodySha256: string | null }, body: Uint8Array): boolean;
export declare function verifyNodeRequest(req: IncomingMessage, opts: VerifyOptions): Promise<VerifyResult>;
export declare function hashgateExpress(
  opts: VerifyOptions,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;
export declare function expressBodyVerify(req: IncomingMessage, res: unknown, buf: Uint8Array): void;
export declare function bodyCheckStream(verified: { bodySha256: string | null }): Transform;
// biome-ignore lint/suspicious/noExplicitAny: Fastify's types are not a dependency here.
export declare function hashgateFastify(opts: VerifyOptions): (fastify: any) => Promise<void>;
