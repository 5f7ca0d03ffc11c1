/* Winograd F(4x4, 3x3) (Lavin & Gray 2016) on AVX2. Each 4x4 output tile comes from a 6x6 input patch:
 *   y = A^T [ (G g G^T) (.) (B^T d B) ] A
 * so the 9 * 16 multiplications of direct convolution per tile and channel pair become 36 (4x fewer). Summed over
 * input channels, the 36 element-wise products are 36 independent matrix products
 *   M[xi][tile][k] = sum_c V[xi][tile][c] * U[xi][c][k],
 * which is where the time goes. The work is cut into blocks of tiles; each thread takes whole blocks (transform the
 * block's inputs, 36 products, transform the outputs), so the working set stays in cache and every output is computed
 * by one thread in one fixed order: the results do not depend on the thread count.
 *
 * Layouts: activations nChw8c (the 8 channels of a block are one AVX register). V is [36][tiles][C] and M is
 * [36][tiles][K] per block; U is [36][K/16][C][16], so the 16 output channels the matrix kernel reads per input
 * channel are adjacent. */
#include "conv_winograd.h"
#include "conv_epilogue.h"
#include "conv_scratch.h"
#include "gemm_panel.h"
#include "winograd_blocks.h"

#include <stdlib.h>
#include <string.h>

#include "scan/error.h"

#ifndef __AVX2__
#error "the hand-written convolutions need AVX2 (CMakeLists.txt builds with -march=x86-64-v3)"
#endif
#include <immintrin.h>
#include <omp.h>

enum {
  PATCH = 6,        /* input patch and transformed tile side */
  TILE = 4,         /* output tile side */
  POINTS = 36,      /* PATCH * PATCH transformed elements */
  LANES = 8,        /* floats per AVX register = channels per nChw8c block */
  PANEL = GEMM_PANEL_WIDTH,      /* output channels per matrix-kernel column panel */
  KERNEL_ROWS = GEMM_PANEL_ROWS, /* tiles (or channels) per matrix-kernel call */
};

typedef struct {
  int n, h, w;            /* same spatial size in and out */
  int in_c, out_c;        /* the convolution's input and output channels */
  int c, k;               /* C and K: in_c rounded up to whole 8-lane blocks (the matrix products' depth and V's rows),
                             out_c rounded up to whole 16-wide panels (M's and D's rows); padded channels are zero */
  int in_blocks, out_blocks; /* nChw8c channel blocks of the input and output tensors */
  int tiles_y, tiles_x;
  int64_t tiles;
} geometry;

static geometry make_geometry(int n, int h, int w, int in_c, int out_c) {
  geometry g = {.n = n, .h = h, .w = w, .in_c = in_c, .out_c = out_c};
  g.in_blocks = (in_c + LANES - 1) / LANES;
  g.out_blocks = (out_c + LANES - 1) / LANES;
  g.c = g.in_blocks * LANES;
  g.k = (out_c + PANEL - 1) / PANEL * PANEL;
  g.tiles_y = (h + TILE - 1) / TILE;
  g.tiles_x = (w + TILE - 1) / TILE;
  g.tiles = (int64_t)n * g.tiles_y * g.tiles_x;
  return g;
}

/* ---- transforms (one register = 8 channels) ---- */

/* r = B^T d for one line of 6 values. */
static inline void input_line(const __m256 d[PATCH], __m256 r[PATCH]) {
  const __m256 four = _mm256_set1_ps(4), five = _mm256_set1_ps(5), two = _mm256_set1_ps(2);
  r[0] = _mm256_fnmadd_ps(five, d[2], _mm256_fmadd_ps(four, d[0], d[4]));
  r[1] = _mm256_fnmadd_ps(four, _mm256_add_ps(d[1], d[2]), _mm256_add_ps(d[3], d[4]));
  r[2] = _mm256_fmadd_ps(four, _mm256_sub_ps(d[1], d[2]), _mm256_sub_ps(d[4], d[3]));
  r[3] = _mm256_fmadd_ps(two, _mm256_sub_ps(d[3], d[1]), _mm256_sub_ps(d[4], d[2]));
  r[4] = _mm256_fmadd_ps(two, _mm256_sub_ps(d[1], d[3]), _mm256_sub_ps(d[4], d[2]));
  r[5] = _mm256_fnmadd_ps(five, d[3], _mm256_fmadd_ps(four, d[1], d[5]));
}

/* o = A^T m for one line: 6 transformed values to 4 outputs. */
static inline void output_line(const __m256 m[PATCH], __m256 o[TILE]) {
  const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
  const __m256 sum12 = _mm256_add_ps(m[1], m[2]), diff12 = _mm256_sub_ps(m[1], m[2]);
  const __m256 sum34 = _mm256_add_ps(m[3], m[4]), diff34 = _mm256_sub_ps(m[3], m[4]);
  o[0] = _mm256_add_ps(_mm256_add_ps(m[0], sum12), sum34);
  o[1] = _mm256_fmadd_ps(two, diff34, diff12);
  o[2] = _mm256_fmadd_ps(four, sum34, sum12);
  o[3] = _mm256_add_ps(_mm256_fmadd_ps(eight, diff34, diff12), m[5]);
}

/* D = A g for one line: 4 output gradients to 6 transformed values (the transpose of output_line). */
static inline void gradient_line(const __m256 g[TILE], __m256 d[PATCH]) {
  const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
  const __m256 even = _mm256_add_ps(g[0], g[2]), odd = _mm256_add_ps(g[1], g[3]);
  const __m256 even4 = _mm256_fmadd_ps(four, g[2], g[0]), odd8 = _mm256_fmadd_ps(eight, g[3], _mm256_mul_ps(two, g[1]));
  d[0] = g[0];
  d[1] = _mm256_add_ps(even, odd);
  d[2] = _mm256_sub_ps(even, odd);
  d[3] = _mm256_add_ps(even4, odd8);
  d[4] = _mm256_sub_ps(even4, odd8);
  d[5] = g[3];
}

typedef struct { int image, y0, x0; } tile_origin; /* top-left output pixel of a tile */

static tile_origin tile_at(const geometry *g, int64_t tile) {
  const int per_image = g->tiles_y * g->tiles_x, rest = (int)(tile % per_image);
  return (tile_origin){(int)(tile / per_image), rest / g->tiles_x * TILE, rest % g->tiles_x * TILE};
}

/* One line of a 6x6 input patch: d[j] = x[yy][left + j] (one 8-channel register each), zero outside the image.
 * checked is a constant at each call: interior tiles (most of them) load without tests. */
static inline __attribute__((always_inline)) void load_patch_line(const geometry *g, const float *image, int yy, int left,
                                                                  const int checked, __m256 d[PATCH]) {
  const float *line = image + ((int64_t)yy * g->w + left) * LANES;
  #pragma GCC unroll 6
  for (int j = 0; j < PATCH; j++)
    d[j] = !checked || (yy >= 0 && yy < g->h && left + j >= 0 && left + j < g->w) ? _mm256_loadu_ps(line + j * LANES)
                                                                                  : _mm256_setzero_ps();
}

/* V[xi][slot][c] = (B^T d B)[xi] for the 6x6 patch (zero outside the image) of each tile of the block: rows
 * row_stride floats apart, points point_stride apart.
 * Separable: the lines of the patch first, through a small aligned scratch tile, then its columns. Written so that
 * each step keeps its 6 + 6 registers (as __m256 arrays indexed across loops, the compiler spilled and copied them,
 * and this transform cost a tenth of a training step). */
static void transform_inputs(const geometry *g, const float *x, int64_t first, int count, int row_stride, int64_t point_stride,
                             float *v) {
  const int blocks = g->in_blocks;
  const int64_t plane = (int64_t)g->h * g->w * LANES;
  float scratch[PATCH][PATCH][LANES] __attribute__((aligned(32))); /* scratch[i][j] = (d B)[i][j] */
  for (int slot = 0; slot < count; slot++) {
    const tile_origin o = tile_at(g, first + slot);
    const int top = o.y0 - 1, left = o.x0 - 1;
    const int inside = top >= 0 && left >= 0 && top + PATCH <= g->h && left + PATCH <= g->w;
    for (int cb = 0; cb < blocks; cb++) {
      const float *image = x + ((int64_t)o.image * blocks + cb) * plane;
      #pragma GCC unroll 6
      for (int i = 0; i < PATCH; i++) {
        __m256 d[PATCH], r[PATCH];
        if (inside) load_patch_line(g, image, top + i, left, 0, d);
        else load_patch_line(g, image, top + i, left, 1, d);
        input_line(d, r);
        #pragma GCC unroll 6
        for (int j = 0; j < PATCH; j++) _mm256_store_ps(scratch[i][j], r[j]);
      }
      float *out = v + (int64_t)slot * row_stride + cb * LANES;
      #pragma GCC unroll 6
      for (int j = 0; j < PATCH; j++) {
        __m256 column[PATCH], t[PATCH];
        #pragma GCC unroll 6
        for (int i = 0; i < PATCH; i++) column[i] = _mm256_load_ps(scratch[i][j]);
        input_line(column, t); /* t[i] = (B^T d B)[i][j] */
        #pragma GCC unroll 6
        for (int i = 0; i < PATCH; i++) _mm256_storeu_ps(out + (i * PATCH + j) * point_stride, t[i]);
      }
    }
  }
}

/* y (the tile's pixels inside the image) = A^T M A for each tile of the block (separable, like transform_inputs),
 * passed through the epilogue when there is one. */
static void transform_outputs(const geometry *g, const float *m, int64_t first, int count, const conv_epilogue *ep, float *y) {
  const int blocks = g->out_blocks;
  const int64_t plane = (int64_t)g->h * g->w * LANES, point_stride = winograd_points_apart(count, g->k);
  float scratch[PATCH][TILE][LANES] __attribute__((aligned(32))); /* scratch[i][c] = (M A)[i][c] */
  for (int slot = 0; slot < count; slot++) {
    const tile_origin o = tile_at(g, first + slot);
    for (int kb = 0; kb < blocks; kb++) {
      const float *in = m + (int64_t)slot * g->k + kb * LANES;
      #pragma GCC unroll 6
      for (int i = 0; i < PATCH; i++) {
        __m256 line[PATCH], half[TILE];
        #pragma GCC unroll 6
        for (int j = 0; j < PATCH; j++) line[j] = _mm256_loadu_ps(in + (i * PATCH + j) * point_stride);
        output_line(line, half);
        #pragma GCC unroll 6
        for (int c = 0; c < TILE; c++) _mm256_store_ps(scratch[i][c], half[c]);
      }
      float *image = y + ((int64_t)o.image * blocks + kb) * plane;
      for (int c = 0; c < TILE && o.x0 + c < g->w; c++) {
        __m256 column[PATCH], out[TILE];
        #pragma GCC unroll 6
        for (int i = 0; i < PATCH; i++) column[i] = _mm256_load_ps(scratch[i][c]);
        output_line(column, out);
        for (int r = 0; r < TILE && o.y0 + r < g->h; r++)
          {
          float *at = image + ((int64_t)(o.y0 + r) * g->w + o.x0 + c) * LANES;
          _mm256_storeu_ps(at, ep ? conv_epilogue_lanes(ep, kb, out[r], at - y) : out[r]);
        }
      }
    }
  }
}

/* D[xi][slot][k] = (A dy A^T)[xi] for each tile of the block (dy zero outside the image, and in the columns past the
 * tensor's last channel block up to the 16-wide panel). Separable, like transform_inputs. */
static void transform_gradients(const geometry *g, const float *dy, int64_t first, int count, int row_stride, int64_t point_stride,
                                float *d) {
  const int blocks = g->out_blocks;
  const int64_t plane = (int64_t)g->h * g->w * LANES;
  float scratch[TILE][PATCH][LANES] __attribute__((aligned(32))); /* scratch[r][j] = (dy A^T)[r][j] */
  for (int slot = 0; slot < count; slot++) {
    const tile_origin o = tile_at(g, first + slot);
    for (int kb = blocks; kb < g->k / LANES; kb++)
      for (int xi = 0; xi < POINTS; xi++) _mm256_storeu_ps(d + (int64_t)slot * row_stride + kb * LANES + xi * point_stride, _mm256_setzero_ps());
    for (int kb = 0; kb < blocks; kb++) {
      const float *image = dy + ((int64_t)o.image * blocks + kb) * plane;
      #pragma GCC unroll 6
      for (int r = 0; r < TILE; r++) {
        __m256 line[TILE], wide[PATCH];
        #pragma GCC unroll 6
        for (int c = 0; c < TILE; c++)
          line[c] = o.y0 + r < g->h && o.x0 + c < g->w ? _mm256_loadu_ps(image + ((int64_t)(o.y0 + r) * g->w + o.x0 + c) * LANES)
                                                       : _mm256_setzero_ps();
        gradient_line(line, wide);
        #pragma GCC unroll 6
        for (int j = 0; j < PATCH; j++) _mm256_store_ps(scratch[r][j], wide[j]);
      }
      float *out = d + (int64_t)slot * row_stride + kb * LANES;
      #pragma GCC unroll 6
      for (int j = 0; j < PATCH; j++) {
        __m256 column[TILE], t[PATCH];
        #pragma GCC unroll 6
        for (int r = 0; r < TILE; r++) column[r] = _mm256_load_ps(scratch[r][j]);
        gradient_line(column, t);
        #pragma GCC unroll 6
        for (int i = 0; i < PATCH; i++) _mm256_storeu_ps(out + (i * PATCH + j) * point_stride, t[i]);
      }
    }
  }
}

/* ---- weights (8 kernels at once, one per lane) ---- */

/* out = G in: 3 kernel values along one line to 6 transformed values. */
static inline void kernel_line(const __m256 in[3], __m256 out[PATCH]) {
  const __m256 quarter = _mm256_set1_ps(1.0f / 4), sixth = _mm256_set1_ps(1.0f / 6), twelfth = _mm256_set1_ps(1.0f / 12),
               twentyfourth = _mm256_set1_ps(1.0f / 24);
  const __m256 outer = _mm256_add_ps(in[0], in[2]);
  out[0] = _mm256_mul_ps(quarter, in[0]);
  out[1] = _mm256_mul_ps(_mm256_set1_ps(-1.0f / 6), _mm256_add_ps(outer, in[1]));
  out[2] = _mm256_mul_ps(_mm256_set1_ps(-1.0f / 6), _mm256_sub_ps(outer, in[1]));
  const __m256 even = _mm256_fmadd_ps(twentyfourth, in[0], _mm256_mul_ps(sixth, in[2])), odd = _mm256_mul_ps(twelfth, in[1]);
  out[3] = _mm256_add_ps(even, odd);
  out[4] = _mm256_sub_ps(even, odd);
  out[5] = in[2];
}

/* out = G^T in: 6 transformed values back to 3 kernel values (the transpose of kernel_line). */
static inline void tile_line(const __m256 in[PATCH], __m256 out[3]) {
  const __m256 sixth = _mm256_set1_ps(1.0f / 6), twelfth = _mm256_set1_ps(1.0f / 12), twentyfourth = _mm256_set1_ps(1.0f / 24);
  const __m256 sum12 = _mm256_add_ps(in[1], in[2]), diff21 = _mm256_sub_ps(in[2], in[1]);
  const __m256 sum34 = _mm256_add_ps(in[3], in[4]), diff34 = _mm256_sub_ps(in[3], in[4]);
  out[0] = _mm256_fmadd_ps(_mm256_set1_ps(1.0f / 4), in[0], _mm256_fmadd_ps(twentyfourth, sum34, _mm256_mul_ps(_mm256_set1_ps(-1.0f / 6), sum12)));
  out[1] = _mm256_fmadd_ps(sixth, diff21, _mm256_mul_ps(twelfth, diff34));
  out[2] = _mm256_add_ps(_mm256_mul_ps(sixth, _mm256_sub_ps(sum34, sum12)), in[5]);
}

/* u = G g G^T for the 3x3 kernels of 8 lanes. */
static inline void kernel_to_tile(const __m256 g[3][3], __m256 u[PATCH][PATCH]) {
  __m256 half[PATCH][3]; /* half[i][b] = (G g)[i][b] */
  #pragma GCC unroll 6
  for (int b = 0; b < 3; b++) {
    __m256 column[3] = {g[0][b], g[1][b], g[2][b]}, out[PATCH];
    kernel_line(column, out);
    #pragma GCC unroll 6
    for (int i = 0; i < PATCH; i++) half[i][b] = out[i];
  }
  #pragma GCC unroll 6
  for (int i = 0; i < PATCH; i++) kernel_line(half[i], u[i]);
}

/* g = G^T u G for 8 lanes. */
static inline void tile_to_kernel(const __m256 u[PATCH][PATCH], __m256 g[3][3]) {
  __m256 half[PATCH][3]; /* half[i][b] = (u G)[i][b] */
  #pragma GCC unroll 6
  for (int i = 0; i < PATCH; i++) tile_line(u[i], half[i]);
  #pragma GCC unroll 6
  for (int b = 0; b < 3; b++) {
    __m256 column[PATCH], out[3];
    #pragma GCC unroll 6
    for (int i = 0; i < PATCH; i++) column[i] = half[i][b];
    tile_line(column, out);
    #pragma GCC unroll 6
    for (int a = 0; a < 3; a++) g[a][b] = out[a];
  }
}

/* U[xi][k / 16][c][k % 16] = (G g G^T)[xi] where g is the 3x3 kernel from input channel c to output channel k of the
 * convolution being run (zero for padded channels), 8 consecutive k at a time (adjacent in U). For the data gradient
 * that convolution runs from the layer's outputs to its inputs with the kernel turned by 180 degrees:
 * g[a][b] = w[c][k][2 - a][2 - b]. */
static void transform_weights(const geometry *geo, const float *w, int flipped, float *u) {
  const int panels = geo->k / PANEL, lane_blocks = geo->k / LANES, conv_in = geo->in_c, conv_out = geo->out_c;
#pragma omp parallel for schedule(static)
  for (int64_t pair = 0; pair < (int64_t)lane_blocks * geo->c; pair++) {
    const int c = (int)(pair % geo->c), k0 = (int)(pair / geo->c) * LANES;
    __m256 g[3][3], tile[PATCH][PATCH];
    #pragma GCC unroll 6
    for (int a = 0; a < 3; a++)
      #pragma GCC unroll 6
      for (int b = 0; b < 3; b++) {
        const int tap = flipped ? (2 - a) * 3 + 2 - b : a * 3 + b;
        float lanes[LANES];
        for (int l = 0; l < LANES; l++) {
          const int k = k0 + l;
          /* w is [layer out][layer in][3][3]: kernel (k, c) is at (k * conv_in + c) * 9, or (c * conv_out + k) * 9 flipped */
          const int64_t at = flipped ? ((int64_t)c * conv_out + k) * 9 : ((int64_t)k * conv_in + c) * 9;
          lanes[l] = k < conv_out && c < conv_in ? w[at + tap] : 0.0f;
        }
        g[a][b] = _mm256_loadu_ps(lanes);
      }
    kernel_to_tile(g, tile);
    for (int xi = 0; xi < POINTS; xi++)
      _mm256_storeu_ps(u + (((int64_t)xi * panels + k0 / PANEL) * geo->c + c) * PANEL + k0 % PANEL, tile[xi / PATCH][xi % PATCH]);
  }
}

/* ---- the passes ---- */

/* y = convolution of x (C channels) with the transformed weights u, K output channels. */
static scan_status run_convolution(conv_scratch *scratch, const geometry *g, const float *x, const float *w, int flipped,
                                   const conv_epilogue *ep, float *y) {
  const int threads = omp_get_max_threads();
  const int per_block = winograd_tiles_per_block(g->tiles, threads, winograd_block_tiles((double)POINTS * g->c * g->k * sizeof(float)));
  const int64_t blocks = (g->tiles + per_block - 1) / per_block;
  const size_t u_floats = (size_t)POINTS * g->c * g->k;
  const size_t block_floats = (size_t)POINTS * (winograd_points_apart(per_block, g->c) + winograd_points_apart(per_block, g->k));
  float *buffer = conv_scratch_reserve(scratch, u_floats + block_floats * threads);
  if (!buffer) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for Winograd buffers (%zu floats)", u_floats + block_floats * threads);
  float *u = buffer;
  transform_weights(g, w, flipped, u);
  const int panels = g->k / PANEL;
  /* Blocks go to whichever thread is free: on a shared machine one core is often slower for a while, and a block's
   * result does not depend on the thread that computes it. */
#pragma omp parallel for schedule(dynamic)
  for (int64_t block = 0; block < blocks; block++) {
    const int64_t first = block * per_block;
    const int count = (int)(first + per_block <= g->tiles ? per_block : g->tiles - first);
    float *v = u + u_floats + block_floats * omp_get_thread_num();
    float *m = v + (size_t)POINTS * winograd_points_apart(count, g->c);
    transform_inputs(g, x, first, count, g->c, winograd_points_apart(count, g->c), v);
    for (int xi = 0; xi < POINTS; xi++) {
      const float *vx = v + xi * winograd_points_apart(count, g->c);
      float *mx = m + xi * winograd_points_apart(count, g->k);
      for (int p = 0; p < panels; p++) {
        const float *panel = u + ((int64_t)xi * panels + p) * g->c * PANEL;
        for (int r = 0; r < count; r += KERNEL_ROWS)
          gemm_panel_rows(count - r < KERNEL_ROWS ? count - r : KERNEL_ROWS, vx + (int64_t)r * g->c, g->c, panel, PANEL, g->c,
                          mx + (int64_t)r * g->k + p * PANEL, g->k, LANES);
      }
    }
    transform_outputs(g, m, first, count, ep, y);
  }
  return SCAN_OK;
}

int winograd_conv_fits(const scan_conv_shape *s) {
  if (s->kernel != 3 || s->stride != 1 || s->pad != 1) return 0;
  return s->in_h == s->out_h && s->in_w == s->out_w && s->src_block == LANES && s->dst_block == LANES;
}

int winograd_conv_applies(const scan_conv_shape *s) { return s->fast && winograd_conv_fits(s) && winograd_enough_tiles(s); }

scan_status winograd_conv_forward(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w,
                                  float *y) {
  const geometry g = make_geometry(s->n, s->in_h, s->in_w, s->in_c, s->out_c);
  return run_convolution(scratch, &g, x, w, 0, NULL, y);
}

scan_status winograd_conv_forward_affine(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w,
                                         const scan_conv_epilogue *ep, float *y) {
  const geometry g = make_geometry(s->n, s->in_h, s->in_w, s->in_c, s->out_c);
  return run_convolution(scratch, &g, x, w, 0, ep, y);
}

scan_status winograd_conv_backward_data(conv_scratch *scratch, const scan_conv_shape *s, const float *dy, const float *w,
                                        float *dx) {
  const geometry g = make_geometry(s->n, s->in_h, s->in_w, s->out_c, s->in_c);
  return run_convolution(scratch, &g, dy, w, 1, NULL, dx);
}

/* The transforms for winograd_weight_gradient (winograd_blocks.h). */
static void job_inputs(const void *g, const float *x, int64_t first, int count, int row_stride, int64_t point_stride, float *v) {
  transform_inputs(g, x, first, count, row_stride, point_stride, v);
}
static void job_gradients(const void *g, const float *dy, int64_t first, int count, int row_stride, int64_t point_stride, float *d) {
  transform_gradients(g, dy, first, count, row_stride, point_stride, d);
}
static void job_to_kernel(const __m256 *u, __m256 kernel[3][3]) { tile_to_kernel((const __m256(*)[PATCH])u, kernel); }

scan_status winograd_conv_backward_weights(conv_scratch *scratch, const scan_conv_shape *s, const float *x,
                                           const float *dy, float *dw) {
  const geometry g = make_geometry(s->n, s->in_h, s->in_w, s->in_c, s->out_c);
  const winograd_weights_job job = {&g, POINTS, g.tiles, g.c, g.k, g.in_c, g.out_c, job_inputs, job_gradients, job_to_kernel};
  return winograd_weight_gradient(scratch, &job, x, dy, dw);
}
