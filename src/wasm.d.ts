// Wrangler (and the Vitest pool) turn `import m from "./x.wasm"` into a compiled module.
declare module "*.wasm" {
  const mod: WebAssembly.Module;
  export default mod;
}
