/**
 * The origin signature: an HMAC header on every forwarded request, so that the origin can
 * refuse what went around the gate (another hostname, the origin's IP, a route that failed
 * open). Format, and the verifier for Node origins: origin-verifier/ and README "Origin signing".
 *
 *   x-hashgate-signature: v1,t=<unix s>,n=<nonce>,verdict=<clean|flag|unscanned>,sha256=<hex|->,sig=<hex>
 *
 * `sig` is HMAC-SHA256 under ORIGIN_SIGNING_KEY of the lines `hashgate-origin-v1`, t, n,
 * METHOD, path+query (as the origin receives them), verdict, sha256 — joined by "\n".
 */

export const SIGNATURE_HEADER = "x-hashgate-signature";

/**
 * What the gate says of a forwarded request: `clean` (body scanned, nothing matched), `flag`
 * (matched a flag list: forwarded and queued for review), `unscanned` (not scanned: outside
 * SCAN_PATHS, a bodiless request of another method, or forwarded by FAIL_MODE=open).
 */
export type OriginVerdict = "clean" | "flag" | "unscanned";

export interface OriginStamp {
  verdict: OriginVerdict;
  /** SHA-256 (hex) of the forwarded body, when the gate read it; null otherwise. */
  bodySha256: string | null;
}

const enc = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    keys.set(secret, key);
  }
  return key;
}

/** The signed lines; the Node verifier builds the same string independently. */
export function signedString(
  t: number,
  nonce: string,
  method: string,
  pathAndQuery: string,
  stamp: OriginStamp,
): string {
  return [
    "hashgate-origin-v1",
    String(t),
    nonce,
    method,
    pathAndQuery,
    stamp.verdict,
    stamp.bodySha256 ?? "-",
  ].join("\n");
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The header value for one forwarded request. */
export async function originSignature(
  secret: string,
  method: string,
  target: URL,
  stamp: OriginStamp,
  now: Date = new Date(),
): Promise<string> {
  const t = Math.floor(now.getTime() / 1000);
  const nonce = hex(crypto.getRandomValues(new Uint8Array(16)));
  const data = signedString(t, nonce, method, target.pathname + target.search, stamp);
  const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(secret), enc.encode(data)));
  return `v1,t=${t},n=${nonce},verdict=${stamp.verdict},sha256=${stamp.bodySha256 ?? "-"},sig=${hex(sig)}`;
}
