import type { AuthVariables } from "../auth/middleware.ts";
import type { Env } from "../env.ts";

/** Hono generics of the review app. */
export interface ReviewBindings {
  Bindings: Env;
  Variables: AuthVariables;
}
