/**
 * The Worker's list keyring: LIST_KEY (current) and LIST_KEY_PREVIOUS (only during a rotation;
 * README "Rotating the list secret"), derived once per isolate and secret pair.
 */
import { deriveListKey, ListKey, ListKeyError, ListKeyring } from "./keyring.ts";

/** The variables it reads (a subset of Env, so the admin API and gate share it). */
export interface ListKeyEnv {
  LIST_KEY?: string;
  LIST_KEY_PREVIOUS?: string;
}

const cache = new Map<string, Promise<ListKeyring>>();

/** The keyring of `env`; rejects (ListKeyError) when LIST_KEY is unset or too short. */
export function listKeyring(env: ListKeyEnv): Promise<ListKeyring> {
  const id = `${env.LIST_KEY ?? ""}\u0000${env.LIST_KEY_PREVIOUS ?? ""}`;
  let k = cache.get(id);
  if (!k) {
    k = (async () => {
      if (!env.LIST_KEY) throw new ListKeyError("LIST_KEY is not set (wrangler secret put LIST_KEY)");
      const current = new ListKey(await deriveListKey(env.LIST_KEY));
      const previous = env.LIST_KEY_PREVIOUS
        ? new ListKey(await deriveListKey(env.LIST_KEY_PREVIOUS))
        : undefined;
      return new ListKeyring(current, previous);
    })();
    // Secrets change only with a new deployment (a new isolate); a failure is not cached.
    k.catch(() => cache.delete(id));
    cache.set(id, k);
  }
  return k;
}
