// hashgate's glue to libwebp's decoder and demuxer, built to WebAssembly by
// scripts/build-webp-wasm.sh. It exposes what the gate needs and nothing else: the bitstream's
// features, a decode straight to a requested (reduced) size through libwebp's row rescaler, and
// the frames of an animation with their placement. Memory is malloc'd in the module's own
// linear memory; the caller (src/image/webp-codec.ts) frees what it allocates.
//
// Every allocation goes through a counting allocator (over Emscripten's emmalloc) so that a
// decode has a hard ceiling: hg_decode is given the bytes the gate reserved for libwebp's work,
// and an allocation that would take libwebp's live bytes past them fails, which libwebp reports
// as VP8_STATUS_OUT_OF_MEMORY. Without it a small lossless file whose meta-Huffman image names
// tens of thousands of groups makes libwebp allocate their tables up front, about 12 KiB each:
// most of a gigabyte of linear memory, far past the isolate's memory.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/webp/decode.h"
#include "src/webp/demux.h"

void* emmalloc_malloc(size_t size);
void emmalloc_free(void* ptr);

// Each block carries its size in a header of its own, 16 bytes so that the block keeps
// emmalloc's alignment: emmalloc's usable size of a live block can differ from what it was when
// allocated (counting by it drifted below zero in our tests).
#define SIZE_HEADER 16

// Bytes held by live blocks (headers included), the most allowed (SIZE_MAX: no ceiling), the
// most held since the running hg_decode began, and what the last one used beyond its start.
static size_t live_bytes;
static size_t ceiling_bytes = SIZE_MAX;
static size_t peak_bytes;
static size_t last_decode_bytes;

// Strong definitions: emmalloc's malloc, calloc, realloc and free are weak.
void* malloc(size_t size) {
  if (size > SIZE_MAX - SIZE_HEADER) return NULL;
  const size_t block = size + SIZE_HEADER;
  if (live_bytes > ceiling_bytes || block > ceiling_bytes - live_bytes) return NULL;
  uint8_t* const base = emmalloc_malloc(block);
  if (base == NULL) return NULL;
  *(size_t*)base = block;
  live_bytes += block;
  if (live_bytes > peak_bytes) peak_bytes = live_bytes;
  return base + SIZE_HEADER;
}

void free(void* ptr) {
  if (ptr == NULL) return;
  uint8_t* const base = (uint8_t*)ptr - SIZE_HEADER;
  live_bytes -= *(size_t*)base;
  emmalloc_free(base);
}

void* calloc(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) return NULL;
  void* const ptr = malloc(count * size);
  if (ptr != NULL) memset(ptr, 0, count * size);
  return ptr;
}

void* realloc(void* ptr, size_t size) {
  if (ptr == NULL) return malloc(size);
  void* const moved = malloc(size);
  if (moved == NULL) return NULL;
  const size_t old = *(size_t*)((uint8_t*)ptr - SIZE_HEADER) - SIZE_HEADER;
  memcpy(moved, ptr, old < size ? old : size);
  free(ptr);
  return moved;
}

void* hg_malloc(size_t size) { return malloc(size); }
void hg_free(void* ptr) { free(ptr); }

// Bytes libwebp held at most during the last hg_decode, beyond what was live when it began.
size_t hg_decode_peak(void) { return last_decode_bytes; }

// out[0..4] = width, height, has_alpha, has_animation, format (0 mixed/undefined, 1 lossy,
// 2 lossless). Returns a VP8StatusCode (0 = OK).
int hg_features(const uint8_t* data, size_t size, int32_t* out) {
  WebPBitstreamFeatures f;
  const VP8StatusCode status = WebPGetFeatures(data, size, &f);
  if (status != VP8_STATUS_OK) return status;
  out[0] = f.width;
  out[1] = f.height;
  out[2] = f.has_alpha;
  out[3] = f.has_animation;
  out[4] = f.format;
  return VP8_STATUS_OK;
}

// Decodes a still bitstream (RIFF file, or one frame's ALPH/VP8/VP8L chunks) into `out`,
// width x height pixels of RGB (rgba = 0) or RGBA (rgba = 1), rescaled while decoding when the
// size differs from the bitstream's: lossy images are then never held at full size. libwebp may
// hold at most `work_limit` bytes while it decodes (above).
static int decode(const uint8_t* data, size_t size, int width, int height, int rgba, uint8_t* out) {
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return VP8_STATUS_INVALID_PARAM;
  const VP8StatusCode features = WebPGetFeatures(data, size, &config.input);
  if (features != VP8_STATUS_OK) return features;
  if (width != config.input.width || height != config.input.height) {
    config.options.use_scaling = 1;
    config.options.scaled_width = width;
    config.options.scaled_height = height;
  }
  const int channels = rgba ? 4 : 3;
  config.output.colorspace = rgba ? MODE_RGBA : MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = out;
  config.output.u.RGBA.stride = width * channels;
  config.output.u.RGBA.size = (size_t)width * channels * height;
  const VP8StatusCode status = WebPDecode(data, size, &config);
  WebPFreeDecBuffer(&config.output);
  return status;
}

int hg_decode(const uint8_t* data, size_t size, int width, int height, int rgba, uint8_t* out,
              size_t work_limit) {
  const size_t base = live_bytes;
  ceiling_bytes = work_limit > SIZE_MAX - base ? SIZE_MAX : base + work_limit;
  peak_bytes = base;
  const int status = decode(data, size, width, height, rgba, out);
  ceiling_bytes = SIZE_MAX;
  last_decode_bytes = peak_bytes - base;
  return status;
}

// A demuxer over a whole file (NULL when the container is invalid or incomplete). The file's
// bytes must stay allocated until hg_demux_delete.
WebPDemuxer* hg_demux_new(const uint8_t* data, size_t size) {
  WebPData webp = {data, size};
  return WebPDemux(&webp);
}

void hg_demux_delete(WebPDemuxer* demux) { WebPDemuxDelete(demux); }

// out[0..3] = canvas width, canvas height, frame count, background colour (as stored: B,G,R,A
// bytes of a little-endian uint32).
void hg_demux_info(const WebPDemuxer* demux, uint32_t* out) {
  out[0] = WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH);
  out[1] = WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT);
  out[2] = WebPDemuxGetI(demux, WEBP_FF_FRAME_COUNT);
  out[3] = WebPDemuxGetI(demux, WEBP_FF_BACKGROUND_COLOR);
}

// Frame `n` (1-based). out[0..9] = x, y, width, height, duration (ms), dispose (1 = to
// background), blend (1 = no blend), has_alpha, bitstream pointer, bitstream size.
// Returns 0 when there is no such frame or it is incomplete.
int hg_demux_frame(const WebPDemuxer* demux, int n, int32_t* out) {
  WebPIterator it;
  if (!WebPDemuxGetFrame(demux, n, &it)) return 0;
  const int complete = it.complete;
  out[0] = it.x_offset;
  out[1] = it.y_offset;
  out[2] = it.width;
  out[3] = it.height;
  out[4] = it.duration;
  out[5] = it.dispose_method == WEBP_MUX_DISPOSE_BACKGROUND;
  out[6] = it.blend_method == WEBP_MUX_NO_BLEND;
  out[7] = it.has_alpha;
  out[8] = (int32_t)(uintptr_t)it.fragment.bytes;
  out[9] = (int32_t)it.fragment.size;
  WebPDemuxReleaseIterator(&it);
  return complete;
}
