#!/bin/sh
# Builds wasm/dav1d/av1-decode.wasm: dav1d's AV1 decoder plus hashgate's glue
# (wasm/dav1d/hashgate_av1.c), as a standalone WebAssembly module with no JavaScript runtime
# (src/image/av1-codec.ts instantiates it in workerd and in Node).
#
# CI has no Emscripten, so the built module is committed; this script reproduces it:
#   apt-get install emscripten meson      # Debian bookworm: emcc 3.1.6 (3.1.6~dfsg-5)
#   git clone https://code.videolan.org/videolan/dav1d && git -C dav1d checkout 1.5.3
#   scripts/build-dav1d-wasm.sh path/to/dav1d
# With the same emcc and sources the output is byte-identical (checked by building twice; the
# script prints the SHA-256 to compare with wasm/dav1d/README.md).
set -eu

DAV1D_TAG=1.5.3
DAV1D_COMMIT=b546257f770768b2c88258c533da38b91a06f737
EMCC_VERSION=3.1.6

SRC=${1:?usage: scripts/build-dav1d-wasm.sh <dav1d source tree at $DAV1D_TAG ($DAV1D_COMMIT)>}
SRC=$(cd "$SRC" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${DAV1D_WASM_OUT:-"$ROOT/wasm/dav1d/av1-decode.wasm"}
# DAV1D_WASM_SIMD=1 builds with WebAssembly SIMD (-msimd128), DAV1D_WASM_OUT elsewhere (to compare).
SIMD=${DAV1D_WASM_SIMD:-0}

EMCC_HAVE=$(emcc --version | sed -n 1p)
case "$EMCC_HAVE" in *" $EMCC_VERSION "*) ;; *) echo "need emcc $EMCC_VERSION, have: $EMCC_HAVE" >&2; exit 1 ;; esac
grep -q "version: '$DAV1D_TAG'" "$SRC/meson.build" || { echo "$SRC does not look like dav1d $DAV1D_TAG" >&2; exit 1; }

BUILD=$(mktemp -d /tmp/dav1d-wasm.XXXXXX)
trap 'rm -rf "$BUILD"' EXIT
CFLAGS="'-O3'"
[ "$SIMD" = 1 ] && CFLAGS="'-O3', '-msimd128'"
cat >"$BUILD/emscripten.cross" <<CROSS
[binaries]
c = 'emcc'
ar = 'emar'

[built-in options]
c_args = [$CFLAGS]

[host_machine]
system = 'emscripten'
cpu_family = 'wasm32'
cpu = 'wasm32'
endian = 'little'
CROSS

# Static library, C only (no assembly: WebAssembly has none of dav1d's), 8- and 16-bit
# templates (10/12-bit pictures), no logging (it would write to stderr), no tools or tests.
meson setup "$BUILD/b" "$SRC" --cross-file "$BUILD/emscripten.cross" --buildtype=release \
  -Ddefault_library=static -Db_staticpic=false -Db_ndebug=true -Denable_asm=false \
  -Denable_tools=false -Denable_tests=false -Denable_examples=false -Dlogging=false \
  -Dbitdepths=8,16 >"$BUILD/meson.log"
# Meson compiles anything that uses threads with -pthread, which under Emscripten makes a
# shared-memory (SharedArrayBuffer) module. The gate runs dav1d with one thread (the glue sets
# n_threads = 1, so dav1d never starts one; libc's pthread stubs cover its mutex calls), so the
# flag is dropped from the generated build.
sed -i 's/ -pthread//g' "$BUILD/b/build.ninja"
ninja -C "$BUILD/b" src/libdav1d.a >"$BUILD/ninja.log"

EXPORTS=_hg_malloc,_hg_free,_hg_av1_peak,_hg_av1_open,_hg_av1_close,_hg_av1_decode,_hg_av1_drain,_hg_av1_info,_hg_canvas_new,_hg_canvas_free,_hg_av1_draw,_hg_canvas_finish
SIMD_FLAG=""
[ "$SIMD" = 1 ] && SIMD_FLAG=-msimd128

cd "$BUILD"
# STANDALONE_WASM + --no-entry: no JS glue; the module imports only
# env.emscripten_notify_memory_growth. The heap starts at 2 MiB and grows on demand (never
# above 2 GiB); dav1d decodes on the caller's stack (1 MiB, as dav1d gives its own threads).
emcc -O3 $SIMD_FLAG -DNDEBUG -I"$SRC/include" -Ib/include "$ROOT/wasm/dav1d/hashgate_av1.c" b/src/libdav1d.a \
  -o "$OUT" \
  -s STANDALONE_WASM=1 --no-entry \
  -s EXPORTED_FUNCTIONS=$EXPORTS \
  -s MALLOC=emmalloc -s ALLOW_MEMORY_GROWTH=1 -s INITIAL_MEMORY=2MB -s MAXIMUM_MEMORY=2GB \
  -s TOTAL_STACK=1MB -s FILESYSTEM=0 -s ASSERTIONS=0 -s ABORTING_MALLOC=0

echo "built $OUT ($(wc -c <"$OUT") bytes) from dav1d $DAV1D_TAG with emcc $EMCC_VERSION (simd=$SIMD)"
sha256sum "$OUT"
