/**
 * The list secret and what is derived from it (README "List confidentiality", SECURITY.md).
 * Runtime-neutral (WebCrypto): the Worker uses it as is; the CLI swaps in node:crypto for the
 * per-digest hot paths (src/cli/node-list-key.ts), which must give identical bytes.
 *
 * From one secret (LIST_KEY / HASHGATE_LIST_KEY), HKDF-SHA-256 (salt "hashgate/lists") derives:
 * - the key id (info "key id", 4 bytes → 8 hex digits), recorded per list version in the manifest;
 * - the tag key (info "digest tags"): tag = HMAC-SHA-256(tag key, algo code ‖ raw digest),
 *   truncated to TAG_BYTES. Records, key sets and prefilters are built over tags, never digests;
 * - the metadata key (info "record metadata"): AES-256-GCM over entry ids, categories and the
 *   entry-id index, the KV key as associated data (a value moved to another key fails);
 * - one key per list version (info "list version <id> <version>"): AES-256-GCM over the
 *   version's PDQ shards and entry shards.
 */

/** Digest algorithm → the byte that starts its HMAC input (0 is the entry-id domain). */
export const ALGO_CODE = { md5: 1, sha1: 2, sha256: 3, pdq: 4 } as const;
export type TaggedAlgo = keyof typeof ALGO_CODE;
export const ENTRY_ID_CODE = 0;

/**
 * Bytes of a tag kept: 128 bits. Two of N listed digests share a tag with probability about
 * N²/2¹²⁹ (1.5·10⁻²³ at N = 100M); the prefilter and key set use the first 64 bits (a shared
 * 64-bit key only costs an extra KV read, never a wrong match).
 */
export const TAG_BYTES = 16;
/** A secret shorter than this is refused: the whole list's confidentiality rests on it. */
export const MIN_SECRET_CHARS = 32;
const SALT = new TextEncoder().encode("hashgate/lists");
const SEAL_MAGIC = [0x48, 0x47, 0x45, 0x31]; // "HGE1"
const IV_BYTES = 12;
const enc = new TextEncoder();
/** WebCrypto's parameter type; Node's typings give Uint8Array a possibly shared buffer. */
const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

export class ListKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListKeyError";
  }
}

/** Byte → two hex digits, and hex digit char code → value: table lookups (millions per import). */
const HEX_PAIRS = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const NIBBLE = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  NIBBLE["0123456789abcdef".charCodeAt(i)] = i;
  NIBBLE["0123456789ABCDEF".charCodeAt(i)] = i;
}

export function hexOf(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += HEX_PAIRS[bytes[i]!];
  return s;
}

/** Writes the bytes of valid hex `hex` into `out` from `at`. */
export function hexInto(hex: string, out: Uint8Array, at: number): void {
  for (let i = 0, j = at; i < hex.length; i += 2, j++)
    out[j] = (NIBBLE[hex.charCodeAt(i)]! << 4) | NIBBLE[hex.charCodeAt(i + 1)]!;
}

export function bytesOfHex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  hexInto(hex, out, 0);
  return out;
}

/** The HMAC input of a digest: its algorithm's code, then its raw bytes. */
export function tagInput(algo: TaggedAlgo, hex: string): Uint8Array {
  const out = new Uint8Array(1 + hex.length / 2);
  out[0] = ALGO_CODE[algo];
  hexInto(hex, out, 1);
  return out;
}

/** A digest to tag (valid lowercase hex). */
export interface DigestRef {
  algo: TaggedAlgo;
  hex: string;
}

export function entryIdInput(entryId: string): Uint8Array {
  const id = enc.encode(entryId);
  const out = new Uint8Array(1 + id.length);
  out[0] = ENTRY_ID_CODE;
  out.set(id, 1);
  return out;
}

async function hkdf(secret: Uint8Array, info: string, bytes: number): Promise<Uint8Array> {
  const ikm = await crypto.subtle.importKey("raw", buf(secret), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: SALT, info: enc.encode(info) },
    ikm,
    bytes * 8,
  );
  return new Uint8Array(bits);
}

const aes = (raw: Uint8Array) =>
  crypto.subtle.importKey("raw", buf(raw), "AES-GCM", false, ["encrypt", "decrypt"]);

/** What a secret derives to (see the file header); made once per secret by `deriveListKey`. */
export interface DerivedListKey {
  id: string;
  secret: Uint8Array;
  tagRaw: Uint8Array;
  metaRaw: Uint8Array;
  tagKey: CryptoKey;
  metaKey: CryptoKey;
}

/** Derives every key from the secret. Throws ListKeyError for a missing or short secret. */
export async function deriveListKey(secret: string | undefined): Promise<DerivedListKey> {
  if (!secret || secret.length < MIN_SECRET_CHARS)
    throw new ListKeyError(`the list secret must be at least ${MIN_SECRET_CHARS} characters`);
  const s = enc.encode(secret);
  const tagRaw = await hkdf(s, "digest tags", 32);
  const metaRaw = await hkdf(s, "record metadata", 32);
  return {
    id: hexOf(await hkdf(s, "key id", 4)),
    secret: s,
    tagRaw,
    metaRaw,
    tagKey: await crypto.subtle.importKey("raw", buf(tagRaw), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]),
    metaKey: await aes(metaRaw),
  };
}

/** One list secret: tags, sealing and opening. Derive it once (per isolate, per CLI run). */
export class ListKey {
  readonly id: string;
  /** Raw derived keys, for the CLI's node:crypto paths. Never stored or logged. */
  protected readonly d: DerivedListKey;
  private readonly versionKeys = new Map<string, Promise<CryptoKey>>();

  constructor(d: DerivedListKey) {
    this.id = d.id;
    this.d = d;
  }

  /** The TAG_BYTES tag of one HMAC input (tagInput / entryIdInput). */
  async tag(input: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await crypto.subtle.sign("HMAC", this.d.tagKey, buf(input))).subarray(0, TAG_BYTES);
  }

  /** Tags of many digests, concatenated (TAG_BYTES each). */
  digestTags(refs: readonly DigestRef[]): Promise<Uint8Array> {
    return this.tags(refs.map((r) => tagInput(r.algo, r.hex)));
  }

  /** Tags of many inputs, concatenated (TAG_BYTES each). */
  async tags(inputs: Uint8Array[]): Promise<Uint8Array> {
    const out = new Uint8Array(inputs.length * TAG_BYTES);
    const all = await Promise.all(inputs.map((i) => this.tag(i)));
    for (const [i, t] of all.entries()) out.set(t, i * TAG_BYTES);
    return out;
  }

  /** Small metadata (entry ids, categories, entry-id index values) as base64url text. */
  async sealText(plain: string, aad: string): Promise<string> {
    return toBase64Url(await seal(this.d.metaKey, enc.encode(plain), aad, false));
  }

  async openText(sealed: string, aad: string): Promise<string> {
    return new TextDecoder().decode(await open(this.d.metaKey, fromBase64Url(sealed), aad, false));
  }

  /** A list version's blob (PDQ shard, entry shard), sealed under that version's key. */
  async sealBlob(listId: string, version: number, plain: Uint8Array, aad: string): Promise<Uint8Array> {
    return seal(await this.versionKey(listId, version), plain, aad, true);
  }

  /** Opens a sealed blob; a blob that fails authentication throws (callers fail closed). */
  async openBlob(listId: string, version: number, sealed: Uint8Array, aad: string): Promise<Uint8Array> {
    return open(await this.versionKey(listId, version), sealed, aad, true);
  }

  private versionKey(listId: string, version: number): Promise<CryptoKey> {
    const info = `list version ${listId} ${version}`;
    let k = this.versionKeys.get(info);
    if (!k) {
      k = hkdf(this.d.secret, info, 32).then(aes);
      this.versionKeys.set(info, k);
    }
    return k;
  }
}

async function seal(key: CryptoKey, plain: Uint8Array, aad: string, magic: boolean): Promise<Uint8Array> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: enc.encode(aad) }, key, buf(plain)),
  );
  const head = magic ? SEAL_MAGIC.length : 0;
  const out = new Uint8Array(head + IV_BYTES + ct.length);
  if (magic) out.set(SEAL_MAGIC);
  out.set(iv, head);
  out.set(ct, head + IV_BYTES);
  return out;
}

async function open(key: CryptoKey, sealed: Uint8Array, aad: string, magic: boolean): Promise<Uint8Array> {
  const head = magic ? SEAL_MAGIC.length : 0;
  if (sealed.length < head + IV_BYTES + 16 || (magic && SEAL_MAGIC.some((b, i) => sealed[i] !== b)))
    throw new ListKeyError(`sealed value at ${aad} is malformed`);
  try {
    const iv = buf(sealed.subarray(head, head + IV_BYTES));
    const pt = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv, additionalData: enc.encode(aad) },
      key,
      buf(sealed.subarray(head + IV_BYTES)),
    );
    return new Uint8Array(pt);
  } catch {
    throw new ListKeyError(`sealed value at ${aad} failed authentication (wrong key, or altered)`);
  }
}

export function toBase64Url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function fromBase64Url(text: string): Uint8Array {
  const s = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** The keys a reader holds: the current secret, and during a rotation the previous one. */
export class ListKeyring<K extends ListKey = ListKey> {
  readonly current: K;
  private readonly byId: Map<string, K>;

  constructor(current: K, previous?: K) {
    this.current = current;
    this.byId = new Map([[current.id, current]]);
    if (previous && previous.id !== current.id) this.byId.set(previous.id, previous);
  }

  /** The key a list version was published with; throws when this keyring does not hold it. */
  forId(keyId: string | undefined, what: string): K {
    const k = keyId ? this.byId.get(keyId) : undefined;
    if (!k)
      throw new ListKeyError(
        keyId
          ? `${what} is keyed with key id ${keyId}, which neither the current nor the previous list secret has`
          : `${what} was published without a list key: re-import it`,
      );
    return k;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }
}

/** A keyring from the two secret strings (current required, previous optional). */
export async function keyringFromSecrets<K extends ListKey>(
  make: (d: DerivedListKey) => K,
  current: string | undefined,
  previous?: string,
): Promise<ListKeyring<K>> {
  const cur = make(await deriveListKey(current));
  return new ListKeyring(cur, previous ? make(await deriveListKey(previous)) : undefined);
}
