// Worker-only: imported lazily by av1-codec.ts inside workerd, never under Node (Node cannot
// import .wasm files as modules; the CLI compiles the same file from its bytes instead).
import av1DecodeWasm from "../../wasm/dav1d/av1-decode.wasm";

export const AV1_DECODE_MODULE: WebAssembly.Module = av1DecodeWasm;
