/* The reference backend: plain loops that follow the definitions, accumulating in double. Written for
 * clarity, not speed; every other backend is tested against it. Convolution and GEMM here, the memory-bound layers
 * in naive_layers.c. */
#include "cpu_layers.h"
#include "naive_layers.h"
#include "scan/tensor.h"

/* Index helpers for NCHW activations and [OC, IC, K, K] weights. */
#define X_AT(s, b, c, y, x) ((((int64_t)(b) * (s)->in_c + (c)) * (s)->in_h + (y)) * (s)->in_w + (x))
#define Y_AT(s, b, c, y, x) ((((int64_t)(b) * (s)->out_c + (c)) * (s)->out_h + (y)) * (s)->out_w + (x))
#define W_AT(s, o, i, ky, kx) ((((int64_t)(o) * (s)->in_c + (i)) * (s)->kernel + (ky)) * (s)->kernel + (kx))

static int naive_preferred_block(scan_context *ctx) { return 1; }

static scan_status plain_only(const scan_conv_shape *s) {
  if (s->src_block > 1 || s->dst_block > 1)
    return scan_fail(SCAN_ERR_INTERNAL, "naive backend: blocked activation layouts are not supported");
  if (s->algo != SCAN_CONV_AUTO)
    return scan_fail(SCAN_ERR_INPUT, "naive backend: convolution algorithm '%s' is oneDNN's backend's; the reference loops "
                                     "are the only algorithm here", scan_conv_algo_name((scan_conv_algo)s->algo));
  return SCAN_OK;
}

static scan_status naive_conv_algo_check(scan_context *ctx, const scan_conv_shape *s) { return plain_only(s); }

static scan_status naive_conv_forward(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s, const float *x,
                                      const float *w, float *y) {
  (void)state;
  SCAN_TRY(plain_only(s));
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < s->n; b++)
    for (int o = 0; o < s->out_c; o++)
      for (int oy = 0; oy < s->out_h; oy++)
        for (int ox = 0; ox < s->out_w; ox++) {
          double acc = 0;
          for (int i = 0; i < s->in_c; i++)
            for (int ky = 0; ky < s->kernel; ky++) {
              int iy = oy * s->stride - s->pad + ky;
              if (iy < 0 || iy >= s->in_h) continue;
              for (int kx = 0; kx < s->kernel; kx++) {
                int ix = ox * s->stride - s->pad + kx;
                if (ix < 0 || ix >= s->in_w) continue;
                acc += (double)x[X_AT(s, b, i, iy, ix)] * w[W_AT(s, o, i, ky, kx)];
              }
            }
          y[Y_AT(s, b, o, oy, ox)] = (float)acc;
        }
  return SCAN_OK;
}

/* dx[b,i,iy,ix] = sum over (o,ky,kx) whose window covers (iy,ix) of dy * w: gathered per input cell so each
 * output element is written by one thread. */
static scan_status naive_conv_backward_data(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s,
                                            const float *dy, const float *w, float *dx) {
  (void)state;
  SCAN_TRY(plain_only(s));
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < s->n; b++)
    for (int i = 0; i < s->in_c; i++)
      for (int iy = 0; iy < s->in_h; iy++)
        for (int ix = 0; ix < s->in_w; ix++) {
          double acc = 0;
          for (int o = 0; o < s->out_c; o++)
            for (int ky = 0; ky < s->kernel; ky++) {
              int ty = iy + s->pad - ky;
              if (ty < 0 || ty % s->stride) continue;
              int oy = ty / s->stride;
              if (oy >= s->out_h) continue;
              for (int kx = 0; kx < s->kernel; kx++) {
                int tx = ix + s->pad - kx;
                if (tx < 0 || tx % s->stride) continue;
                int ox = tx / s->stride;
                if (ox >= s->out_w) continue;
                acc += (double)dy[Y_AT(s, b, o, oy, ox)] * w[W_AT(s, o, i, ky, kx)];
              }
            }
          dx[X_AT(s, b, i, iy, ix)] = (float)acc;
        }
  return SCAN_OK;
}

static scan_status naive_conv_backward_weights(scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s,
                                               const float *x, const float *dy, float *dw) {
  (void)state;
  SCAN_TRY(plain_only(s));
#pragma omp parallel for collapse(2) schedule(static)
  for (int o = 0; o < s->out_c; o++)
    for (int i = 0; i < s->in_c; i++)
      for (int ky = 0; ky < s->kernel; ky++)
        for (int kx = 0; kx < s->kernel; kx++) {
          double acc = 0;
          for (int b = 0; b < s->n; b++)
            for (int oy = 0; oy < s->out_h; oy++) {
              int iy = oy * s->stride - s->pad + ky;
              if (iy < 0 || iy >= s->in_h) continue;
              for (int ox = 0; ox < s->out_w; ox++) {
                int ix = ox * s->stride - s->pad + kx;
                if (ix < 0 || ix >= s->in_w) continue;
                acc += (double)x[X_AT(s, b, i, iy, ix)] * dy[Y_AT(s, b, o, oy, ox)];
              }
            }
          dw[W_AT(s, o, i, ky, kx)] += (float)acc;
        }
  return SCAN_OK;
}

static void naive_conv_state_free(scan_conv_state *state) { (void)state; }

static void naive_gemm(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda,
                       const float *b, int ldb, float beta, float *c, int ldc) {
#pragma omp parallel for schedule(static)
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double acc = 0;
      for (int p = 0; p < k; p++) {
        double av = trans_a ? a[(int64_t)p * lda + i] : a[(int64_t)i * lda + p];
        double bv = trans_b ? b[(int64_t)j * ldb + p] : b[(int64_t)p * ldb + j];
        acc += av * bv;
      }
      float *cij = &c[(int64_t)i * ldc + j];
      /* beta == 0 must ignore C entirely (it may hold garbage or NaN), as BLAS does. */
      *cij = (float)(alpha * acc + (beta == 0.0f ? 0.0 : (double)beta * *cij));
    }
}

const scan_backend *scan_backend_naive(void) {
  static const scan_backend backend = {
      .name = "naive",
      .preferred_block = naive_preferred_block,
      .conv_forward = naive_conv_forward,
      .conv_backward_data = naive_conv_backward_data,
      .conv_backward_weights = naive_conv_backward_weights,
      .conv_state_free = naive_conv_state_free,
      .conv_algo_check = naive_conv_algo_check,
      .gemm = naive_gemm,
      .bn_stats = naive_bn_stats,
      .bn_apply = naive_bn_apply,
      .bn_backward = naive_bn_backward,
      .bn_backward_eval = naive_bn_backward_eval,
      .bn_sums = naive_bn_sums,
      .bn_grad_sums = naive_bn_grad_sums,
      .bn_backward_dx = naive_bn_backward_dx,
      .relu_forward = naive_relu_forward,
      .relu_backward = naive_relu_backward,
      .add_forward = naive_add_forward,
      .add_backward = naive_add_backward,
      .accumulate = naive_accumulate,
      .maxpool_forward = naive_maxpool_forward,
      .maxpool_backward = naive_maxpool_backward,
      .gap_forward = naive_gap_forward,
      .gap_backward = naive_gap_backward,
      .bias_forward = rows_bias_forward, /* shared: already plain loops with double sums (rows.c) */
      .bias_backward = rows_bias_backward,
      .l2norm_forward = rows_l2norm_forward,
      .l2norm_backward = rows_l2norm_backward,
  };
  return &backend;
}
