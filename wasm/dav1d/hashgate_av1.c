// hashgate's glue to dav1d's AV1 decoder, built to WebAssembly by scripts/build-dav1d-wasm.sh.
// It exposes what the gate needs and nothing else: a decoder that takes one sample (temporal
// unit) of AV1 OBUs at a time and gives each picture it outputs, and a canvas that receives a
// picture converted from YUV to 8-bit RGB row by row and area-averaged straight into the PDQ
// working size (the cells of src/image/downscale.ts's plan), so that no full-size image ever
// exists: the only full-size buffers are dav1d's own YUV planes. What is kept per pixel is the
// luminance PDQ hashes (0.299 R + 0.587 G + 0.114 B of the pixel's RGB, clamped as an RGB
// decoder would), as the gate's JPEG and GIF decoders give it.
// Memory is malloc'd in the module's own linear memory; src/image/av1-codec.ts frees it.
//
// Every allocation goes through a counting allocator (over Emscripten's emmalloc) so that an open
// decoder has a hard ceiling: hg_av1_open is given the bytes the gate reserved for dav1d's work,
// and an allocation that would take the bytes live since the open past them fails, which dav1d
// reports as ENOMEM. The ceiling covers the decoder's whole life, not one call: dav1d's picture
// pools keep freed frame buffers allocated until dav1d_close, so a sequence whose frames change
// size (or a stream that makes dav1d hold more pictures than the reservation assumed) runs into
// it rather than into the isolate's memory. frame_size_limit alone bounds each picture, not
// how many are kept.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dav1d/dav1d.h"

// dav1d calls abort() on a broken internal invariant, and libc's abort() and exit() end in
// _Exit(), which would import WASI's proc_exit: it traps here instead, so the module imports
// nothing but what the WebP module imports (the caller drops a trapped instance).
_Noreturn void _Exit(int status) {
  (void)status;
  __builtin_trap();
}

// ---- counting allocator ---------------------------------------------------------------------

void* emmalloc_memalign(size_t alignment, size_t size);
void emmalloc_free(void* ptr);

// Each block carries a header of its own in front of the pointer handed out: its size (header
// included) and the distance back to emmalloc's block, in the two words just before the
// pointer. The header is 16 bytes (emmalloc's alignment), or the alignment asked for when that
// is larger (dav1d asks for 64), so the pointer after it keeps the block's alignment. The size
// is kept rather than asked of emmalloc: its usable size of a live block can change (the WebP
// glue's counting drifted below zero by it).
#define MIN_HEADER 16

// Bytes held by live blocks (headers included), the most allowed (SIZE_MAX: no ceiling), the
// most held since the open decoder began, and that peak beyond its start once it closed.
static size_t live_bytes;
static size_t ceiling_bytes = SIZE_MAX;
static size_t peak_bytes;
static size_t open_base_bytes;

static void* counted_alloc(size_t alignment, size_t size) {
  const size_t header = alignment > MIN_HEADER ? alignment : MIN_HEADER;
  if (size > SIZE_MAX - header) return NULL;
  const size_t block = size + header;
  if (live_bytes > ceiling_bytes || block > ceiling_bytes - live_bytes) return NULL;
  uint8_t* const base = emmalloc_memalign(header, block);
  if (base == NULL) return NULL;
  size_t* const words = (size_t*)(base + header) - 2;
  words[0] = block;
  words[1] = header;
  live_bytes += block;
  if (live_bytes > peak_bytes) peak_bytes = live_bytes;
  return base + header;
}

static size_t block_bytes(const void* ptr) { return ((const size_t*)ptr)[-2]; }

// Strong definitions: emmalloc's are weak. dav1d allocates its buffers with posix_memalign and
// frees them with free.
void* malloc(size_t size) { return counted_alloc(MIN_HEADER, size); }

void free(void* ptr) {
  if (ptr == NULL) return;
  live_bytes -= block_bytes(ptr);
  emmalloc_free((uint8_t*)ptr - ((const size_t*)ptr)[-1]);
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
  const size_t old = block_bytes(ptr) - ((const size_t*)ptr)[-1];
  memcpy(moved, ptr, old < size ? old : size);
  free(ptr);
  return moved;
}

static int power_of_two(size_t n) { return n != 0 && (n & (n - 1)) == 0; }

int posix_memalign(void** out, size_t alignment, size_t size) {
  if (!power_of_two(alignment) || alignment % sizeof(void*) != 0) return EINVAL;
  void* const ptr = counted_alloc(alignment, size);
  if (ptr == NULL) return ENOMEM;
  *out = ptr;
  return 0;
}

void* memalign(size_t alignment, size_t size) {
  if (!power_of_two(alignment)) {
    errno = EINVAL;
    return NULL;
  }
  return counted_alloc(alignment, size);
}

void* aligned_alloc(size_t alignment, size_t size) { return memalign(alignment, size); }

void* hg_malloc(size_t size) { return malloc(size); }
void hg_free(void* ptr) { free(ptr); }

// Bytes the last closed decoder held at most beyond what was live when it opened (all of its
// allocations, and whatever else was allocated while it was open).
static size_t last_decoder_bytes;
size_t hg_av1_peak(void) { return last_decoder_bytes; }

// ---- decoder --------------------------------------------------------------------------------

typedef struct {
  Dav1dContext* ctx;
  Dav1dPicture pic;  // the picture last returned by hg_av1_next (pic.data[0] NULL when none)
} Decoder;

static void clear_ceiling(void) {
  ceiling_bytes = SIZE_MAX;
  last_decoder_bytes = peak_bytes - open_base_bytes;
}

// A decoder refusing frames above `frame_size_limit` pixels, under which every allocation made
// while it is open may hold at most `work_limit` bytes beyond what was live at the open (its
// context included), until hg_av1_close. One decoder is open at a time (the caller ensures it).
Decoder* hg_av1_open(unsigned frame_size_limit, size_t work_limit) {
  open_base_bytes = live_bytes;
  peak_bytes = live_bytes;
  ceiling_bytes = work_limit > SIZE_MAX - live_bytes ? SIZE_MAX : live_bytes + work_limit;
  Dav1dSettings s;
  dav1d_default_settings(&s);
  s.n_threads = 1;
  s.max_frame_delay = 1;
  s.apply_grain = 0;
  s.all_layers = 0;  // the highest spatial layer only, as AVIF readers show it
  s.frame_size_limit = frame_size_limit;
  Decoder* d = calloc(1, sizeof(Decoder));
  if (d && dav1d_open(&d->ctx, &s) < 0) {
    free(d);
    d = NULL;
  }
  if (!d) clear_ceiling();
  return d;
}

void hg_av1_close(Decoder* d) {
  if (!d) return;
  dav1d_picture_unref(&d->pic);
  dav1d_close(&d->ctx);
  free(d);
  clear_ceiling();
}

static void free_sample(const uint8_t* data, void* cookie) {
  (void)cookie;
  free((void*)data);
}

// Sends one sample (a temporal unit's OBUs) and fetches the next picture, as libavif drives
// dav1d. `data` comes from hg_malloc and is handed over: dav1d may keep unparsed bytes past the
// call, and frees the buffer once it is done with it (so it is never copied a second time).
// Returns 1 when a picture is held (read it with hg_av1_info), 0 when the sample gave none yet,
// or a negative errno from dav1d (-EINVAL: invalid data, -ENOMEM, -ENOPROTOOPT: unsupported).
int hg_av1_decode(Decoder* d, uint8_t* data, size_t size) {
  dav1d_picture_unref(&d->pic);
  Dav1dData in;
  if (dav1d_data_wrap(&in, data, size, free_sample, NULL) < 0) {
    free(data);
    return -EINVAL;
  }
  int res;
  for (int sent = 0;; sent = 1) {
    int sending = 0;
    if (in.sz > 0) {
      res = dav1d_send_data(d->ctx, &in);
      if (res < 0 && res != DAV1D_ERR(EAGAIN)) break;
      sending = res == DAV1D_ERR(EAGAIN);
    }
    res = dav1d_get_picture(d->ctx, &d->pic);
    // A decoder that refuses input yet has no output would loop: the data is invalid.
    if (res == DAV1D_ERR(EAGAIN) && sending && sent) res = DAV1D_ERR(EINVAL);
    else if (res == DAV1D_ERR(EAGAIN) && in.sz > 0) continue;
    if (res == DAV1D_ERR(EAGAIN)) res = 0;
    else if (res == 0) res = 1;
    break;
  }
  dav1d_data_unref(&in);
  return res;
}

// Drains a picture still held inside the decoder after the last sample (1, 0 or -errno).
int hg_av1_drain(Decoder* d) {
  dav1d_picture_unref(&d->pic);
  const int res = dav1d_get_picture(d->ctx, &d->pic);
  if (res == DAV1D_ERR(EAGAIN)) return 0;
  return res < 0 ? res : 1;
}

// out[0..5] = width, height, bits per component, layout (0 4:0:0, 1 4:2:0, 2 4:2:2, 3 4:4:4),
// the sequence header's matrix coefficients and colour range (1 = full).
void hg_av1_info(const Decoder* d, int32_t* out) {
  out[0] = d->pic.p.w;
  out[1] = d->pic.p.h;
  out[2] = d->pic.p.bpc;
  out[3] = d->pic.p.layout;
  out[4] = d->pic.seq_hdr ? (int32_t)d->pic.seq_hdr->mtrx : 2;
  out[5] = d->pic.seq_hdr ? d->pic.seq_hdr->color_range : 0;
}

// ---- canvas ---------------------------------------------------------------------------------

// Luminance is carried in units of 2^-24 of a level: R, G and B in 1/256 of a level (0..65280)
// times 16-bit weights summing to 65536 (0.299, 0.587, 0.114), which fits 32 bits per pixel.
#define LEVEL 256
#define WR 19595
#define WG 38470
#define WB 7471
#define LUMA_SHIFT 24

// An output image of out_w x out_h cells over a source canvas of src_w x src_h pixels: source
// column x lands in cell floor(x * x_num / x_den), rows likewise (downscale.ts's ScalePlan).
// When the plan is the identity, each pixel's luminance is written straight through; otherwise
// each cell sums its pixels' (64-bit sums).
typedef struct {
  int src_w, src_h, out_w, out_h;
  int* col_cell;   // src_w entries: the cell column of each source column
  int* row_cell;   // src_h entries
  int* col_count;  // out_w entries: source columns per cell column
  int* row_count;  // out_h entries
  uint64_t* sums;  // out_w * out_h, NULL for the identity
  uint8_t* grey;   // out_w * out_h: the result
  uint32_t* line;  // one converted source row (src_w)
} Canvas;

static int cell_of(int s, int num, int den, int cells) {
  const int c = (int)(((int64_t)s * num) / den);
  return c < cells ? c : cells - 1;
}

void hg_canvas_free(Canvas* c) {
  if (!c) return;
  free(c->col_cell);
  free(c->row_cell);
  free(c->col_count);
  free(c->row_count);
  free(c->sums);
  free(c->grey);
  free(c->line);
  free(c);
}

Canvas* hg_canvas_new(int src_w, int src_h, int out_w, int out_h, int x_num, int x_den, int y_num,
                      int y_den) {
  Canvas* c = calloc(1, sizeof(Canvas));
  if (!c) return NULL;
  c->src_w = src_w;
  c->src_h = src_h;
  c->out_w = out_w;
  c->out_h = out_h;
  const int identity = src_w == out_w && src_h == out_h;
  c->col_cell = malloc(sizeof(int) * src_w);
  c->row_cell = malloc(sizeof(int) * src_h);
  c->col_count = calloc(out_w, sizeof(int));
  c->row_count = calloc(out_h, sizeof(int));
  c->grey = calloc((size_t)out_w * out_h, 1);
  c->line = malloc(sizeof(uint32_t) * src_w);
  c->sums = identity ? NULL : calloc((size_t)out_w * out_h, sizeof(uint64_t));
  if (!c->col_cell || !c->row_cell || !c->col_count || !c->row_count || !c->grey || !c->line ||
      (!identity && !c->sums)) {
    hg_canvas_free(c);
    return NULL;
  }
  for (int x = 0; x < src_w; x++) c->col_count[c->col_cell[x] = cell_of(x, x_num, x_den, out_w)]++;
  for (int y = 0; y < src_h; y++) c->row_count[c->row_cell[y] = cell_of(y, y_num, y_den, out_h)]++;
  return c;
}

// ---- YUV to luminance -----------------------------------------------------------------------

// Per-sample contributions in 1/256 of a level, for one picture's depth, range and matrix:
// R = Y' + rv[Cr], G = Y' - gu[Cb] - gv[Cr], B = Y' + bu[Cb], with Y', Cb, Cr normalised from
// the coded range (ITU-T H.273's equations for the Kr/Kb matrices), scaled to 0..255.
typedef struct {
  int32_t y[4096], rv[4096], gu[4096], gv[4096], bu[4096];
  int mode;  // 0 Kr/Kb matrix, 1 identity (GBR), 2 YCgCo, 3 monochrome
} Tables;

static Tables tables;

// Kr and Kb by matrix coefficients (H.273 table 4); unspecified and anything without its own
// pair as BT.601, as libavif converts them. Chromaticity-derived matrices use BT.709's pair.
static void kr_kb(int mc, double* kr, double* kb) {
  switch (mc) {
    case 1: case 12: case 13: *kr = 0.2126; *kb = 0.0722; return;
    case 4: *kr = 0.30; *kb = 0.11; return;
    case 7: *kr = 0.212; *kb = 0.087; return;
    case 9: case 10: *kr = 0.2627; *kb = 0.0593; return;
    default: *kr = 0.299; *kb = 0.114; return;
  }
}

static int32_t fixed(double v) { return (int32_t)(v * 255.0 * LEVEL + (v < 0 ? -0.5 : 0.5)); }

static void build_tables(int bpc, int layout, int mc, int full_range) {
  const int max = (1 << bpc) - 1;
  const double shift = (double)(1 << (bpc - 8));
  const double y_off = full_range ? 0 : 16 * shift;
  const double y_span = full_range ? max : 219 * shift;
  const double c_mid = (double)(1 << (bpc - 1));
  const double c_span = full_range ? max : 224 * shift;
  double kr, kb;
  kr_kb(mc, &kr, &kb);
  const double kg = 1 - kr - kb;
  tables.mode = layout == DAV1D_PIXEL_LAYOUT_I400 ? 3 : mc == 0 ? 1 : mc == 8 ? 2 : 0;
  for (int v = 0; v <= max; v++) {
    const double y = (v - y_off) / y_span;
    const double c = (v - c_mid) / c_span;
    tables.y[v] = fixed(y);
    if (tables.mode == 2) {
      // YCgCo: G = Y + Cg, R = Y - Cg + Co, B = Y - Cg - Co (Cg in U, Co in V).
      tables.gu[v] = fixed(c);
      tables.rv[v] = fixed(c);
    } else {
      tables.rv[v] = fixed(2 * (1 - kr) * c);
      tables.gu[v] = fixed(2 * kb * (1 - kb) / kg * c);
      tables.gv[v] = fixed(2 * kr * (1 - kr) / kg * c);
      tables.bu[v] = fixed(2 * (1 - kb) * c);
    }
  }
}

static inline uint32_t clamp_level(int32_t v) {
  return v < 0 ? 0 : v > 255 * LEVEL ? 255 * LEVEL : (uint32_t)v;
}

static inline uint32_t luma(int32_t r, int32_t g, int32_t b) {
  return WR * clamp_level(r) + WG * clamp_level(g) + WB * clamp_level(b);
}

// One picture row to luminance (chroma of subsampled layouts from its co-sited sample). Samples
// above the depth's maximum (invalid for dav1d's output) are clamped to index the tables.
#define CONVERT_ROW(T)                                                                           \
  static void convert_row_##T(const T* yr, const T* ur, const T* vr, int w, int ss_x, int max,  \
                              uint32_t* out) {                                                   \
    const int mode = tables.mode;                                                                \
    for (int x = 0; x < w; x++) {                                                                \
      const int32_t y = tables.y[yr[x] > max ? max : yr[x]];                                     \
      if (mode == 3) {                                                                           \
        out[x] = (WR + WG + WB) * clamp_level(y);                                                \
        continue;                                                                                \
      }                                                                                          \
      const int u = ur[x >> ss_x] > max ? max : ur[x >> ss_x];                                   \
      const int v = vr[x >> ss_x] > max ? max : vr[x >> ss_x];                                   \
      if (mode == 0)                                                                             \
        out[x] = luma(y + tables.rv[v], y - tables.gu[u] - tables.gv[v], y + tables.bu[u]);      \
      else if (mode == 1) /* G, B, R coded as Y, U, V, each over the luma range */               \
        out[x] = luma(tables.y[v], y, tables.y[u]);                                              \
      else                                                                                       \
        out[x] = luma(y - tables.gu[u] + tables.rv[v], y + tables.gu[u],                         \
                      y - tables.gu[u] - tables.rv[v]);                                          \
    }                                                                                            \
  }
CONVERT_ROW(uint8_t)
CONVERT_ROW(uint16_t)

// Draws the held picture onto the canvas with its top-left corner at (x0, y0) of the source
// canvas (a grid tile's place), cropped to the canvas. `mc` and `full_range` are the colour
// description to use (the AVIF's colr box, else the sequence header's). Returns 0, or -1 when
// no picture is held or the place is outside the canvas.
int hg_av1_draw(const Decoder* d, Canvas* c, int x0, int y0, int mc, int full_range) {
  const Dav1dPicture* p = &d->pic;
  if (!p->data[0] || x0 < 0 || y0 < 0 || x0 >= c->src_w || y0 >= c->src_h) return -1;
  build_tables(p->p.bpc, p->p.layout, mc, full_range);
  const int ss_x = p->p.layout == DAV1D_PIXEL_LAYOUT_I420 || p->p.layout == DAV1D_PIXEL_LAYOUT_I422;
  const int ss_y = p->p.layout == DAV1D_PIXEL_LAYOUT_I420;
  const int w = x0 + p->p.w > c->src_w ? c->src_w - x0 : p->p.w;
  const int h = y0 + p->p.h > c->src_h ? c->src_h - y0 : p->p.h;
  const int max = (1 << p->p.bpc) - 1;
  uint32_t* line = c->line;
  for (int r = 0; r < h; r++) {
    const uint8_t* yr = (const uint8_t*)p->data[0] + (ptrdiff_t)r * p->stride[0];
    const uint8_t* ur = (const uint8_t*)p->data[1] + (ptrdiff_t)(r >> ss_y) * p->stride[1];
    const uint8_t* vr = (const uint8_t*)p->data[2] + (ptrdiff_t)(r >> ss_y) * p->stride[1];
    if (p->p.bpc == 8) convert_row_uint8_t(yr, ur, vr, w, ss_x, max, line);
    else
      convert_row_uint16_t((const uint16_t*)yr, (const uint16_t*)ur, (const uint16_t*)vr, w, ss_x,
                           max, line);
    if (!c->sums) {
      uint8_t* out = c->grey + (size_t)(y0 + r) * c->src_w + x0;
      for (int x = 0; x < w; x++) out[x] = (uint8_t)((line[x] + (1u << (LUMA_SHIFT - 1))) >> LUMA_SHIFT);
      continue;
    }
    uint64_t* sums = c->sums + (size_t)c->row_cell[y0 + r] * c->out_w;
    const int* cells = c->col_cell + x0;
    for (int x = 0; x < w; x++) sums[cells[x]] += line[x];
  }
  return 0;
}

// The canvas as 8-bit luminance: each cell the rounded mean of its pixels (cells no tile reached
// are 0). The sums are cleared, so the canvas can take the next picture.
const uint8_t* hg_canvas_finish(Canvas* c) {
  if (!c->sums) return c->grey;
  for (int oy = 0; oy < c->out_h; oy++) {
    for (int ox = 0; ox < c->out_w; ox++) {
      const uint64_t n = (uint64_t)c->row_count[oy] * (uint64_t)c->col_count[ox] << LUMA_SHIFT;
      const size_t i = (size_t)oy * c->out_w + ox;
      c->grey[i] = n ? (uint8_t)((c->sums[i] + n / 2) / n) : 0;
    }
  }
  memset(c->sums, 0, (size_t)c->out_w * c->out_h * sizeof(uint64_t));
  return c->grey;
}
