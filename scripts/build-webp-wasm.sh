#!/bin/sh
# Builds wasm/libwebp/webp-decode.wasm: libwebp's decoder and demuxer with hashgate's patches
# (wasm/libwebp/patches) plus hashgate's glue (wasm/libwebp/hashgate_webp.c), as a standalone
# WebAssembly module with no JavaScript runtime (src/image/webp-codec.ts instantiates it in
# workerd and in Node).
#
# CI has no Emscripten, so the built module is committed; this script reproduces it:
#   apt-get install emscripten            # Debian bookworm: emcc 3.1.6 (3.1.6~dfsg-5)
#   git clone https://github.com/webmproject/libwebp && git -C libwebp checkout v1.6.0
#   scripts/build-webp-wasm.sh path/to/libwebp
# With the same emcc and sources the output is byte-identical (checked by building twice; the
# script prints the SHA-256 to compare with wasm/libwebp/README.md).
set -eu

LIBWEBP_TAG=v1.6.0
LIBWEBP_COMMIT=4fa21912338357f89e4fd51cf2368325b59e9bd9
EMCC_VERSION=3.1.6

SRC=${1:?usage: scripts/build-webp-wasm.sh <libwebp source tree at $LIBWEBP_TAG ($LIBWEBP_COMMIT)>}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/wasm/libwebp/webp-decode.wasm"

EMCC_HAVE=$(emcc --version | sed -n 1p)
case "$EMCC_HAVE" in *" $EMCC_VERSION "*) ;; *) echo "need emcc $EMCC_VERSION, have: $EMCC_HAVE" >&2; exit 1 ;; esac
grep -q "WEBP_DECODER_ABI_VERSION 0x0210" "$SRC/src/webp/decode.h" ||
  { echo "$SRC does not look like libwebp $LIBWEBP_TAG" >&2; exit 1; }

# Decoder, demuxer and the DSP/utils files the decoder uses (libwebp's makefile.unix lists:
# DEC_OBJS, DEMUX_OBJS without the animation decoder, DSP_DEC_OBJS and UTILS_DEC_OBJS). The
# SSE2 variants are built through Emscripten's SSE2-to-WebAssembly-SIMD headers (-msse2
# -msimd128; libwebp's cpu.c reports SSE2 under Emscripten when compiled with it): workerd and
# Node 22 run WebAssembly SIMD. The other architectures' variants are left out.
FILES=$(cd "$SRC" && ls src/dec/*.c src/demux/demux.c \
  src/dsp/alpha_processing.c src/dsp/cpu.c src/dsp/dec.c src/dsp/dec_clip_tables.c \
  src/dsp/filters.c src/dsp/lossless.c src/dsp/rescaler.c src/dsp/upsampling.c src/dsp/yuv.c \
  src/dsp/alpha_processing_sse2.c src/dsp/dec_sse2.c src/dsp/filters_sse2.c src/dsp/lossless_sse2.c \
  src/dsp/rescaler_sse2.c src/dsp/upsampling_sse2.c src/dsp/yuv_sse2.c \
  src/utils/bit_reader_utils.c src/utils/color_cache_utils.c src/utils/filters_utils.c \
  src/utils/huffman_utils.c src/utils/palette.c src/utils/quant_levels_dec_utils.c \
  src/utils/random_utils.c src/utils/rescaler_utils.c src/utils/thread_utils.c src/utils/utils.c)

EXPORTS=_hg_malloc,_hg_free,_hg_features,_hg_decode,_hg_decode_peak,_hg_demux_new,_hg_demux_delete,_hg_demux_info,_hg_demux_frame

# hashgate's patches (wasm/libwebp/patches/*.patch, each explained in wasm/libwebp/README.md) are
# applied to a copy of the sources, so the tree given stays as checked out.
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -R "$SRC/src" "$WORK/src"
for PATCH in "$ROOT"/wasm/libwebp/patches/*.patch; do
  [ -e "$PATCH" ] || continue
  patch --quiet --forward --fuzz=0 -p1 -d "$WORK" <"$PATCH" || { echo "cannot apply $PATCH" >&2; exit 1; }
done

cd "$WORK"
# STANDALONE_WASM + --no-entry: no JS glue; the module imports nothing but what the loader
# stubs. The heap starts at 1 MiB and grows on demand (never above 2 GiB); 128 KiB of stack.
# Paths are relative so that the build directory does not reach the output.
emcc -O3 -flto -msimd128 -msse2 -DNDEBUG -I. -I"$ROOT/wasm/libwebp" $FILES "$ROOT/wasm/libwebp/hashgate_webp.c" \
  -o "$OUT" \
  -s STANDALONE_WASM=1 --no-entry \
  -s EXPORTED_FUNCTIONS=$EXPORTS \
  -s MALLOC=emmalloc -s ALLOW_MEMORY_GROWTH=1 -s INITIAL_MEMORY=1MB -s MAXIMUM_MEMORY=2GB \
  -s TOTAL_STACK=128KB -s FILESYSTEM=0 -s ASSERTIONS=0 -s ABORTING_MALLOC=0

echo "built $OUT ($(wc -c <"$OUT") bytes) from libwebp $LIBWEBP_TAG with emcc $EMCC_VERSION"
sha256sum "$OUT"
