// The jSquash codec builds ship their .wasm files; in the Worker bundle they are imported as
// compiled modules (wrangler's CompiledWasm rule), never compiled from bytes at run time.
declare module "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
