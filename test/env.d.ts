// Values that test/node/global-setup.ts provides to the tests and to vitest.config.ts,
// and the bindings the tests see (wrangler.toml's plus test-only ones).
import type { Env as GateEnv } from "../src/env.ts";

declare module "vitest" {
  interface ProvidedContext {
    originPort: number;
  }
}

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import("../src/index.ts");
    }
    interface Env extends GateEnv {
      TEST_MIGRATIONS: import("cloudflare:test").D1Migration[];
    }
  }
}
