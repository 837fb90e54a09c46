/// <reference path="./wasm-codec-modules.d.ts" />
// Worker-only: imported lazily by wasm-codec.ts inside workerd, never under Node (Node cannot
// import .wasm files as modules; the CLI compiles the same file from their bytes instead).
import jpegWasm from "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";

export const CODEC_MODULES = { jpeg: jpegWasm };
