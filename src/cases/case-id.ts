/** Case ids: "hg_" + 10 Crockford base32 digits of milliseconds + 16 random digits (ULID layout), sortable by time. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

export function newCaseId(now = Date.now()): string {
  let time = "";
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const rand = crypto.getRandomValues(new Uint8Array(16));
  let tail = "";
  for (const b of rand) tail += ALPHABET[b % 32];
  return `hg_${time}${tail}`;
}

/** Case ids are safe as R2 key and URL segments; anything else is refused. */
export function isCaseId(s: string): boolean {
  return /^hg_[0-9A-HJKMNP-TV-Z]{26}$/.test(s);
}
