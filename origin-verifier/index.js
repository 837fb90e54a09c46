/**
 * Verifier of hashgate's origin signature, for Node origins (node:http, Express, Fastify).
 * No dependencies: node:crypto only. Plain JavaScript with JSDoc types (index.d.ts) so that it
 * runs from node_modules, where Node does not strip TypeScript.
 *
 * The gate adds to every request it forwards (README "Origin signing"):
 *   x-hashgate-signature: v1,t=<unix s>,n=<nonce>,verdict=<clean|flag|unscanned>,sha256=<hex|->,sig=<hex>
 * with sig = HMAC-SHA256(ORIGIN_SIGNING_KEY, lines "hashgate-origin-v1", t, n, METHOD,
 * path+query, verdict, sha256 joined by "\n"). A request without a valid one did not pass the
 * gate: it came from the origin's IP, another hostname, or a forgery.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { Transform } from "node:stream";

export const SIGNATURE_HEADER = "x-hashgate-signature";
/** Signatures older than this are refused (seconds). */
export const DEFAULT_MAX_AGE_SECONDS = 300;
/** Signatures dated this far ahead of the origin's clock are accepted; more is refused (seconds). */
export const DEFAULT_MAX_FUTURE_SKEW_SECONDS = 30;
/** Nonces remembered by the default replay cache; beyond it the oldest are forgotten. */
export const DEFAULT_REPLAY_CACHE_ENTRIES = 100_000;

const VERDICTS = new Set(["clean", "flag", "unscanned"]);

/**
 * Parses the header into its fields, or null if it is not a well-formed v1 signature.
 * @param {string | string[] | undefined | null} value
 */
export function parseSignatureHeader(value) {
  if (typeof value !== "string") return null;
  const [version, ...pairs] = value.split(",").map((s) => s.trim());
  if (version !== "v1") return null;
  /** @type {Record<string, string>} */
  const f = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) return null;
    const k = pair.slice(0, eq);
    if (Object.hasOwn(f, k)) return null;
    f[k] = pair.slice(eq + 1);
  }
  const { t, n, verdict, sha256, sig } = f;
  if (!t || !/^\d{1,12}$/.test(t) || !n || !/^[0-9a-f]{32}$/.test(n)) return null;
  if (!verdict || !VERDICTS.has(verdict)) return null;
  if (!sha256 || !(sha256 === "-" || /^[0-9a-f]{64}$/.test(sha256))) return null;
  if (!sig || !/^[0-9a-f]{64}$/.test(sig)) return null;
  return { t: Number(t), nonce: n, verdict, bodySha256: sha256 === "-" ? null : sha256, sig };
}

/**
 * The signed string; must equal the gate's (src/gate/origin-signature.ts).
 * @param {{ t: number, nonce: string, verdict: string, bodySha256: string | null }} f
 * @param {string} method
 * @param {string} pathAndQuery
 */
function signedString(f, method, pathAndQuery) {
  return [
    "hashgate-origin-v1",
    String(f.t),
    f.nonce,
    method,
    pathAndQuery,
    f.verdict,
    f.bodySha256 ?? "-",
  ].join("\n");
}

/**
 * A replay cache in this process's memory: each nonce is accepted once while its signature
 * could still be accepted. Several origin processes need a shared store instead (pass your
 * own `replay`, e.g. Redis `SET nonce 1 NX PXAT expiresAtMs`).
 * @param {{ maxEntries?: number }} [opts]
 */
export function createReplayCache(opts = {}) {
  const max = opts.maxEntries ?? DEFAULT_REPLAY_CACHE_ENTRIES;
  /** @type {Map<string, number>} nonce → when its signature expires (ms) */
  const seen = new Map();
  return {
    /**
     * True the first time a nonce is seen, false on a replay.
     * @param {string} nonce
     * @param {number} expiresAtMs
     * @param {number} [nowMs]
     */
    firstUse(nonce, expiresAtMs, nowMs = Date.now()) {
      // Oldest first: drop what has expired.
      for (const [n, until] of seen) {
        if (until > nowMs) break;
        seen.delete(n);
      }
      if (seen.has(nonce)) return false;
      // Full: forget the oldest (a replay of it within its window would then pass).
      for (const n of seen.keys()) {
        if (seen.size < max) break;
        seen.delete(n);
      }
      seen.set(nonce, expiresAtMs);
      return true;
    },
  };
}

/** The cache used when the options name none: one per process, shared by every caller. */
const processReplayCache = createReplayCache();

/**
 * Verifies a request's signature. Never throws for bad input: the result says why.
 * @param {import("./index.d.ts").VerifyInput} input
 * @param {import("./index.d.ts").VerifyOptions} opts
 * @returns {Promise<import("./index.d.ts").VerifyResult>}
 */
export async function verifySignature(input, opts) {
  if (input.header === undefined || input.header === null) return { ok: false, reason: "missing" };
  const f = parseSignatureHeader(Array.isArray(input.header) ? undefined : input.header);
  if (!f) return { ok: false, reason: "malformed" };
  const nowMs = opts.now ? opts.now().getTime() : Date.now();
  const now = Math.floor(nowMs / 1000);
  if (f.t < now - (opts.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS)) return { ok: false, reason: "expired" };
  if (f.t > now + (opts.maxFutureSkewSeconds ?? DEFAULT_MAX_FUTURE_SKEW_SECONDS)) {
    return { ok: false, reason: "future" };
  }
  const data = signedString(f, input.method, input.url);
  const presented = Buffer.from(f.sig, "hex");
  let valid = false;
  // Every key is tried (rotation: old and new), each compared in constant time.
  for (const key of Array.isArray(opts.key) ? opts.key : [opts.key]) {
    const expected = createHmac("sha256", key).update(data).digest();
    if (timingSafeEqual(expected, presented)) valid = true;
  }
  if (!valid) return { ok: false, reason: "bad_signature" };
  // Only a valid signature reaches the cache, so forgeries cannot flood it.
  if (opts.replay !== false) {
    const expiresAtMs = (f.t + (opts.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS) + 1) * 1000;
    const cache = opts.replay ?? processReplayCache;
    if (!(await cache.firstUse(f.nonce, expiresAtMs, nowMs))) return { ok: false, reason: "replayed" };
  }
  if (opts.verdicts && !opts.verdicts.includes(/** @type {any} */ (f.verdict))) {
    return { ok: false, reason: "verdict_refused" };
  }
  return {
    ok: true,
    verdict: /** @type {any} */ (f.verdict),
    bodySha256: f.bodySha256,
    timestamp: f.t,
    nonce: f.nonce,
  };
}

/**
 * Whether a body is the one the gate signed. A signature without a body hash (`sha256=-`:
 * unscanned, or GET/HEAD) matches only an empty body.
 * @param {{ bodySha256: string | null }} verified
 * @param {Uint8Array} body
 */
export function bodyMatches(verified, body) {
  if (verified.bodySha256 === null) return body.length === 0;
  const have = createHash("sha256").update(body).digest();
  return timingSafeEqual(have, Buffer.from(verified.bodySha256, "hex"));
}

/**
 * node:http: verifies a request's signature (not its body: see bodyMatches).
 * @param {import("node:http").IncomingMessage} req
 * @param {import("./index.d.ts").VerifyOptions} opts
 */
export function verifyNodeRequest(req, opts) {
  return verifySignature(
    { header: req.headers[SIGNATURE_HEADER], method: req.method ?? "", url: req.url ?? "" },
    opts,
  );
}

/**
 * @param {import("node:http").ServerResponse} res
 * @param {string} reason
 */
function refuse(res, reason) {
  res.statusCode = 403;
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ error: "not_from_gate", reason }));
}

/**
 * Express (or Connect) middleware: refuses with 403 any request without a valid signature and
 * sets `req.hashgate` to the verified fields. The body is checked by `expressBodyVerify`.
 * @param {import("./index.d.ts").VerifyOptions} opts
 */
export function hashgateExpress(opts) {
  /**
   * @param {import("node:http").IncomingMessage & { originalUrl?: string, hashgate?: unknown }} req
   * @param {import("node:http").ServerResponse} res
   * @param {(err?: unknown) => void} next
   */
  return function verifyHashgate(req, res, next) {
    const input = {
      header: req.headers[SIGNATURE_HEADER],
      method: req.method ?? "",
      url: req.originalUrl ?? req.url ?? "",
    };
    verifySignature(input, opts).then((r) => {
      if (!r.ok) return refuse(res, r.reason);
      req.hashgate = r;
      next();
    }, next);
  };
}

/**
 * For body-parser's `verify` option (`express.raw({ verify: expressBodyVerify })`, json,
 * urlencoded, text): throws, so that body-parser answers 403, unless the body is the one signed.
 * @param {import("node:http").IncomingMessage & { hashgate?: { bodySha256: string | null } }} req
 * @param {unknown} _res
 * @param {Uint8Array} buf
 */
export function expressBodyVerify(req, _res, buf) {
  if (!req.hashgate || !bodyMatches(req.hashgate, buf)) {
    throw Object.assign(new Error("body does not match the hashgate signature"), { status: 403 });
  }
}

/**
 * A stream that passes a body through and fails at its end unless it is the one signed.
 * @param {{ bodySha256: string | null }} verified
 */
export function bodyCheckStream(verified) {
  const hash = createHash("sha256");
  let size = 0;
  return new Transform({
    transform(chunk, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      const hex = hash.digest("hex");
      const ok = verified.bodySha256 === null ? size === 0 : hex === verified.bodySha256;
      cb(
        ok
          ? null
          : Object.assign(new Error("body does not match the hashgate signature"), { statusCode: 403 }),
      );
    },
  });
}

/**
 * Fastify plugin (applies to the whole instance): refuses unsigned requests with 403 in
 * `onRequest`, and checks the body's hash in `preParsing` as the body streams to the parser.
 * @param {import("./index.d.ts").VerifyOptions} opts
 */
export function hashgateFastify(opts) {
  /** @param {any} fastify */
  async function plugin(fastify) {
    fastify.decorateRequest("hashgate", null);
    fastify.addHook("onRequest", async (/** @type {any} */ request, /** @type {any} */ reply) => {
      const r = await verifyNodeRequest(request.raw, opts);
      if (!r.ok) return reply.code(403).send({ error: "not_from_gate", reason: r.reason });
      request.hashgate = r;
    });
    fastify.addHook(
      "preParsing",
      async (/** @type {any} */ request, /** @type {any} */ _reply, /** @type {any} */ payload) =>
        payload.pipe(bodyCheckStream(request.hashgate)),
    );
  }
  // What the fastify-plugin package sets: the hooks apply beyond the plugin's own scope.
  Object.defineProperty(plugin, Symbol.for("skip-override"), { value: true });
  return plugin;
}
