/* Every op of the backend table (include/scan/tensor.h), the oneDNN backend against the naive reference, the way
 * ggml's test-backend-ops checks every backend against the CPU: small shapes, odd sizes, channel counts that are not a
 * multiple of the block, and each layout the oneDNN backend runs (plain, 8 and 16 channels per block; the reference
 * takes plain NCHW, so the oneDNN side gets the same values laid out blocked and its results are read back).
 *
 * Tolerances follow from each op's rounding; u = 2^-24 is float's unit roundoff. Ops that only select, copy or do
 * one float operation per element (ReLU, residual add, accumulate, max-pool and its backward where windows do not
 * overlap, global average pool's backward) must match exactly. Every comparison fails on NaN or inf
 * (test_max_rel_diff and test_worse). */
#include <stdlib.h>
#include <string.h>

#include "scan/context.h"
#include "scan/tensor.h"
#include "testlib.h"

static const double kU = 0x1p-24;
static const double kEps = 1e-5;
static const scan_backend *ref, *fast;
static int light;

typedef struct { int n, c, h, w; } act_shape;

static int64_t plain_count(act_shape s) { return (int64_t)s.n * s.c * s.h * s.w; }
static int64_t padded_count(act_shape s, int block) { return (int64_t)s.n * scan_channel_blocks(s.c, block) * block * s.h * s.w; }

/* The plain tensor in the layout `block` (padded channels zero), malloc'd. */
static float *to_layout(act_shape s, int block, const float *plain) {
  float *out = malloc((size_t)padded_count(s, block) * sizeof(float));
  test_to_blocked(s.n, s.c, s.h * s.w, block, plain, out);
  return out;
}

/* Padded channels of a blocked tensor must hold zeros. */
static int padding_is_zero(act_shape s, int block, const float *blocked) {
  const int blocks = scan_channel_blocks(s.c, block), hw = s.h * s.w;
  for (int b = 0; b < s.n; b++)
    for (int ch = s.c; ch < blocks * block; ch++)
      for (int i = 0; i < hw; i++)
        if (blocked[(((int64_t)b * blocks + ch / block) * hw + i) * block + ch % block] != 0) return 0;
  return 1;
}

/* The oneDNN result `blocked` read back to plain and compared with the reference's `want`; its padding must be 0. */
static void check_act(const char *op, act_shape s, int block, const float *blocked, const float *want, double tol) {
  float *got = malloc((size_t)plain_count(s) * sizeof(float));
  test_from_blocked(s.n, s.c, s.h * s.w, block, blocked, got);
  const double diff = test_max_rel_diff(got, want, plain_count(s));
  CHECK_MSG(diff <= tol, "%s n%d c%d %dx%d block %d: relative difference %g > %g", op, s.n, s.c, s.h, s.w, block, diff, tol);
  CHECK_MSG(padding_is_zero(s, block, blocked), "%s n%d c%d block %d: padded channels are not zero", op, s.n, s.c, block);
  free(got);
}

static void check_vec(const char *op, act_shape s, int block, const float *got, const float *want, int64_t count, double tol) {
  const double diff = test_max_rel_diff(got, want, count);
  CHECK_MSG(diff <= tol, "%s n%d c%d %dx%d block %d: relative difference %g > %g", op, s.n, s.c, s.h, s.w, block, diff, tol);
}

static float *copy_of(const float *src, int64_t count) {
  float *out = malloc((size_t)count * sizeof(float));
  memcpy(out, src, (size_t)count * sizeof(float));
  return out;
}

/* ---- batch-norm ----
 * The oneDNN backend sums each image's plane of hw pixels in float (two interleaved accumulators, so hw/2 terms each)
 * and adds the planes in double; the reference sums in double throughout. A float sum of k terms errs by at most
 * about k u times the sum of their magnitudes, and the inputs below (|x - mean| up to about 5, |mean| >= 0.5, randn
 * gradients) keep those magnitudes within 10x of the results: statistics and the training-mode dx (which subtracts
 * those sums / m) within (hw/2 + 2) u 10. Parameter gradients are sums over all n hw values of terms with random signs,
 * about sqrt(n hw) smaller than the sum of the magnitudes: that factor more. */
static double plane_sum_tol(act_shape s) { return (s.h * s.w / 2 + 2) * kU * 10; }
static double param_grad_tol(act_shape s) { return plane_sum_tol(s) * sqrt((double)s.n * s.h * s.w); }
/* Applying fixed statistics: the oneDNN backend folds them into a float scale and shift (scale = gamma invstd, shift =
 * beta - mean scale, y = x scale + shift: a handful of roundings of terms up to |x scale| ~ 6 |gamma invstd|, where
 * the reference rounds once): 64 u relative to the largest output. */
static const double kApplyTol = 64 * 0x1p-24;
/* Eval-mode dx = dy gamma invstd: the float scale and the product, against one rounding: 4 u. */
static const double kEvalDxTol = 4 * 0x1p-24;

static void test_batchnorm(act_shape s, int block) {
  const int hw = s.h * s.w, c = s.c;
  const int64_t count = plain_count(s);
  float *x = test_randn(41, count, 1), *dy = test_randn(41, count, 2), *gamma = test_randn(41, c, 3), *beta = test_randn(41, c, 4);
  float *run_mean = test_randn(41, c, 5), *run_var = test_randn(41, c, 6), *grad_start = test_randn(41, 2 * c, 7);
  for (int ch = 0; ch < c; ch++) run_var[ch] = 0.5f + fabsf(run_var[ch]);
  for (int b = 0; b < s.n; b++) /* per-channel offsets: statistics far from zero, as after a convolution */
    for (int ch = 0; ch < c; ch++)
      for (int i = 0; i < hw; i++) x[((int64_t)b * c + ch) * hw + i] += 0.5f + (float)(ch % 5) * 0.25f;
  float *xb = to_layout(s, block, x), *dyb = to_layout(s, block, dy);
  float *mean0 = malloc(c * sizeof(float)), *var0 = malloc(c * sizeof(float)), *mean1 = malloc(c * sizeof(float)),
        *var1 = malloc(c * sizeof(float));
  CHECK(ref->bn_stats(s.n, c, hw, 1, x, mean0, var0) == SCAN_OK);
  CHECK(fast->bn_stats(s.n, c, hw, block, xb, mean1, var1) == SCAN_OK);
  check_vec("bn_stats mean", s, block, mean1, mean0, c, plane_sum_tol(s));
  check_vec("bn_stats var", s, block, var1, var0, c, plane_sum_tol(s));

  /* synchronised batch-norm's sums, turned into statistics, against the reference's statistics */
  double *sums = malloc(4 * (size_t)c * sizeof(double));
  CHECK(fast->bn_sums(s.n, c, hw, block, xb, sums, sums + c) == SCAN_OK);
  scan_bn_stats_from_sums(c, (double)s.n * hw, sums, sums + c, mean1, var1);
  check_vec("bn_sums mean", s, block, mean1, mean0, c, plane_sum_tol(s));
  check_vec("bn_sums var", s, block, var1, var0, c, plane_sum_tol(s));

  float *y0 = malloc((size_t)count * sizeof(float)), *yb = malloc((size_t)padded_count(s, block) * sizeof(float));
  float *dx0 = malloc((size_t)count * sizeof(float)), *dxb = malloc((size_t)padded_count(s, block) * sizeof(float));
  for (int relu = 0; relu < 2; relu++) {
    /* both sides apply the reference's statistics, so this checks the op alone */
    CHECK(ref->bn_apply(s.n, c, hw, 1, x, mean0, var0, kEps, gamma, beta, relu, y0) == SCAN_OK);
    CHECK(fast->bn_apply(s.n, c, hw, block, xb, mean0, var0, kEps, gamma, beta, relu, yb) == SCAN_OK);
    check_act(relu ? "bn_apply relu" : "bn_apply", s, block, yb, y0, kApplyTol);
    /* the fused ReLU's output for the backward: the reference's on both sides, so both mask the same cells */
    float *relu_out = relu ? y0 : NULL, *relu_out_b = relu ? to_layout(s, block, y0) : NULL;
    for (int eval = 0; eval < 2; eval++) {
      const float *mu = eval ? run_mean : mean0, *va = eval ? run_var : var0;
      /* parameter gradients start equal and non-zero: the backward must add to them */
      float *dg0 = copy_of(grad_start, c), *db0 = copy_of(grad_start + c, c), *dg1 = copy_of(grad_start, c), *db1 = copy_of(grad_start + c, c);
      if (eval) {
        CHECK(ref->bn_backward_eval(s.n, c, hw, 1, x, dy, relu_out, mu, va, kEps, gamma, dx0, dg0, db0) == SCAN_OK);
        CHECK(fast->bn_backward_eval(s.n, c, hw, block, xb, dyb, relu_out_b, mu, va, kEps, gamma, dxb, dg1, db1) == SCAN_OK);
      } else {
        CHECK(ref->bn_backward(s.n, c, hw, 1, x, dy, relu_out, mu, va, kEps, gamma, dx0, dg0, db0) == SCAN_OK);
        CHECK(fast->bn_backward(s.n, c, hw, block, xb, dyb, relu_out_b, mu, va, kEps, gamma, dxb, dg1, db1) == SCAN_OK);
      }
      char op[64];
      snprintf(op, sizeof op, "bn_backward%s%s dx", eval ? "_eval" : "", relu ? " relu" : "");
      check_act(op, s, block, dxb, dx0, eval ? kEvalDxTol : plane_sum_tol(s));
      snprintf(op, sizeof op, "bn_backward%s%s dgamma", eval ? "_eval" : "", relu ? " relu" : "");
      check_vec(op, s, block, dg1, dg0, c, param_grad_tol(s));
      snprintf(op, sizeof op, "bn_backward%s%s dbeta", eval ? "_eval" : "", relu ? " relu" : "");
      check_vec(op, s, block, db1, db0, c, param_grad_tol(s));
      free(dg0), free(db0), free(dg1), free(db1);
    }
    /* synchronised batch-norm's backward in its two parts, over the whole batch: bn_backward's dx and parameter
       gradients (dx0, and the reference's parameter gradients, from the loop's last pass: training mode) */
    float *dg1 = copy_of(grad_start, c), *db1 = copy_of(grad_start + c, c), *dg0 = copy_of(grad_start, c), *db0 = copy_of(grad_start + c, c);
    CHECK(ref->bn_backward(s.n, c, hw, 1, x, dy, relu_out, mean0, var0, kEps, gamma, dx0, dg0, db0) == SCAN_OK);
    CHECK(fast->bn_grad_sums(s.n, c, hw, block, xb, dyb, relu_out_b, mean0, var0, kEps, sums + 2 * c, sums + 3 * c, dg1, db1) == SCAN_OK);
    CHECK(fast->bn_backward_dx(s.n, c, hw, block, xb, dyb, relu_out_b, mean0, var0, kEps, gamma, (double)s.n * hw, sums + 2 * c,
                               sums + 3 * c, dxb) == SCAN_OK);
    check_act(relu ? "bn_grad_sums + bn_backward_dx relu" : "bn_grad_sums + bn_backward_dx", s, block, dxb, dx0, plane_sum_tol(s));
    check_vec("bn_grad_sums dgamma", s, block, dg1, dg0, c, param_grad_tol(s));
    check_vec("bn_grad_sums dbeta", s, block, db1, db0, c, param_grad_tol(s));
    free(dg0), free(db0), free(dg1), free(db1);
    free(relu_out_b);
  }
  free(x), free(dy), free(gamma), free(beta), free(run_mean), free(run_var), free(grad_start), free(xb), free(dyb);
  free(mean0), free(var0), free(mean1), free(var1), free(y0), free(yb), free(dx0), free(dxb), free(sums);
}

/* Synchronised batch-norm with a fake reduction: the batch in two unequal shards (images [0, n1) and [n1, n), as two
 * ranks hold them), each shard's sums added as the all-reduce adds them, then each shard normalised and
 * back-propagated with the totals. Its outputs, input gradients and parameter gradients (each shard adding its own
 * part) must be one batch-norm's over the whole batch on the same backend (be, in layout `block`). Both sides sum the
 * same float values in a different grouping, each within the bounds above of the exact result: twice those bounds. */
/* The sums over the batch run in parallel over (channel block, chunk of images) and add the chunks in a fixed order:
 * the same bits on 1 and 2 threads, also for one channel block (16 channels in blocks of 16). */
static void test_batchnorm_threads(int block) {
  const act_shape s = {21, 16, 6, 5};
  const int hw = s.h * s.w, c = s.c;
  const int64_t count = plain_count(s), padded = (int64_t)s.n * scan_channel_blocks(c, block) * block * hw;
  float *x = test_randn(43, count, 1), *dy = test_randn(43, count, 2), *gamma = test_randn(43, c, 3);
  float *xb = to_layout(s, block, x), *dyb = to_layout(s, block, dy);
  float *stats[2], *dx[2], *dparams[2];
  scan_context *ctx = scan_context_default();
  const int threads = scan_context_threads(ctx);
  for (int t = 0; t < 2; t++) {
    scan_context_set_threads(ctx, t + 1);
    stats[t] = malloc(2 * c * sizeof(float)), dx[t] = malloc(padded * sizeof(float)), dparams[t] = calloc(2 * c, sizeof(float));
    CHECK(fast->bn_stats(s.n, c, hw, block, xb, stats[t], stats[t] + c) == SCAN_OK);
    CHECK(fast->bn_backward(s.n, c, hw, block, xb, dyb, NULL, stats[t], stats[t] + c, kEps, gamma, dx[t], dparams[t],
                            dparams[t] + c) == SCAN_OK);
  }
  scan_context_set_threads(ctx, threads);
  CHECK_MSG(memcmp(stats[0], stats[1], 2 * c * sizeof(float)) == 0, "bn_stats differ between 1 and 2 threads (block %d)", block);
  CHECK_MSG(memcmp(dx[0], dx[1], padded * sizeof(float)) == 0 && memcmp(dparams[0], dparams[1], 2 * c * sizeof(float)) == 0,
            "bn_backward differs between 1 and 2 threads (block %d)", block);
  for (int t = 0; t < 2; t++) free(stats[t]), free(dx[t]), free(dparams[t]);
  free(x), free(dy), free(gamma), free(xb), free(dyb);
}

static void test_batchnorm_sharded(const scan_backend *be, act_shape s, int block) {
  const int hw = s.h * s.w, c = s.c, n1 = (s.n + 2) / 3, n2 = s.n - n1;
  const int64_t count = plain_count(s), per_image = padded_count(s, block) / s.n;
  float *x = test_randn(43, count, 1), *dy = test_randn(43, count, 2), *gamma = test_randn(43, c, 3), *beta = test_randn(43, c, 4);
  for (int64_t i = 0; i < count; i++) x[i] += 0.5f + (float)((i / hw) % c % 5) * 0.25f; /* offsets, as above */
  float *xb = to_layout(s, block, x), *dyb = to_layout(s, block, dy);
  float *mean = malloc(4 * (size_t)c * sizeof(float)), *var = mean + c, *mean_all = mean + 2 * c, *var_all = mean + 3 * c;
  double *shard = malloc(4 * (size_t)c * sizeof(double)), *total = calloc(4 * (size_t)c, sizeof(double));
  const int first[2] = {0, n1}, size[2] = {n1, n2};
  for (int r = 0; r < 2; r++) {
    CHECK(be->bn_sums(size[r], c, hw, block, xb + first[r] * per_image, shard, shard + c) == SCAN_OK);
    for (int k = 0; k < 2 * c; k++) total[k] += shard[k];
  }
  scan_bn_stats_from_sums(c, (double)count / c, total, total + c, mean, var);
  CHECK(be->bn_stats(s.n, c, hw, block, xb, mean_all, var_all) == SCAN_OK);
  check_vec("sharded mean", s, block, mean, mean_all, c, 2 * plane_sum_tol(s));
  check_vec("sharded var", s, block, var, var_all, c, 2 * plane_sum_tol(s));

  const int64_t padded = padded_count(s, block);
  float *y = malloc((size_t)padded * sizeof(float)), *y_all = malloc((size_t)padded * sizeof(float));
  float *dx = malloc((size_t)padded * sizeof(float)), *dx_all = malloc((size_t)padded * sizeof(float));
  float *grads = calloc(4 * (size_t)c, sizeof(float)), *dg = grads, *db = grads + c, *dg_all = grads + 2 * c, *db_all = grads + 3 * c;
  for (int relu = 0; relu < 2; relu++) {
    char op[64];
    for (int r = 0; r < 2; r++)
      CHECK(be->bn_apply(size[r], c, hw, block, xb + first[r] * per_image, mean, var, kEps, gamma, beta, relu,
                         y + first[r] * per_image) == SCAN_OK);
    CHECK(be->bn_apply(s.n, c, hw, block, xb, mean_all, var_all, kEps, gamma, beta, relu, y_all) == SCAN_OK);
    snprintf(op, sizeof op, "sharded bn_apply%s", relu ? " relu" : "");
    check_vec(op, s, block, y, y_all, padded, 2 * plane_sum_tol(s) + kApplyTol);

    memset(grads, 0, 4 * (size_t)c * sizeof(float));
    memset(total + 2 * c, 0, 2 * (size_t)c * sizeof(double));
    for (int r = 0; r < 2; r++) {
      CHECK(be->bn_grad_sums(size[r], c, hw, block, xb + first[r] * per_image, dyb + first[r] * per_image,
                             relu ? y + first[r] * per_image : NULL, mean, var, kEps, shard, shard + c, dg, db) == SCAN_OK);
      for (int k = 0; k < 2 * c; k++) total[2 * c + k] += shard[k];
    }
    for (int r = 0; r < 2; r++)
      CHECK(be->bn_backward_dx(size[r], c, hw, block, xb + first[r] * per_image, dyb + first[r] * per_image,
                               relu ? y + first[r] * per_image : NULL, mean, var, kEps, gamma, (double)count / c,
                               total + 2 * c, total + 3 * c, dx + first[r] * per_image) == SCAN_OK);
    CHECK(be->bn_backward(s.n, c, hw, block, xb, dyb, relu ? y_all : NULL, mean_all, var_all, kEps, gamma, dx_all, dg_all,
                          db_all) == SCAN_OK);
    snprintf(op, sizeof op, "sharded dx%s", relu ? " relu" : "");
    check_vec(op, s, block, dx, dx_all, padded, 2 * plane_sum_tol(s));
    snprintf(op, sizeof op, "sharded dgamma%s", relu ? " relu" : "");
    check_vec(op, s, block, dg, dg_all, c, 2 * param_grad_tol(s));
    snprintf(op, sizeof op, "sharded dbeta%s", relu ? " relu" : "");
    check_vec(op, s, block, db, db_all, c, 2 * param_grad_tol(s));
  }
  free(x), free(dy), free(gamma), free(beta), free(xb), free(dyb), free(mean), free(shard), free(total);
  free(y), free(y_all), free(dx), free(dx_all), free(grads);
}

/* ---- pooling ---- */
static void test_maxpool(act_shape s, int block, int kernel, int stride, int pad) {
  const act_shape so = {s.n, s.c, scan_window_out(s.h, kernel, stride, pad), scan_window_out(s.w, kernel, stride, pad)};
  if (so.h < 1 || so.w < 1) return;
  float *x = test_randn(42, plain_count(s), 1), *dy = test_randn(42, plain_count(so), 2);
  float *xb = to_layout(s, block, x), *dyb = to_layout(so, block, dy);
  float *y0 = malloc((size_t)plain_count(so) * sizeof(float)), *yb = malloc((size_t)padded_count(so, block) * sizeof(float));
  float *dx0 = malloc((size_t)plain_count(s) * sizeof(float)), *dxb = malloc((size_t)padded_count(s, block) * sizeof(float));
  int32_t *arg0 = malloc((size_t)plain_count(so) * sizeof(int32_t)), *argb = malloc((size_t)padded_count(so, block) * sizeof(int32_t));
  CHECK(ref->maxpool_forward(s.n, s.c, 1, s.h, s.w, so.h, so.w, kernel, stride, pad, x, y0, arg0) == SCAN_OK);
  CHECK(fast->maxpool_forward(s.n, s.c, block, s.h, s.w, so.h, so.w, kernel, stride, pad, xb, yb, argb) == SCAN_OK);
  check_act("maxpool_forward", so, block, yb, y0, 0); /* a selection: exact */
  /* Each backend routes gradients with its own argmax. An input cell in up to m = ceil(kernel/stride)^2 windows gets
   * a sum of up to m gradients: one float sum against a double one, within m^2 u of the largest |dy| (exact for
   * m = 1), so dx is compared relative to max |dy|, the scale of that bound. */
  CHECK(ref->maxpool_backward(s.n, s.c, 1, s.h, s.w, so.h, so.w, arg0, dy, dx0) == SCAN_OK);
  CHECK(fast->maxpool_backward(s.n, s.c, block, s.h, s.w, so.h, so.w, argb, dyb, dxb) == SCAN_OK);
  const int per_axis = (kernel + stride - 1) / stride, m = per_axis * per_axis;
  float *dx1 = malloc((size_t)plain_count(s) * sizeof(float));
  test_from_blocked(s.n, s.c, s.h * s.w, block, dxb, dx1);
  double max_dy = 0, worst = 0;
  for (int64_t i = 0; i < plain_count(so); i++) max_dy = test_worse(max_dy, fabs(dy[i]));
  for (int64_t i = 0; i < plain_count(s); i++) worst = test_worse(worst, fabs((double)dx1[i] - dx0[i]) / max_dy);
  const double tol = m == 1 ? 0 : m * m * kU;
  CHECK_MSG(worst <= tol, "maxpool_backward k%d s%d p%d n%d c%d %dx%d block %d: %g > %g", kernel, stride, pad, s.n, s.c, s.h, s.w,
            block, worst, tol);
  CHECK(padding_is_zero(s, block, dxb));
  free(x), free(dy), free(xb), free(dyb), free(y0), free(yb), free(dx0), free(dxb), free(arg0), free(argb), free(dx1);
}

static void test_gap(act_shape s, int block) {
  const int hw = s.h * s.w;
  const int64_t nc = (int64_t)s.n * s.c;
  float *x = test_randn(43, plain_count(s), 1), *dy = test_randn(43, nc, 2), *xb = to_layout(s, block, x);
  float *y0 = malloc((size_t)nc * sizeof(float)), *y1 = malloc((size_t)nc * sizeof(float));
  float *dx0 = malloc((size_t)plain_count(s) * sizeof(float)), *dxb = malloc((size_t)padded_count(s, block) * sizeof(float));
  /* both sum in double (error ~ hw 2^-53, negligible) and round the mean to float once: within 1 ulp, 2 u */
  CHECK(ref->gap_forward(s.n, s.c, hw, 1, x, y0) == SCAN_OK);
  CHECK(fast->gap_forward(s.n, s.c, hw, block, xb, y1) == SCAN_OK);
  check_vec("gap_forward", s, block, y1, y0, nc, 2 * kU);
  /* dy / hw: a float division, or a double one rounded to float, which is the same correctly rounded value */
  CHECK(ref->gap_backward(s.n, s.c, hw, 1, dy, dx0) == SCAN_OK);
  CHECK(fast->gap_backward(s.n, s.c, hw, block, dy, dxb) == SCAN_OK);
  check_act("gap_backward", s, block, dxb, dx0, 0);
  free(x), free(dy), free(xb), free(y0), free(y1), free(dx0), free(dxb);
}

/* ---- element-wise: one float operation (or none) per element, so exact; any layout ---- */
static void check_exact(const char *op, int64_t count, const float *got, const float *want) {
  const double diff = test_max_rel_diff(got, want, count);
  CHECK_MSG(diff == 0, "%s over %lld floats: relative difference %g", op, (long long)count, diff);
}

static void test_eltwise(int64_t count) {
  float *x = test_randn(44, count, 1), *x2 = test_randn(44, count, 2), *dy = test_randn(44, count, 3), *start = test_randn(44, count, 4);
  float *y0 = malloc((size_t)count * sizeof(float)), *y1 = malloc((size_t)count * sizeof(float));
  float *g0 = malloc((size_t)count * sizeof(float)), *g1 = malloc((size_t)count * sizeof(float));
  for (int64_t i = 0; i < count; i += 7) x[i] = 0; /* ReLU's kink: 0 is not positive, its gradient is 0 */
  CHECK(ref->relu_forward(count, x, y0) == SCAN_OK);
  CHECK(fast->relu_forward(count, x, y1) == SCAN_OK);
  check_exact("relu_forward", count, y1, y0);
  memcpy(g1, x, (size_t)count * sizeof(float)); /* in place, as the heads run it */
  CHECK(fast->relu_forward(count, g1, g1) == SCAN_OK);
  check_exact("relu_forward in place", count, g1, y0);
  CHECK(ref->relu_backward(count, y0, dy, g0) == SCAN_OK);
  CHECK(fast->relu_backward(count, y0, dy, g1) == SCAN_OK);
  check_exact("relu_backward", count, g1, g0);
  memcpy(g1, dy, (size_t)count * sizeof(float));
  CHECK(fast->relu_backward(count, y0, g1, g1) == SCAN_OK);
  check_exact("relu_backward in place", count, g1, g0);
  for (int relu = 0; relu < 2; relu++) {
    CHECK(ref->add_forward(count, x, x2, relu, y0) == SCAN_OK);
    CHECK(fast->add_forward(count, x, x2, relu, y1) == SCAN_OK);
    check_exact(relu ? "add_forward relu" : "add_forward", count, y1, y0);
    float *da0 = malloc((size_t)count * sizeof(float)), *db0 = malloc((size_t)count * sizeof(float));
    float *da1 = malloc((size_t)count * sizeof(float)), *db1 = malloc((size_t)count * sizeof(float));
    for (int add_a = 0; add_a < 2; add_a++)
      for (int add_b = 0; add_b < 2; add_b++) {
        /* da and db start from different non-zero values: accumulating into and overwriting each show */
        memcpy(da0, start, (size_t)count * sizeof(float)), memcpy(da1, start, (size_t)count * sizeof(float));
        memcpy(db0, dy, (size_t)count * sizeof(float)), memcpy(db1, dy, (size_t)count * sizeof(float));
        CHECK(ref->add_backward(count, relu ? y0 : NULL, dy, da0, add_a, db0, add_b) == SCAN_OK);
        CHECK(fast->add_backward(count, relu ? y0 : NULL, dy, da1, add_a, db1, add_b) == SCAN_OK);
        check_exact("add_backward da", count, da1, da0);
        check_exact("add_backward db", count, db1, db0);
      }
    free(da0), free(db0), free(da1), free(db1);
  }
  memcpy(g0, start, (size_t)count * sizeof(float)), memcpy(g1, start, (size_t)count * sizeof(float));
  CHECK(ref->accumulate(count, dy, g0) == SCAN_OK);
  CHECK(fast->accumulate(count, dy, g1) == SCAN_OK);
  check_exact("accumulate", count, g1, g0);
  free(x), free(x2), free(dy), free(start), free(y0), free(y1), free(g0), free(g1);
}

/* ---- rows [n, d]: bias and L2 normalisation. Both backends point at the same loops (src/tensor/rows.c), so they
 * must agree exactly; the reference's gradients are checked against finite differences in test_nn_layers. ---- */
static void test_rows(int n, int d) {
  const int64_t count = (int64_t)n * d;
  float *x = test_randn(45, count, 1), *dy = test_randn(45, count, 2), *b = test_randn(45, d, 3), *start = test_randn(45, d, 4);
  for (int j = 0; j < d; j++) x[j] = 0; /* a zero row: the norm's clamp */
  float *y0 = copy_of(x, count), *y1 = copy_of(x, count), *dx0 = malloc((size_t)count * sizeof(float)),
        *dx1 = malloc((size_t)count * sizeof(float)), *db0 = copy_of(start, d), *db1 = copy_of(start, d);
  CHECK(ref->bias_forward(n, d, b, y0) == SCAN_OK);
  CHECK(fast->bias_forward(n, d, b, y1) == SCAN_OK);
  check_exact("bias_forward", count, y1, y0);
  CHECK(ref->bias_backward(n, d, dy, db0) == SCAN_OK);
  CHECK(fast->bias_backward(n, d, dy, db1) == SCAN_OK);
  check_exact("bias_backward", d, db1, db0);
  CHECK(ref->l2norm_forward(n, d, x, y0) == SCAN_OK);
  CHECK(fast->l2norm_forward(n, d, x, y1) == SCAN_OK);
  check_exact("l2norm_forward", count, y1, y0);
  CHECK(ref->l2norm_backward(n, d, x, y0, dy, dx0) == SCAN_OK);
  CHECK(fast->l2norm_backward(n, d, x, y0, dy, dx1) == SCAN_OK);
  check_exact("l2norm_backward", count, dx1, dx0);
  free(x), free(dy), free(b), free(start), free(y0), free(y1), free(dx0), free(dx1), free(db0), free(db1);
}

/* ---- convolution and GEMM ---- */
/* In the default context (the naive backend ignores it). */
static scan_status conv_passes(const scan_backend *be, scan_conv_state **st, const scan_conv_shape *s, const float *x, const float *w,
                               const float *dy, float *y, float *dx, float *dw) {
  scan_context *ctx = scan_context_default();
  SCAN_TRY(be->conv_forward(ctx, st, s, x, w, y));
  SCAN_TRY(be->conv_backward_weights(ctx, st, s, x, dy, dw));
  return be->conv_backward_data(ctx, st, s, dy, w, dx);
}

/* Plain layouts. tol: direct convolution sums in another order than the reference (about 1e-6 relative, 1e-4 allowed),
 * Winograd transforms the tiles (about 1e-5 relative, 2e-3 allowed). */
static void test_conv_plain(scan_conv_shape s, double tol) {
  s.out_h = scan_window_out(s.in_h, s.kernel, s.stride, s.pad);
  s.out_w = scan_window_out(s.in_w, s.kernel, s.stride, s.pad);
  int64_t nx = (int64_t)s.n * s.in_c * s.in_h * s.in_w, ny = (int64_t)s.n * s.out_c * s.out_h * s.out_w;
  int64_t nw = (int64_t)s.out_c * s.in_c * s.kernel * s.kernel;
  float *x = test_randn(1234, nx, 1), *w = test_randn(1234, nw, 2), *dy = test_randn(1234, ny, 3);
  float *y0 = calloc(ny, 4), *y1 = calloc(ny, 4), *dx0 = calloc(nx, 4), *dx1 = calloc(nx, 4);
  float *dw0 = test_randn(1234, nw, 4), *dw1 = malloc(nw * 4); /* equal non-zero start: backward must accumulate */
  scan_conv_state *st0 = NULL, *st1 = NULL;
  CHECK(conv_passes(ref, &st0, &s, x, w, dy, y0, dx0, dw0) == SCAN_OK);
  for (int rep = 0; rep < 2; rep++) { /* second round reuses the cached primitives */
    float *dw_start = test_randn(1234, nw, 4);
    memcpy(dw1, dw_start, (size_t)nw * 4);
    free(dw_start);
    CHECK(conv_passes(fast, &st1, &s, x, w, dy, y1, dx1, dw1) == SCAN_OK);
    CHECK_MSG(test_max_rel_diff(y1, y0, ny) < tol, "conv fwd n%d c%d %dx%d -> %d k%d s%d p%d fast%d: %g", s.n, s.in_c, s.in_h, s.in_w,
              s.out_c, s.kernel, s.stride, s.pad, s.fast, test_max_rel_diff(y1, y0, ny));
    CHECK_MSG(test_max_rel_diff(dx1, dx0, nx) < tol, "conv bwd data k%d s%d p%d: %g", s.kernel, s.stride, s.pad, test_max_rel_diff(dx1, dx0, nx));
    CHECK_MSG(test_max_rel_diff(dw1, dw0, nw) < tol, "conv bwd weights k%d s%d p%d: %g", s.kernel, s.stride, s.pad, test_max_rel_diff(dw1, dw0, nw));
  }
  fast->conv_state_free(st1);
  ref->conv_state_free(st0);
  free(x), free(w), free(dy), free(y0), free(y1), free(dx0), free(dx1), free(dw0), free(dw1);
}

/* oneDNN convolution on blocked activations (the nets' layout) against the naive one on plain activations. */
static void test_conv_blocked(int block, int in_block, scan_conv_shape s) {
  s.out_h = scan_window_out(s.in_h, s.kernel, s.stride, s.pad);
  s.out_w = scan_window_out(s.in_w, s.kernel, s.stride, s.pad);
  const act_shape si = {s.n, s.in_c, s.in_h, s.in_w}, so = {s.n, s.out_c, s.out_h, s.out_w};
  const int64_t nw = (int64_t)s.out_c * s.in_c * s.kernel * s.kernel;
  float *x = test_randn(1234, plain_count(si), 11), *w = test_randn(1234, nw, 12), *dy = test_randn(1234, plain_count(so), 13);
  float *y0 = malloc(plain_count(so) * 4), *dx0 = malloc(plain_count(si) * 4), *dw0 = calloc(nw, 4), *dw1 = calloc(nw, 4);
  float *xb = to_layout(si, in_block, x), *dyb = to_layout(so, block, dy), *yb = malloc(padded_count(so, block) * 4),
        *dxb = malloc(padded_count(si, in_block) * 4);
  scan_conv_state *st0 = NULL, *st1 = NULL;
  CHECK(conv_passes(ref, &st0, &s, x, w, dy, y0, dx0, dw0) == SCAN_OK);
  scan_conv_shape sb = s;
  sb.src_block = in_block;
  sb.dst_block = block;
  CHECK(conv_passes(fast, &st1, &sb, xb, w, dyb, yb, dxb, dw1) == SCAN_OK);
  check_act("blocked conv forward", so, block, yb, y0, 1e-4);
  check_act("blocked conv backward data", si, in_block, dxb, dx0, 1e-4);
  check_vec("blocked conv backward weights", so, block, dw1, dw0, nw, 1e-4);
  fast->conv_state_free(st1);
  free(x), free(w), free(dy), free(y0), free(dx0), free(dw0), free(dw1), free(xb), free(dyb), free(yb), free(dxb);
}

/* Matrix products of k = 9 terms: oneDNN's float sums against double ones, 1e-5 relative. */
static void test_gemm(void) {
  const int m = 7, n = 5, k = 9;
  float *a = test_randn(1234, m * k, 8), *b = test_randn(1234, k * n, 9);
  for (int ta = 0; ta < 2; ta++)
    for (int tb = 0; tb < 2; tb++) {
      float *c0 = test_randn(1234, m * n, 10), *c1 = test_randn(1234, m * n, 10);
      ref->gemm(ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n, 0.25f, c0, n);
      fast->gemm(ta, tb, m, n, k, 0.5f, a, ta ? m : k, b, tb ? k : n, 0.25f, c1, n);
      CHECK_MSG(test_max_rel_diff(c1, c0, m * n) < 1e-5, "gemm ta=%d tb=%d", ta, tb);
      free(c0), free(c1);
    }
  free(a), free(b);
}

/* The reference refuses blocked layouts instead of misreading them. */
static void test_naive_plain_only(void) {
  float x[16] = {0}, mean[2], var[2], y[16];
  int32_t arg[16];
  CHECK(ref->bn_stats(1, 2, 1, 8, x, mean, var) == SCAN_ERR_INTERNAL);
  double sums[4];
  CHECK(ref->bn_sums(1, 2, 1, 8, x, sums, sums + 2) == SCAN_ERR_INTERNAL);
  CHECK(ref->bn_grad_sums(1, 2, 1, 8, x, x, NULL, mean, var, kEps, sums, sums + 2, mean, var) == SCAN_ERR_INTERNAL);
  CHECK(ref->bn_backward_dx(1, 2, 1, 8, x, x, NULL, mean, var, kEps, mean, 1, sums, sums + 2, y) == SCAN_ERR_INTERNAL);
  CHECK(ref->maxpool_forward(1, 2, 8, 1, 1, 1, 1, 1, 1, 0, x, y, arg) == SCAN_ERR_INTERNAL);
  CHECK(ref->gap_forward(1, 2, 1, 8, x, y) == SCAN_ERR_INTERNAL);
}

int main(void) {
  light = test_light();
  ref = scan_backend_naive();
  fast = scan_backend_onednn();
  printf("oneDNN activation block: %d\n", fast->preferred_block(scan_context_default()));
  /* odd sizes, channel counts below, across and not multiple of the blocks */
  /* (19 and 9 images: the batch-norm sums' chunks of 8 images, the last one partial) */
  const act_shape shapes[] = {{1, 1, 1, 1}, {2, 3, 5, 4}, {19, 17, 5, 3}, {3, 12, 7, 7}, {2, 17, 6, 5}, {1, 33, 9, 2}, {4, 8, 3, 3},
                              {9, 16, 4, 4}};
  const int shape_count = light ? 4 : (int)(sizeof shapes / sizeof shapes[0]);
  const int blocks[] = {1, 8, 16};
  const int windows[][3] = {{2, 2, 0}, {2, 2, 1}, {3, 2, 1}, {3, 1, 1}}; /* kernel, stride, pad */
  for (int i = 0; i < shape_count; i++)
    for (int k = 0; k < 3; k++) {
      /* one value per channel has no spread to normalise (the variance is 0 and dx cancels to rounding noise) */
      if (shapes[i].n * shapes[i].h * shapes[i].w > 1) test_batchnorm(shapes[i], blocks[k]);
      if (shapes[i].n > 1) test_batchnorm_sharded(fast, shapes[i], blocks[k]);
      if (shapes[i].n > 1 && blocks[k] == 1) test_batchnorm_sharded(ref, shapes[i], 1);
      for (int wi = 0; wi < 4; wi++) test_maxpool(shapes[i], blocks[k], windows[wi][0], windows[wi][1], windows[wi][2]);
      test_gap(shapes[i], blocks[k]);
    }
  test_batchnorm_threads(8);
  test_batchnorm_threads(16);
  test_eltwise(1);
  test_eltwise(2 * 17 * 6 * 5);
  test_eltwise(3 * 100003); /* odd, and large enough to run in parallel: a vector tail per thread */
  test_rows(1, 1);
  test_rows(3, 5);
  test_rows(300, 257); /* large enough to run in parallel */
  test_naive_plain_only();

  /* n, in_c, in_h, in_w, out_c, _, _, kernel, stride, pad, fast, src_block, dst_block, algo */
  const scan_conv_shape convs[] = {
      {2, 3, 8, 8, 16, 0, 0, 3, 1, 1, 0, 1, 1, 0},   {2, 16, 8, 8, 32, 0, 0, 3, 2, 1, 0, 1, 1, 0},   {3, 5, 7, 9, 6, 0, 0, 3, 1, 1, 0, 1, 1, 0},
      {2, 8, 9, 7, 16, 0, 0, 1, 2, 0, 0, 1, 1, 0},   {1, 3, 13, 11, 8, 0, 0, 7, 2, 3, 0, 1, 1, 0},   {2, 1, 6, 6, 4, 0, 0, 3, 1, 0, 0, 1, 1, 0},
      {2, 32, 4, 4, 32, 0, 0, 3, 1, 1, 0, 1, 1, 0},  {1, 17, 5, 5, 19, 0, 0, 3, 2, 1, 0, 1, 1, 0},
  };
  const int conv_count = light ? 4 : (int)(sizeof convs / sizeof convs[0]);
  for (int i = 0; i < conv_count; i++) test_conv_plain(convs[i], 1e-4);
  test_conv_plain((scan_conv_shape){4, 32, 8, 8, 32, 0, 0, 3, 1, 1, 1, 1, 1, 0}, 2e-3); /* direct where Winograd is unavailable */
  for (int b = 8; b <= 16; b += 8) {
    test_conv_blocked(b, 1, (scan_conv_shape){.n = 2, .in_c = 3, .in_h = 9, .in_w = 7, .out_c = 12, .kernel = 3, .stride = 1, .pad = 1});
    test_conv_blocked(b, b, (scan_conv_shape){.n = 2, .in_c = 12, .in_h = 7, .in_w = 7, .out_c = 20, .kernel = 3, .stride = 2, .pad = 1});
    test_conv_blocked(b, b, (scan_conv_shape){.n = 3, .in_c = 16, .in_h = 6, .in_w = 5, .out_c = 4, .kernel = 1, .stride = 2, .pad = 0});
  }
  test_gemm();
  return test_main_end();
}
