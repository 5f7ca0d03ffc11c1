/* Convolution as matrix products over gathered input patches ("im2col"), for nChw8c activations, any kernel size,
 * stride and padding. It runs the convolutions neither Winograd takes: ResNet's 1x1 shortcuts, 5x5 and 7x7 kernels,
 * batches too small for Winograd's weight transform; there oneDNN 2.6's AVX2 direct kernels reach about a third of
 * the FMA peak on this machine (~60 of ~200 GFLOP/s at 8x8 and 16x16 inputs), while the 6x16 matrix kernel of
 * gemm_panel.c stays near its best at any spatial size.
 *
 * A patch row holds, for one output pixel, the input under every kernel tap: depth = taps * C (C = in_c padded to
 * whole 8-channel blocks), ordered tap by tap so that each tap copies whole 8-channel registers.
 *   forward:          y[pixel][k]     = sum_d patch[pixel][d] * W[d][k]
 *   data gradient:    dpatch[pixel][d] = sum_k dy[pixel][k] * W[d][k], then added back onto the pixels it came from
 *   weight gradient:  dW[d][k]        += sum_pixel patch[pixel][d] * dy[pixel][k]
 * Each thread takes whole images (so the data gradient's overlapping patches add up in a fixed order, in one thread);
 * the weight gradient sums per thread and adds the threads' sums in thread order. */
#include "conv_gemm.h"
#include "conv_epilogue.h"

#include <stdlib.h>
#include <string.h>

#include "conv_scratch.h"
#include "gemm_panel.h"
#include "scan/error.h"

#ifndef __AVX2__
#error "the hand-written convolutions need AVX2 (CMakeLists.txt builds with -march=x86-64-v3)"
#endif
#include <immintrin.h>
#include <omp.h>

enum {
  LANES = 8,
  PANEL = GEMM_PANEL_WIDTH,
  ROWS = GEMM_PANEL_ROWS,
  SKEW = 16,                 /* floats added to every gathered row: rows a power of two bytes apart (a 512-channel
                                gradient row is 2 KB) would all fall into the same few cache sets */
  CHUNK_FLOATS = 64 * 1024,  /* a chunk of gathered patch rows: 256 KB, half of L2, next to one weight panel */
  MAX_CHUNK_ROWS = 96,
  DEPTH_SLICE = 256,         /* the forward product's depth per pass: a 256 x 16 weight slice is 16 KB, half of L1 */
  CHUNK_ROWS_WEIGHTS = 128,  /* the weight gradient's chunk: its per-thread sums are read and written once per chunk */
  MIN_IMAGES = 4,            /* images are the unit of parallel work */
  MAX_KERNEL = 7,
};

/* Rows: the output pixels of the whole batch, image by image (row q is pixel q % pixels of image q / pixels). A chunk
 * of rows may span images, so a layer with few pixels per image (4x4 at ResNet's last stage) still feeds the matrix
 * kernel many rows per pass over the weights. */
typedef struct {
  int n, in_h, in_w, out_h, out_w, kernel, stride, pad;
  int in_c, out_c;
  int in_blocks, out_blocks; /* nChw8c channel blocks */
  int c;                     /* in_c padded to whole blocks */
  int depth;                 /* taps * c: one patch row */
  int depth16;               /* depth rounded up to whole panels (columns of the data gradient's product) */
  int k16;                   /* out_c rounded up to whole panels */
  int pixels;                /* out_h * out_w */
  int patch_stride, gradient_stride, dpatch_stride; /* floats between gathered rows: depth, k16, depth16, skewed */
} geometry;

static geometry make_geometry(const scan_conv_shape *s) {
  geometry g = {.n = s->n, .in_h = s->in_h, .in_w = s->in_w, .out_h = s->out_h, .out_w = s->out_w, .kernel = s->kernel,
                .stride = s->stride, .pad = s->pad, .in_c = s->in_c, .out_c = s->out_c};
  g.in_blocks = (s->in_c + LANES - 1) / LANES;
  g.out_blocks = (s->out_c + LANES - 1) / LANES;
  g.c = g.in_blocks * LANES;
  g.depth = s->kernel * s->kernel * g.c;
  g.depth16 = (g.depth + PANEL - 1) / PANEL * PANEL;
  g.k16 = (s->out_c + PANEL - 1) / PANEL * PANEL;
  g.pixels = s->out_h * s->out_w;
  g.patch_stride = g.depth + SKEW;
  g.gradient_stride = g.k16 + SKEW;
  g.dpatch_stride = g.depth16 + SKEW;
  return g;
}

static int64_t in_plane(const geometry *g) { return (int64_t)g->in_h * g->in_w * LANES; }
static int64_t out_plane(const geometry *g) { return (int64_t)g->pixels * LANES; }

/* Rows per chunk for gathered rows of `stride` floats. */
static int chunk_rows(int stride) {
  const int rows = CHUNK_FLOATS / stride;
  return rows < ROWS ? ROWS : rows > MAX_CHUNK_ROWS ? MAX_CHUNK_ROWS : rows;
}

/* The rows of thread `thread` of `team`: whole images, contiguous, fixed by the team size. Whole images, because the
 * data gradient adds overlapping patches onto an image in row order, and only one thread may do that. */
static void thread_rows(const geometry *g, int thread, int team, int64_t *first, int64_t *end) {
  *first = (int64_t)g->n * thread / team * g->pixels;
  *end = (int64_t)g->n * (thread + 1) / team * g->pixels;
}

/* patch[r][tap * C + c] = x[image][c] under tap, for rows first .. first + count - 1 (zero outside the image). */
static void gather_patches(const geometry *g, const float *x, int64_t first, int count, float *patch) {
  const int64_t plane = in_plane(g);
  for (int r = 0; r < count; r++) {
    const int64_t q = first + r;
    const int p = (int)(q % g->pixels), oy = p / g->out_w, ox = p % g->out_w;
    const float *src_image = x + q / g->pixels * g->in_blocks * plane;
    float *row = patch + (int64_t)r * g->patch_stride;
    for (int ky = 0; ky < g->kernel; ky++) {
      const int iy = oy * g->stride - g->pad + ky;
      for (int kx = 0; kx < g->kernel; kx++) {
        const int ix = ox * g->stride - g->pad + kx;
        float *dst = row + (ky * g->kernel + kx) * g->c;
        if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) {
          memset(dst, 0, (size_t)g->c * sizeof *dst);
          continue;
        }
        const float *src = src_image + ((int64_t)iy * g->in_w + ix) * LANES;
        for (int cb = 0; cb < g->in_blocks; cb++) _mm256_storeu_ps(dst + cb * LANES, _mm256_loadu_ps(src + cb * plane));
      }
    }
  }
}

/* grad[r][k] = dy at row first + r, zero for k past the last block up to k16. */
static void gather_gradients(const geometry *g, const float *dy, int64_t first, int count, float *grad) {
  const int64_t plane = out_plane(g);
  for (int r = 0; r < count; r++) {
    const int64_t q = first + r;
    const float *src = dy + q / g->pixels * g->out_blocks * plane + q % g->pixels * LANES;
    float *row = grad + (int64_t)r * g->gradient_stride;
    for (int kb = 0; kb < g->out_blocks; kb++) _mm256_storeu_ps(row + kb * LANES, _mm256_loadu_ps(src + kb * plane));
    for (int k = g->out_blocks * LANES; k < g->k16; k++) row[k] = 0;
  }
}

/* dx += the patch gradients of rows first .. first + count - 1, each onto the input it came from. */
static void scatter_patches(const geometry *g, const float *dpatch, int64_t first, int count, float *dx) {
  const int64_t plane = in_plane(g);
  for (int r = 0; r < count; r++) {
    const int64_t q = first + r;
    const int p = (int)(q % g->pixels), oy = p / g->out_w, ox = p % g->out_w;
    float *dst_image = dx + q / g->pixels * g->in_blocks * plane;
    const float *row = dpatch + (int64_t)r * g->dpatch_stride;
    for (int ky = 0; ky < g->kernel; ky++) {
      const int iy = oy * g->stride - g->pad + ky;
      if (iy < 0 || iy >= g->in_h) continue;
      for (int kx = 0; kx < g->kernel; kx++) {
        const int ix = ox * g->stride - g->pad + kx;
        if (ix < 0 || ix >= g->in_w) continue;
        const float *src = row + (ky * g->kernel + kx) * g->c;
        float *dst = dst_image + ((int64_t)iy * g->in_w + ix) * LANES;
        for (int cb = 0; cb < g->in_blocks; cb++)
          _mm256_storeu_ps(dst + cb * plane, _mm256_add_ps(_mm256_loadu_ps(dst + cb * plane), _mm256_loadu_ps(src + cb * LANES)));
      }
    }
  }
}

/* The matrix operands from w [out_c][in_c][taps], read in order. Patch position d = tap * C + c; padded channels and
 * panel columns stay zero. forward: packed[k / 16][d][k % 16]; data gradient: packed[d / 16][k][d % 16]. */
static void pack_weights(const geometry *g, const float *w, int for_data_gradient, float *packed) {
  const int taps = g->kernel * g->kernel;
  memset(packed, 0, (size_t)g->depth16 * g->k16 * sizeof(float)); /* covers both layouts: depth <= depth16 */
#pragma omp parallel for schedule(static)
  for (int k = 0; k < g->out_c; k++)
    for (int c = 0; c < g->in_c; c++)
      for (int tap = 0; tap < taps; tap++) {
        const int d = tap * g->c + c;
        const int64_t at = for_data_gradient ? ((int64_t)(d / PANEL) * g->k16 + k) * PANEL + d % PANEL
                                             : ((int64_t)(k / PANEL) * g->depth + d) * PANEL + k % PANEL;
        packed[at] = w[((int64_t)k * g->in_c + c) * taps + tap];
      }
}

int conv_gemm_fits(const scan_conv_shape *s) {
  return s->src_block == LANES && s->dst_block == LANES && s->kernel <= MAX_KERNEL && s->out_h > 0 && s->out_w > 0;
}

int conv_gemm_applies(const scan_conv_shape *s) { return s->fast && s->n >= MIN_IMAGES && conv_gemm_fits(s); }

/* One scratch buffer: the packed weights (depth16 x k16 floats, for the forward product or the data gradient's), then
 * per_thread floats for each thread. NULL when out of memory. */
static float *packed_weights_and_threads(conv_scratch *scratch, const geometry *g, const float *w, int for_data_gradient,
                                         size_t per_thread) {
  float *buffer = conv_scratch_reserve(scratch, (size_t)g->depth16 * g->k16 + per_thread * omp_get_max_threads());
  if (buffer) pack_weights(g, w, for_data_gradient, buffer);
  return buffer;
}

static scan_status forward(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w,
                           const conv_epilogue *ep, float *y) {
  const geometry g = make_geometry(s);
  const int chunk = chunk_rows(g.patch_stride);
  const size_t packed_floats = (size_t)g.depth16 * g.k16, per_thread = (size_t)chunk * (g.patch_stride + PANEL);
  float *buffer = packed_weights_and_threads(scratch, &g, w, 0, per_thread);
  if (!buffer) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for convolution buffers");
  const int panels = g.k16 / PANEL;
#pragma omp parallel
  {
    float *patch = buffer + packed_floats + per_thread * omp_get_thread_num(), *spill = patch + (size_t)chunk * g.patch_stride;
    int64_t lo, hi;
    thread_rows(&g, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    for (int64_t first = lo; first < hi; first += chunk) {
      const int count = hi - first < chunk ? (int)(hi - first) : chunk;
      gather_patches(&g, x, first, count, patch);
      /* The depth in slices of DEPTH_SLICE: a slice of a weight panel (16 KB) stays in L1 while every row of the
       * chunk passes it. Outputs of a last block-only panel collect in `spill` (its second half is padding channels
       * that must not land in the next image). */
      for (int panel = 0; panel < panels; panel++) {
        const int whole = 2 * panel + 1 < g.out_blocks;
        for (int d0 = 0; d0 < g.depth; d0 += DEPTH_SLICE) {
          const int slice = g.depth - d0 < DEPTH_SLICE ? g.depth - d0 : DEPTH_SLICE;
          const float *b = buffer + ((size_t)panel * g.depth + d0) * PANEL;
          for (int r = 0, rows; r < count; r += rows) {
            /* a kernel call's rows lie in one image: its outputs are then LANES floats apart */
            const int64_t q = first + r;
            const int pixel = (int)(q % g.pixels);
            rows = count - r < ROWS ? count - r : ROWS;
            if (rows > g.pixels - pixel) rows = g.pixels - pixel;
            const float *a = patch + (int64_t)r * g.patch_stride + d0;
            float *out = whole ? y + ((q / g.pixels * g.out_blocks + 2 * panel) * g.pixels + pixel) * LANES : spill + (int64_t)r * PANEL;
            const int64_t ldc = whole ? LANES : PANEL, half = whole ? out_plane(&g) : LANES;
            if (d0 == 0) gemm_panel_rows(rows, a, g.patch_stride, b, PANEL, slice, out, ldc, half);
            else gemm_panel_rows_add(rows, a, g.patch_stride, b, PANEL, slice, out, ldc, half);
          }
        }
        if (!whole)
          for (int r = 0; r < count; r++) {
            const int64_t q = first + r;
            memcpy(y + ((q / g.pixels * g.out_blocks + 2 * panel) * g.pixels + q % g.pixels) * LANES, spill + (int64_t)r * PANEL,
                   LANES * sizeof(float));
          }
      }
      if (ep) /* while the chunk's outputs are still in cache, image by image */
        for (int r = 0, rows; r < count; r += rows) {
          const int64_t q = first + r;
          const int pixel = (int)(q % g.pixels);
          rows = count - r < g.pixels - pixel ? count - r : g.pixels - pixel;
          for (int kb = 0; kb < g.out_blocks; kb++)
            conv_epilogue_run(ep, kb, y, (q / g.pixels * g.out_blocks + kb) * g.pixels * LANES + (int64_t)pixel * LANES, rows);
        }
    }
  }
  return SCAN_OK;
}

scan_status conv_gemm_forward(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w, float *y) {
  return forward(scratch, s, x, w, NULL, y);
}

scan_status conv_gemm_forward_affine(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w,
                                     const scan_conv_epilogue *ep, float *y) {
  return forward(scratch, s, x, w, ep, y);
}

scan_status conv_gemm_backward_data(conv_scratch *scratch, const scan_conv_shape *s, const float *dy, const float *w,
                                    float *dx) {
  const geometry g = make_geometry(s);
  const int chunk = chunk_rows(g.dpatch_stride);
  const size_t packed_floats = (size_t)g.depth16 * g.k16, per_thread = (size_t)chunk * (g.gradient_stride + g.dpatch_stride);
  float *buffer = packed_weights_and_threads(scratch, &g, w, 1, per_thread);
  if (!buffer) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for convolution buffers");
  const int panels = g.depth16 / PANEL;
#pragma omp parallel
  {
    float *grad = buffer + packed_floats + per_thread * omp_get_thread_num(), *dpatch = grad + (size_t)chunk * g.gradient_stride;
    int64_t lo, hi;
    thread_rows(&g, omp_get_thread_num(), omp_get_num_threads(), &lo, &hi);
    const int64_t image_floats = g.in_blocks * in_plane(&g);
    memset(dx + lo / g.pixels * image_floats, 0, (size_t)((hi - lo) / g.pixels * image_floats) * sizeof(float));
    for (int64_t first = lo; first < hi; first += chunk) {
      const int count = hi - first < chunk ? (int)(hi - first) : chunk;
      gather_gradients(&g, dy, first, count, grad);
      for (int panel = 0; panel < panels; panel++)
        for (int r = 0; r < count; r += ROWS)
          gemm_panel_rows(count - r < ROWS ? count - r : ROWS, grad + (int64_t)r * g.gradient_stride, g.gradient_stride,
                          buffer + (size_t)panel * g.k16 * PANEL, PANEL, g.k16, dpatch + (int64_t)r * g.dpatch_stride + panel * PANEL,
                          g.dpatch_stride, LANES);
      scatter_patches(&g, dpatch, first, count, dx);
    }
  }
  return SCAN_OK;
}

/* Each thread sums its rows' products into its own sums, 6 patch columns at a time across every panel (those 6
 * columns of the chunk stay in L1 while the chunk's gradient rows stream from L2). */
scan_status conv_gemm_backward_weights(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *dy,
                                       float *dw) {
  const geometry g = make_geometry(s);
  const int threads = omp_get_max_threads(), chunk = CHUNK_ROWS_WEIGHTS;
  const size_t sums = (size_t)g.depth * g.k16;
  const size_t per_thread = sums + (size_t)chunk * (g.patch_stride + g.gradient_stride);
  float *buffer = conv_scratch_reserve(scratch, per_thread * threads);
  if (!buffer) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for convolution buffers");
  const int panels = g.k16 / PANEL, taps = g.kernel * g.kernel;
#pragma omp parallel num_threads(threads)
  {
    const int thread = omp_get_thread_num(), team = omp_get_num_threads();
    float *sum = buffer + per_thread * thread, *patch = sum + sums, *grad = patch + (size_t)chunk * g.patch_stride;
    memset(sum, 0, sums * sizeof *sum);
    int64_t lo, hi;
    thread_rows(&g, thread, team, &lo, &hi);
    for (int64_t first = lo; first < hi; first += chunk) {
      const int count = hi - first < chunk ? (int)(hi - first) : chunk;
      gather_patches(&g, x, first, count, patch);
      gather_gradients(&g, dy, first, count, grad);
      for (int d = 0; d < g.depth; d += ROWS)
        for (int panel = 0; panel < panels; panel++)
          gemm_panel_columns_add(g.depth - d < ROWS ? g.depth - d : ROWS, patch + d, g.patch_stride, grad + panel * PANEL,
                                 g.gradient_stride, count, sum + (int64_t)d * g.k16 + panel * PANEL, g.k16, LANES);
    }
#pragma omp barrier
    /* dw[k][c][tap] += the threads' sums at d = tap * C + c, in thread order */
#pragma omp for schedule(static)
    for (int k = 0; k < g.out_c; k++)
      for (int c = 0; c < g.in_c; c++)
        for (int tap = 0; tap < taps; tap++) {
          const size_t at = (size_t)(tap * g.c + c) * g.k16 + k;
          float total = 0;
          for (int t = 0; t < team; t++) total += buffer[per_thread * t + at];
          dw[((int64_t)k * g.in_c + c) * taps + tap] += total;
        }
  }
  return SCAN_OK;
}
