/**
 * The list key for the CLI: synchronous code for the per-digest paths (the digest tags through
 * DigestTagger, entry metadata sealed with node:crypto), several times cheaper than a WebCrypto
 * promise per call over millions of digests. Same bytes as src/lists/keyring.ts (test/lists/keyring.test.ts).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import {
  ALGO_CODE,
  type DerivedListKey,
  type DigestRef,
  deriveListKey,
  fromBase64Url,
  ListKey,
  ListKeyError,
  ListKeyring,
  TAG_BYTES,
  toBase64Url,
} from "../lists/keyring.ts";
import { DigestTagger } from "./digest-tagger.ts";

const IV_BYTES = 12;
const GCM_TAG_BYTES = 16;

export class NodeListKey extends ListKey {
  override async tag(input: Uint8Array): Promise<Uint8Array> {
    return createHmac("sha256", this.d.tagRaw).update(input).digest().subarray(0, TAG_BYTES);
  }

  override async tags(inputs: Uint8Array[]): Promise<Uint8Array> {
    const out = new Uint8Array(inputs.length * TAG_BYTES);
    for (let i = 0; i < inputs.length; i++) {
      const h = createHmac("sha256", this.d.tagRaw).update(inputs[i]!).digest();
      out.set(h.subarray(0, TAG_BYTES), i * TAG_BYTES);
    }
    return out;
  }

  private tagger?: DigestTagger;

  override async digestTags(refs: readonly DigestRef[]): Promise<Uint8Array> {
    this.tagger ??= new DigestTagger(this.d.tagRaw);
    const out = new Uint8Array(refs.length * TAG_BYTES);
    for (let i = 0; i < refs.length; i++)
      this.tagger.tagInto(ALGO_CODE[refs[i]!.algo], refs[i]!.hex, out, i * TAG_BYTES, TAG_BYTES);
    return out;
  }

  override async sealText(plain: string, aad: string): Promise<string> {
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv("aes-256-gcm", this.d.metaRaw, iv).setAAD(Buffer.from(aad));
    const ct = Buffer.concat([iv, c.update(plain, "utf8"), c.final(), c.getAuthTag()]);
    return toBase64Url(ct);
  }

  override async openText(sealed: string, aad: string): Promise<string> {
    const b = fromBase64Url(sealed);
    if (b.length < IV_BYTES + GCM_TAG_BYTES) throw new ListKeyError(`sealed value at ${aad} is malformed`);
    try {
      const d = createDecipheriv("aes-256-gcm", this.d.metaRaw, b.subarray(0, IV_BYTES)).setAAD(
        Buffer.from(aad),
      );
      d.setAuthTag(b.subarray(b.length - GCM_TAG_BYTES));
      return Buffer.concat([d.update(b.subarray(IV_BYTES, b.length - GCM_TAG_BYTES)), d.final()]).toString(
        "utf8",
      );
    } catch {
      throw new ListKeyError(`sealed value at ${aad} failed authentication (wrong key, or altered)`);
    }
  }
}

/**
 * A development-only list secret, used by `--local` when HASHGATE_LIST_KEY is unset and by
 * `npm start` for its local Worker. PUBLIC: never use it for a deployed gate.
 */
export const DEV_LIST_KEY = "hashgate-local-development-list-key-PUBLIC-do-not-deploy";

/** The CLI's keyring from HASHGATE_LIST_KEY (+ HASHGATE_LIST_KEY_PREVIOUS during a rotation). */
export async function cliKeyring(
  mode: "local" | "remote",
  vars: NodeJS.ProcessEnv = process.env,
): Promise<ListKeyring<NodeListKey>> {
  let current = vars.HASHGATE_LIST_KEY;
  if (!current) {
    if (mode === "remote")
      throw new ListKeyError("set HASHGATE_LIST_KEY to the Worker's LIST_KEY (README: List confidentiality)");
    current = DEV_LIST_KEY;
  }
  const make = (d: DerivedListKey) => new NodeListKey(d);
  const previous = vars.HASHGATE_LIST_KEY_PREVIOUS;
  return new ListKeyring(
    make(await deriveListKey(current)),
    previous ? make(await deriveListKey(previous)) : undefined,
  );
}
