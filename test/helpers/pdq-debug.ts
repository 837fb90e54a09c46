/**
 * The PDQ core built with its stage accessors (wasm/assembly/debug.ts → wasm/build/core.debug.wasm,
 * made by `npm run build:wasm`), for tests that compare the hash's intermediate stages. The
 * deployed core (src/pdq/worker.ts) does not export them.
 */

import { PdqHasher } from "../../src/pdq/core.ts";
import debugCore from "../../wasm/build/core.debug.wasm";

export const debugCoreModule: WebAssembly.Module = debugCore;

let hasher: PdqHasher | undefined;

/** One hasher on the debug core, reused across tests like the Worker's. */
export function stagesHasher(): PdqHasher {
  hasher ??= PdqHasher.fromModule(debugCore);
  return hasher;
}
