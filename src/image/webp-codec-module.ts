// Worker-only: imported lazily by webp-codec.ts inside workerd, never under Node (Node cannot
// import .wasm files as modules; the CLI compiles the same file from its bytes instead).
import webpDecodeWasm from "../../wasm/libwebp/webp-decode.wasm";

export const WEBP_DECODE_MODULE: WebAssembly.Module = webpDecodeWasm;
