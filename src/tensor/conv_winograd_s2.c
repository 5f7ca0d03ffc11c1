/* Winograd for 3x3 stride-2 convolutions (ResNet's downsampling layers), through their polyphase split.
 *
 * Along one axis, with xp the input padded by one, an output is y[i] = w0 xp[2i] + w1 xp[2i+1] + w2 xp[2i+2]: the
 * even samples see the 2-tap filter (w0, w2), the odd samples the 1-tap filter w1. Four outputs take 9 samples
 * xp[2i0 .. 2i0+8]: 5 even ones, through F(4, 2) (5 products instead of 8), and 4 odd ones (4 products). So each axis
 * has 9 transformed points, a 4x4 output tile has 81 (instead of 144 multiplications for direct convolution, 1.8x
 * fewer), and everything else works as in conv_winograd.c: per point a matrix product over channels, computed in
 * blocks of tiles by the 6x16 kernel. F(4, 2) uses the points 0, 1, -1, 2 and infinity; the fractions sit in the
 * kernel transform, so the input transform has small integers only:
 *   even:  B^T = [2 -1 -2 1 0; 0 2 1 -1 0; 0 -2 3 -1 0; 0 -1 0 1 0; 0 2 -1 -2 1]
 *          G   = [1/2 0; 1/2 1/2; 1/6 -1/6; 1/6 1/3; 0 1]          (applied to (w0, w2))
 *          A^T = [1 1 1 1 0; 0 1 -1 2 0; 0 1 1 4 0; 0 1 -1 8 1]
 *   odd:   identity, kernel value w1 at all 4 points.
 * The data gradient runs every step transposed: output gradients through A, products with the kernels' transpose,
 * then B back onto 9x9 input patches, which overlap by one pixel between neighbouring tiles and are added in tile
 * order by the one thread that owns the image. */
#include "conv_winograd_s2.h"
#include "conv_epilogue.h"
#include "conv_scratch.h"
#include "gemm_panel.h"
#include "winograd_blocks.h"

#include <string.h>

#include "scan/error.h"

#ifndef __AVX2__
#error "the hand-written convolutions need AVX2 (CMakeLists.txt builds with -march=x86-64-v3)"
#endif
#include <immintrin.h>
#include <omp.h>

enum {
  SPAN = 9,     /* input patch side, and transformed points per axis */
  EVEN = 5,     /* of which the F(4, 2) points come first */
  TILE = 4,     /* output tile side */
  POINTS = 81,  /* SPAN * SPAN */
  LANES = 8,
  PANEL = GEMM_PANEL_WIDTH,
  KERNEL_ROWS = GEMM_PANEL_ROWS,
};

typedef struct {
  int n, in_h, in_w, out_h, out_w;
  int in_c, out_c;
  int in_blocks, out_blocks;
  int c8, c16, k8, k16; /* channel counts rounded up to whole 8-lane blocks and 16-wide panels */
  int tiles_y, tiles_x, tiles_per_image;
  int64_t tiles;
} geometry;

static geometry make_geometry(const scan_conv_shape *s) {
  geometry g = {.n = s->n, .in_h = s->in_h, .in_w = s->in_w, .out_h = s->out_h, .out_w = s->out_w, .in_c = s->in_c, .out_c = s->out_c};
  g.in_blocks = (s->in_c + LANES - 1) / LANES;
  g.out_blocks = (s->out_c + LANES - 1) / LANES;
  g.c8 = g.in_blocks * LANES;
  g.k8 = g.out_blocks * LANES;
  g.c16 = (s->in_c + PANEL - 1) / PANEL * PANEL;
  g.k16 = (s->out_c + PANEL - 1) / PANEL * PANEL;
  g.tiles_y = (s->out_h + TILE - 1) / TILE;
  g.tiles_x = (s->out_w + TILE - 1) / TILE;
  g.tiles_per_image = g.tiles_y * g.tiles_x;
  g.tiles = (int64_t)s->n * g.tiles_per_image;
  return g;
}

/* Output tile t: image, top-left output pixel, and the top-left input pixel of its 9x9 patch (-1: the padding). */
typedef struct { int image, y0, x0, top, left; } tile_origin;

static tile_origin tile_at(const geometry *g, int64_t tile) {
  const int rest = (int)(tile % g->tiles_per_image);
  const int y0 = rest / g->tiles_x * TILE, x0 = rest % g->tiles_x * TILE;
  return (tile_origin){(int)(tile / g->tiles_per_image), y0, x0, 2 * y0 - 1, 2 * x0 - 1};
}

/* ---- the one-axis transforms (one register = 8 channels) ---- */

/* t = B^T d: 9 patch samples to 9 points (evens through F(4, 2), odds as they are). */
static inline void input_line(const __m256 d[SPAN], __m256 t[SPAN]) {
  const __m256 two = _mm256_set1_ps(2), three = _mm256_set1_ps(3);
  const __m256 e0 = d[0], e1 = d[2], e2 = d[4], e3 = d[6], e4 = d[8];
  const __m256 o0 = d[1], o1 = d[3], o2 = d[5], o3 = d[7];
  t[0] = _mm256_add_ps(_mm256_fmsub_ps(two, _mm256_sub_ps(e0, e2), e1), e3);
  t[1] = _mm256_sub_ps(_mm256_fmadd_ps(two, e1, e2), e3);
  t[2] = _mm256_sub_ps(_mm256_fmsub_ps(three, e2, _mm256_add_ps(e1, e1)), e3);
  t[3] = _mm256_sub_ps(e3, e1);
  t[4] = _mm256_add_ps(_mm256_fmsub_ps(two, _mm256_sub_ps(e1, e3), e2), e4);
  t[5] = o0, t[6] = o1, t[7] = o2, t[8] = o3;
}

/* p = B t: the transpose of input_line, 9 points back onto the 9 patch samples. */
static inline void patch_line(const __m256 t[SPAN], __m256 p[SPAN]) {
  const __m256 two = _mm256_set1_ps(2), three = _mm256_set1_ps(3);
  p[0] = _mm256_add_ps(t[0], t[0]);
  p[2] = _mm256_fmsub_ps(two, _mm256_add_ps(_mm256_sub_ps(t[1], t[2]), t[4]), _mm256_add_ps(t[0], t[3]));
  p[4] = _mm256_sub_ps(_mm256_fmadd_ps(three, t[2], t[1]), _mm256_fmadd_ps(two, t[0], t[4]));
  p[6] = _mm256_sub_ps(_mm256_add_ps(_mm256_sub_ps(t[0], t[1]), _mm256_sub_ps(t[3], t[2])), _mm256_add_ps(t[4], t[4]));
  p[8] = t[4];
  p[1] = t[5], p[3] = t[6], p[5] = t[7], p[7] = t[8];
}

/* o = A^T m: 9 points to 4 outputs. */
static inline void output_line(const __m256 m[SPAN], __m256 o[TILE]) {
  const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
  const __m256 sum12 = _mm256_add_ps(m[1], m[2]), diff12 = _mm256_sub_ps(m[1], m[2]);
  o[0] = _mm256_add_ps(_mm256_add_ps(m[0], sum12), _mm256_add_ps(m[3], m[5]));
  o[1] = _mm256_add_ps(_mm256_fmadd_ps(two, m[3], diff12), m[6]);
  o[2] = _mm256_add_ps(_mm256_fmadd_ps(four, m[3], sum12), m[7]);
  o[3] = _mm256_add_ps(_mm256_add_ps(_mm256_fmadd_ps(eight, m[3], diff12), m[4]), m[8]);
}

/* m = A o: the transpose of output_line, 4 output gradients to 9 points. */
static inline void gradient_line(const __m256 o[TILE], __m256 m[SPAN]) {
  const __m256 two = _mm256_set1_ps(2), four = _mm256_set1_ps(4), eight = _mm256_set1_ps(8);
  const __m256 even = _mm256_add_ps(o[0], o[2]), odd = _mm256_add_ps(o[1], o[3]);
  m[0] = o[0];
  m[1] = _mm256_add_ps(even, odd);
  m[2] = _mm256_sub_ps(even, odd);
  m[3] = _mm256_fmadd_ps(eight, o[3], _mm256_fmadd_ps(four, o[2], _mm256_fmadd_ps(two, o[1], o[0])));
  m[4] = o[3];
  m[5] = o[0], m[6] = o[1], m[7] = o[2], m[8] = o[3];
}

/* u = G w: 3 kernel taps to 9 points. */
static inline void kernel_line(const __m256 w[3], __m256 u[SPAN]) {
  const __m256 half = _mm256_set1_ps(0.5f), sixth = _mm256_set1_ps(1.0f / 6);
  u[0] = _mm256_mul_ps(half, w[0]);
  u[1] = _mm256_mul_ps(half, _mm256_add_ps(w[0], w[2]));
  u[2] = _mm256_mul_ps(sixth, _mm256_sub_ps(w[0], w[2]));
  u[3] = _mm256_mul_ps(sixth, _mm256_fmadd_ps(_mm256_set1_ps(2), w[2], w[0]));
  u[4] = w[2];
  u[5] = u[6] = u[7] = u[8] = w[1];
}

/* w = G^T u: the transpose of kernel_line, 9 points to 3 kernel taps. */
static inline void tap_line(const __m256 u[SPAN], __m256 w[3]) {
  const __m256 half = _mm256_set1_ps(0.5f), sixth = _mm256_set1_ps(1.0f / 6), third = _mm256_set1_ps(1.0f / 3);
  w[0] = _mm256_fmadd_ps(half, _mm256_add_ps(u[0], u[1]), _mm256_mul_ps(sixth, _mm256_add_ps(u[2], u[3])));
  w[1] = _mm256_add_ps(_mm256_add_ps(u[5], u[6]), _mm256_add_ps(u[7], u[8]));
  w[2] = _mm256_add_ps(_mm256_fmadd_ps(half, u[1], _mm256_fmsub_ps(third, u[3], _mm256_mul_ps(sixth, u[2]))), u[4]);
}

/* ---- tiles ---- */

/* One row of a tile's patch: d[j] = x[yy][left + j] (one 8-channel register each), zero outside the image. checked is
 * a constant at each call: tiles away from the edges load without tests. */
static inline __attribute__((always_inline)) void load_patch_line(const geometry *g, const float *plane, int yy, int left,
                                                                  const int checked, __m256 d[SPAN]) {
  const float *line = plane + ((int64_t)yy * g->in_w + left) * LANES;
  #pragma GCC unroll 9
  for (int j = 0; j < SPAN; j++)
    d[j] = !checked || (yy >= 0 && yy < g->in_h && left + j >= 0 && left + j < g->in_w) ? _mm256_loadu_ps(line + j * LANES)
                                                                                      : _mm256_setzero_ps();
}

/* V[pt][slot][c] = (B^T d B)[pt] for the 9x9 patch of each tile of the block; rows row_stride floats apart, points
 * point_stride apart. */
static void transform_inputs(const geometry *g, const float *x, int64_t first, int count, int row_stride, int64_t point_stride,
                             float *v) {
  const int64_t plane = (int64_t)g->in_h * g->in_w * LANES;
  float scratch[SPAN][SPAN][LANES] __attribute__((aligned(32))); /* scratch[i][j] = (d B)[i][j] */
  for (int slot = 0; slot < count; slot++) {
    const tile_origin o = tile_at(g, first + slot);
    const int inside = o.top >= 0 && o.left >= 0 && o.top + SPAN <= g->in_h && o.left + SPAN <= g->in_w;
    for (int cb = 0; cb < g->in_blocks; cb++) {
      const float *image = x + ((int64_t)o.image * g->in_blocks + cb) * plane;
      for (int i = 0; i < SPAN; i++) {
        __m256 d[SPAN], t[SPAN];
        if (inside) load_patch_line(g, image, o.top + i, o.left, 0, d);
        else load_patch_line(g, image, o.top + i, o.left, 1, d);
        input_line(d, t);
        #pragma GCC unroll 9
        for (int j = 0; j < SPAN; j++) _mm256_store_ps(scratch[i][j], t[j]);
      }
      float *out = v + (int64_t)slot * row_stride + cb * LANES;
      for (int j = 0; j < SPAN; j++) {
        __m256 column[SPAN], t[SPAN];
        #pragma GCC unroll 9
        for (int i = 0; i < SPAN; i++) column[i] = _mm256_load_ps(scratch[i][j]);
        input_line(column, t);
        #pragma GCC unroll 9
        for (int i = 0; i < SPAN; i++) _mm256_storeu_ps(out + (i * SPAN + j) * point_stride, t[i]);
      }
    }
  }
}

/* y (the tile's pixels inside the output) = A^T M A for each tile of the block, through the epilogue if any. */
static void transform_outputs(const geometry *g, const float *m, int64_t first, int count, int row_stride, const conv_epilogue *ep,
                              float *y) {
  const int64_t plane = (int64_t)g->out_h * g->out_w * LANES, point_stride = winograd_points_apart(count, row_stride);
  float scratch[SPAN][TILE][LANES] __attribute__((aligned(32))); /* scratch[i][c] = (M A)[i][c] */
  for (int slot = 0; slot < count; slot++) {
    const tile_origin o = tile_at(g, first + slot);
    for (int kb = 0; kb < g->out_blocks; kb++) {
      const float *in = m + (int64_t)slot * row_stride + kb * LANES;
      for (int i = 0; i < SPAN; i++) {
        __m256 line[SPAN], half[TILE];
        #pragma GCC unroll 9
        for (int j = 0; j < SPAN; j++) line[j] = _mm256_loadu_ps(in + (i * SPAN + j) * point_stride);
        output_line(line, half);
        #pragma GCC unroll 4
        for (int c = 0; c < TILE; c++) _mm256_store_ps(scratch[i][c], half[c]);
      }
      float *image = y + ((int64_t)o.image * g->out_blocks + kb) * plane;
      for (int c = 0; c < TILE && o.x0 + c < g->out_w; c++) {
        __m256 column[SPAN], out[TILE];
        #pragma GCC unroll 9
        for (int i = 0; i < SPAN; i++) column[i] = _mm256_load_ps(scratch[i][c]);
        output_line(column, out);
        for (int r = 0; r < TILE && o.y0 + r < g->out_h; r++)
          {
          float *at = image + ((int64_t)(o.y0 + r) * g->out_w + o.x0 + c) * LANES;
          _mm256_storeu_ps(at, ep ? conv_epilogue_lanes(ep, kb, out[r], at - y) : out[r]);
        }
      }
    }
  }
}

/* D[pt][slot][k] = (A dy A^T)[pt] for each tile of the block (dy zero outside the output, and for the columns past the
 * last channel block up to k16). */
static void transform_gradients(const geometry *g, const float *dy, int64_t first, int count, int row_stride, int64_t point_stride,
                                float *d) {
  const int64_t plane = (int64_t)g->out_h * g->out_w * LANES;
  float scratch[TILE][SPAN][LANES] __attribute__((aligned(32))); /* scratch[r][j] = (dy A^T)[r][j] */
  for (int slot = 0; slot < count; slot++) {
    const tile_origin o = tile_at(g, first + slot);
    for (int kb = g->out_blocks; kb < g->k16 / LANES; kb++)
      for (int pt = 0; pt < POINTS; pt++) _mm256_storeu_ps(d + (int64_t)slot * row_stride + kb * LANES + pt * point_stride, _mm256_setzero_ps());
    for (int kb = 0; kb < g->out_blocks; kb++) {
      const float *image = dy + ((int64_t)o.image * g->out_blocks + kb) * plane;
      for (int r = 0; r < TILE; r++) {
        __m256 line[TILE], wide[SPAN];
        #pragma GCC unroll 4
        for (int c = 0; c < TILE; c++)
          line[c] = o.y0 + r < g->out_h && o.x0 + c < g->out_w ? _mm256_loadu_ps(image + ((int64_t)(o.y0 + r) * g->out_w + o.x0 + c) * LANES)
                                                               : _mm256_setzero_ps();
        gradient_line(line, wide);
        #pragma GCC unroll 9
        for (int j = 0; j < SPAN; j++) _mm256_store_ps(scratch[r][j], wide[j]);
      }
      float *out = d + (int64_t)slot * row_stride + kb * LANES;
      for (int j = 0; j < SPAN; j++) {
        __m256 column[TILE], t[SPAN];
        #pragma GCC unroll 4
        for (int r = 0; r < TILE; r++) column[r] = _mm256_load_ps(scratch[r][j]);
        gradient_line(column, t);
        #pragma GCC unroll 9
        for (int i = 0; i < SPAN; i++) _mm256_storeu_ps(out + (i * SPAN + j) * point_stride, t[i]);
      }
    }
  }
}

/* dx += B dV B^T for each tile of the block: the gradient of its 9x9 patch, added onto the pixels inside the image.
 * Neighbouring patches share a row or column, so the caller keeps each image's tiles in one thread, in order. */
static void scatter_patches(const geometry *g, const float *dv, int64_t first, int count, int row_stride, float *dx) {
  const int64_t plane = (int64_t)g->in_h * g->in_w * LANES, point_stride = winograd_points_apart(count, row_stride);
  float scratch[SPAN][SPAN][LANES] __attribute__((aligned(32))); /* scratch[i][jj] = (dV B^T)[i][jj] */
  for (int slot = 0; slot < count; slot++) {
    const tile_origin o = tile_at(g, first + slot);
    for (int cb = 0; cb < g->in_blocks; cb++) {
      const float *in = dv + (int64_t)slot * row_stride + cb * LANES;
      for (int i = 0; i < SPAN; i++) {
        __m256 line[SPAN], p[SPAN];
        #pragma GCC unroll 9
        for (int j = 0; j < SPAN; j++) line[j] = _mm256_loadu_ps(in + (i * SPAN + j) * point_stride);
        patch_line(line, p);
        #pragma GCC unroll 9
        for (int j = 0; j < SPAN; j++) _mm256_store_ps(scratch[i][j], p[j]);
      }
      float *image = dx + ((int64_t)o.image * g->in_blocks + cb) * plane;
      for (int jj = 0; jj < SPAN; jj++) {
        const int xx = o.left + jj;
        if (xx < 0 || xx >= g->in_w) continue;
        __m256 column[SPAN], p[SPAN];
        #pragma GCC unroll 9
        for (int i = 0; i < SPAN; i++) column[i] = _mm256_load_ps(scratch[i][jj]);
        patch_line(column, p);
        for (int ii = 0; ii < SPAN; ii++) {
          const int yy = o.top + ii;
          if (yy < 0 || yy >= g->in_h) continue;
          float *at = image + ((int64_t)yy * g->in_w + xx) * LANES;
          _mm256_storeu_ps(at, _mm256_add_ps(_mm256_loadu_ps(at), p[ii]));
        }
      }
    }
  }
}

/* ---- weights ---- */

/* u = G g G^T for the 3x3 kernels of 8 lanes. */
static inline void kernel_to_points(const __m256 g[3][3], __m256 u[SPAN][SPAN]) {
  __m256 half[3][SPAN]; /* half[a][j] = (g G^T)[a][j] */
  for (int a = 0; a < 3; a++) kernel_line(g[a], half[a]);
  for (int j = 0; j < SPAN; j++) {
    __m256 column[3] = {half[0][j], half[1][j], half[2][j]}, out[SPAN];
    kernel_line(column, out);
    for (int i = 0; i < SPAN; i++) u[i][j] = out[i];
  }
}

/* g = G^T u G for 8 lanes. */
static inline void points_to_kernel(const __m256 u[SPAN][SPAN], __m256 g[3][3]) {
  __m256 half[SPAN][3]; /* half[i][b] = (u G)[i][b] */
  for (int i = 0; i < SPAN; i++) tap_line(u[i], half[i]);
  for (int b = 0; b < 3; b++) {
    __m256 column[SPAN], out[3];
    for (int i = 0; i < SPAN; i++) column[i] = half[i][b];
    tap_line(column, out);
    for (int a = 0; a < 3; a++) g[a][b] = out[a];
  }
}

/* The transformed kernels, zero for padded channels, 8 lanes at a time. Forward: U[pt][k / 16][c][k % 16] over c8
 * input and k16 output channels (lanes: 8 consecutive k). Data gradient: U[pt][c / 16][k][c % 16] over k16 and c16
 * (lanes: 8 consecutive c), the transposed products. */
static void transform_weights(const geometry *g, const float *w, int for_data_gradient, float *u) {
  const int lane_dim = for_data_gradient ? g->c16 : g->k16, other_dim = for_data_gradient ? g->k16 : g->c8;
  const int64_t pairs = (int64_t)(lane_dim / LANES) * other_dim;
#pragma omp parallel for schedule(static)
  for (int64_t pair = 0; pair < pairs; pair++) {
    const int other = (int)(pair % other_dim), lane0 = (int)(pair / other_dim) * LANES;
    __m256 taps[3][3], points[SPAN][SPAN];
    for (int tap = 0; tap < 9; tap++) {
      float lanes[LANES];
      for (int l = 0; l < LANES; l++) {
        const int k = for_data_gradient ? other : lane0 + l, c = for_data_gradient ? lane0 + l : other;
        lanes[l] = k < g->out_c && c < g->in_c ? w[((int64_t)k * g->in_c + c) * 9 + tap] : 0.0f;
      }
      taps[tap / 3][tap % 3] = _mm256_loadu_ps(lanes);
    }
    kernel_to_points(taps, points);
    for (int pt = 0; pt < POINTS; pt++)
      _mm256_storeu_ps(u + (((int64_t)pt * (lane_dim / PANEL) + lane0 / PANEL) * other_dim + other) * PANEL + lane0 % PANEL,
                       points[pt / SPAN][pt % SPAN]);
  }
}

/* ---- the passes ---- */

int winograd_s2_conv_fits(const scan_conv_shape *s) {
  if (s->kernel != 3 || s->stride != 2 || s->pad != 1 || s->src_block != LANES || s->dst_block != LANES) return 0;
  return s->out_h == (s->in_h - 1) / 2 + 1 && s->out_w == (s->in_w - 1) / 2 + 1;
}

int winograd_s2_conv_applies(const scan_conv_shape *s) { return s->fast && winograd_s2_conv_fits(s) && winograd_enough_tiles(s); }

static scan_status forward(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w,
                           const conv_epilogue *ep, float *y) {
  const geometry g = make_geometry(s);
  const int threads = omp_get_max_threads();
  const size_t u_floats = (size_t)POINTS * g.c8 * g.k16;
  const int per_block = winograd_tiles_per_block(g.tiles, threads, winograd_block_tiles((double)u_floats * sizeof(float)));
  const int64_t blocks = (g.tiles + per_block - 1) / per_block;
  const size_t block_floats = (size_t)POINTS * (winograd_points_apart(per_block, g.c8) + winograd_points_apart(per_block, g.k16));
  float *buffer = conv_scratch_reserve(scratch, u_floats + block_floats * threads);
  if (!buffer) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for Winograd buffers (%zu floats)", u_floats + block_floats * threads);
  float *u = buffer;
  transform_weights(&g, w, 0, u);
  const int panels = g.k16 / PANEL;
#pragma omp parallel for schedule(dynamic) /* as in conv_winograd.c: a block's result does not depend on its thread */
  for (int64_t block = 0; block < blocks; block++) {
    const int64_t first = block * per_block;
    const int count = (int)(first + per_block <= g.tiles ? per_block : g.tiles - first);
    float *v = u + u_floats + block_floats * omp_get_thread_num();
    float *m = v + (size_t)POINTS * winograd_points_apart(count, g.c8);
    transform_inputs(&g, x, first, count, g.c8, winograd_points_apart(count, g.c8), v);
    for (int pt = 0; pt < POINTS; pt++) {
      const float *vp = v + pt * winograd_points_apart(count, g.c8);
      float *mp = m + pt * winograd_points_apart(count, g.k16);
      for (int p = 0; p < panels; p++) {
        const float *panel = u + ((int64_t)pt * panels + p) * g.c8 * PANEL;
        for (int r = 0; r < count; r += KERNEL_ROWS)
          gemm_panel_rows(count - r < KERNEL_ROWS ? count - r : KERNEL_ROWS, vp + (int64_t)r * g.c8, g.c8, panel, PANEL, g.c8,
                          mp + (int64_t)r * g.k16 + p * PANEL, g.k16, LANES);
      }
    }
    transform_outputs(&g, m, first, count, g.k16, ep, y);
  }
  return SCAN_OK;
}

scan_status winograd_s2_conv_forward(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w,
                                     float *y) {
  return forward(scratch, s, x, w, NULL, y);
}

scan_status winograd_s2_conv_forward_affine(conv_scratch *scratch, const scan_conv_shape *s, const float *x,
                                            const float *w, const scan_conv_epilogue *ep, float *y) {
  return forward(scratch, s, x, w, ep, y);
}

/* Blocks of whole images, so the overlapping patch gradients of an image are added by one thread in tile order: the
 * same bits for any thread count. */
scan_status winograd_s2_conv_backward_data(conv_scratch *scratch, const scan_conv_shape *s, const float *dy,
                                           const float *w, float *dx) {
  const geometry g = make_geometry(s);
  const int threads = omp_get_max_threads();
  const size_t u_floats = (size_t)POINTS * g.c16 * g.k16;
  const int most = winograd_block_tiles((double)u_floats * sizeof(float));
  const int images_per_block = most / g.tiles_per_image > 1 ? most / g.tiles_per_image : 1;
  const int per_block = images_per_block * g.tiles_per_image;
  const size_t block_floats = (size_t)POINTS * (winograd_points_apart(per_block, g.k16) + winograd_points_apart(per_block, g.c16));
  float *buffer = conv_scratch_reserve(scratch, u_floats + block_floats * threads);
  if (!buffer) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for Winograd buffers (%zu floats)", u_floats + block_floats * threads);
  float *u = buffer;
  transform_weights(&g, w, 1, u);
  const int panels = g.c16 / PANEL;
  const int64_t image_floats = (int64_t)g.in_blocks * g.in_h * g.in_w * LANES;
  const int64_t image_blocks = (g.n + images_per_block - 1) / images_per_block;
#pragma omp parallel for schedule(dynamic)
  for (int64_t block = 0; block < image_blocks; block++) {
    const int image = (int)(block * images_per_block), images = g.n - image < images_per_block ? g.n - image : images_per_block;
    const int64_t first = (int64_t)image * g.tiles_per_image;
    const int count = images * g.tiles_per_image;
    float *d = u + u_floats + block_floats * omp_get_thread_num();
    float *dv = d + (size_t)POINTS * winograd_points_apart(count, g.k16);
    memset(dx + image * image_floats, 0, (size_t)images * image_floats * sizeof(float));
    transform_gradients(&g, dy, first, count, g.k16, winograd_points_apart(count, g.k16), d);
    for (int pt = 0; pt < POINTS; pt++) {
      const float *dp = d + pt * winograd_points_apart(count, g.k16);
      float *vp = dv + pt * winograd_points_apart(count, g.c16);
      for (int p = 0; p < panels; p++) {
        const float *panel = u + ((int64_t)pt * panels + p) * g.k16 * PANEL;
        for (int r = 0; r < count; r += KERNEL_ROWS)
          gemm_panel_rows(count - r < KERNEL_ROWS ? count - r : KERNEL_ROWS, dp + (int64_t)r * g.k16, g.k16, panel, PANEL, g.k16,
                          vp + (int64_t)r * g.c16 + p * PANEL, g.c16, LANES);
      }
    }
    scatter_patches(&g, dv, first, count, g.c16, dx);
  }
  return SCAN_OK;
}

/* The transforms for winograd_weight_gradient (winograd_blocks.h). */
static void job_inputs(const void *g, const float *x, int64_t first, int count, int row_stride, int64_t point_stride, float *v) {
  transform_inputs(g, x, first, count, row_stride, point_stride, v);
}
static void job_gradients(const void *g, const float *dy, int64_t first, int count, int row_stride, int64_t point_stride, float *d) {
  transform_gradients(g, dy, first, count, row_stride, point_stride, d);
}
static void job_to_kernel(const __m256 *u, __m256 kernel[3][3]) { points_to_kernel((const __m256(*)[SPAN])u, kernel); }

scan_status winograd_s2_conv_backward_weights(conv_scratch *scratch, const scan_conv_shape *s, const float *x,
                                              const float *dy, float *dw) {
  const geometry g = make_geometry(s);
  const winograd_weights_job job = {&g, POINTS, g.tiles, g.c8, g.k16, g.in_c, g.out_c, job_inputs, job_gradients, job_to_kernel};
  return winograd_weight_gradient(scratch, &job, x, dy, dw);
}
