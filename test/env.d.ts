// Values that test/node/global-setup.ts provides to the tests and to vitest.config.ts.
declare module "vitest" {
  interface ProvidedContext {
    originPort: number;
  }
}

export {};
