// hashgate's glue to libwebp's decoder and demuxer, built to WebAssembly by
// scripts/build-webp-wasm.sh. It exposes what the gate needs and nothing else: the bitstream's
// features, a decode straight to a requested (reduced) size through libwebp's row rescaler, and
// the frames of an animation with their placement. Memory is malloc'd in the module's own
// linear memory; the caller (src/image/webp-codec.ts) frees what it allocates.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/webp/decode.h"
#include "src/webp/demux.h"

void* hg_malloc(size_t size) { return malloc(size); }
void hg_free(void* ptr) { free(ptr); }

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
// size differs from the bitstream's: lossy images are then never held at full size.
int hg_decode(const uint8_t* data, size_t size, int width, int height, int rgba, uint8_t* out) {
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
