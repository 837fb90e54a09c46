declare module "@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
declare module "@jsquash/webp/codec/enc/webp_enc.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
declare module "@jsquash/avif/codec/enc/avif_enc.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
declare module "@jsquash/avif/codec/dec/avif_dec.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
