/// <reference path="./wasm-codec-modules.d.ts" />
// Worker-only: imported lazily by wasm-codec.ts inside workerd, never under Node (Node cannot
// import .wasm files as modules; the CLI compiles the same files from their bytes instead).
import avifWasm from "@jsquash/avif/codec/dec/avif_dec.wasm";
import jpegWasm from "@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm";

export const CODEC_MODULES = { jpeg: jpegWasm, avif: avifWasm };
