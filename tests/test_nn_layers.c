/* Every layer: the oneDNN backend against the naive reference (forward and backward, several shapes, strides,
 * paddings and odd sizes), and the reference against central finite differences of loss = sum(y * r). */
#include <stdlib.h>
#include <string.h>

#include "scan/nn_layers.h"
#include "scan/rng.h"
#include "testlib.h"

static int light;

static double dot(const float *a, const float *b, int64_t count) {
  double s = 0;
  for (int64_t i = 0; i < count; i++) s += (double)a[i] * b[i];
  return s;
}

/* ---- convolution: onednn vs naive ---- */
static void test_conv_backends(scan_conv_shape s, double tol) {
  const scan_backend *ref = scan_backend_naive(), *fast = scan_backend_onednn();
  s.out_h = scan_window_out(s.in_h, s.kernel, s.stride, s.pad);
  s.out_w = scan_window_out(s.in_w, s.kernel, s.stride, s.pad);
  int64_t nx = (int64_t)s.n * s.in_c * s.in_h * s.in_w, ny = (int64_t)s.n * s.out_c * s.out_h * s.out_w;
  int64_t nw = (int64_t)s.out_c * s.in_c * s.kernel * s.kernel;
  float *x = test_randn(1234, nx, 1), *w = test_randn(1234, nw, 2), *dy = test_randn(1234, ny, 3);
  float *y0 = calloc(ny, 4), *y1 = calloc(ny, 4), *dx0 = calloc(nx, 4), *dx1 = calloc(nx, 4);
  float *dw0 = test_randn(1234, nw, 4), *dw1 = test_randn(1234, nw, 4); /* equal non-zero start: backward must accumulate */
  scan_conv_state *st0 = NULL, *st1 = NULL;
  CHECK(scan_conv_forward(ref, &st0, &s, x, w, y0) == SCAN_OK);
  CHECK(scan_conv_backward(ref, &st0, &s, x, w, dy, dx0, dw0) == SCAN_OK);
  for (int rep = 0; rep < 2; rep++) { /* second round reuses the cached primitives */
    float *dw_start = test_randn(1234, nw, 4);
    memcpy(dw1, dw_start, (size_t)nw * 4);
    free(dw_start);
    CHECK(scan_conv_forward(fast, &st1, &s, x, w, y1) == SCAN_OK);
    CHECK(scan_conv_backward(fast, &st1, &s, x, w, dy, dx1, dw1) == SCAN_OK);
    CHECK_MSG(test_max_rel_diff(y1, y0, ny) < tol, "conv fwd n%d c%d %dx%d -> %d k%d s%d p%d fast%d: %g", s.n, s.in_c, s.in_h, s.in_w,
              s.out_c, s.kernel, s.stride, s.pad, s.fast, test_max_rel_diff(y1, y0, ny));
    CHECK_MSG(test_max_rel_diff(dx1, dx0, nx) < tol, "conv bwd data k%d s%d p%d: %g", s.kernel, s.stride, s.pad, test_max_rel_diff(dx1, dx0, nx));
    CHECK_MSG(test_max_rel_diff(dw1, dw0, nw) < tol, "conv bwd weights k%d s%d p%d: %g", s.kernel, s.stride, s.pad, test_max_rel_diff(dw1, dw0, nw));
  }
  fast->conv_state_free(st1);
  ref->conv_state_free(st0);
  free(x), free(w), free(dy), free(y0), free(y1), free(dx0), free(dx1), free(dw0), free(dw1);
}

/* padded channels of a blocked tensor must hold zeros */
static int padding_is_zero(int n, int c, int hw, int block, const float *blocked) {
  const int blocks = scan_channel_blocks(c, block);
  for (int b = 0; b < n; b++)
    for (int ch = c; ch < blocks * block; ch++)
      for (int i = 0; i < hw; i++)
        if (blocked[(((int64_t)b * blocks + ch / block) * hw + i) * block + ch % block] != 0) return 0;
  return 1;
}

/* oneDNN convolution on blocked activations (the nets' layout) against the naive one on plain activations. */
static void test_conv_blocked(int block, int in_block, scan_conv_shape s) {
  const scan_backend *ref = scan_backend_naive(), *fast = scan_backend_onednn();
  s.out_h = scan_window_out(s.in_h, s.kernel, s.stride, s.pad);
  s.out_w = scan_window_out(s.in_w, s.kernel, s.stride, s.pad);
  const int ihw = s.in_h * s.in_w, ohw = s.out_h * s.out_w;
  int64_t nx = (int64_t)s.n * s.in_c * ihw, ny = (int64_t)s.n * s.out_c * ohw, nw = (int64_t)s.out_c * s.in_c * s.kernel * s.kernel;
  int64_t nxb = (int64_t)s.n * scan_channel_blocks(s.in_c, in_block) * in_block * ihw;
  int64_t nyb = (int64_t)s.n * scan_channel_blocks(s.out_c, block) * block * ohw;
  float *x = test_randn(1234, nx, 11), *w = test_randn(1234, nw, 12), *dy = test_randn(1234, ny, 13), *y0 = malloc(ny * 4), *dx0 = malloc(nx * 4), *dw0 = calloc(nw, 4);
  float *xb = malloc(nxb * 4), *dyb = malloc(nyb * 4), *yb = malloc(nyb * 4), *dxb = malloc(nxb * 4), *dw1 = calloc(nw, 4);
  float *y1 = malloc(ny * 4), *dx1 = malloc(nx * 4);
  scan_conv_state *st0 = NULL, *st1 = NULL;
  CHECK(scan_conv_forward(ref, &st0, &s, x, w, y0) == SCAN_OK);
  CHECK(scan_conv_backward(ref, &st0, &s, x, w, dy, dx0, dw0) == SCAN_OK);
  test_to_blocked(s.n, s.in_c, ihw, in_block, x, xb);
  test_to_blocked(s.n, s.out_c, ohw, block, dy, dyb);
  scan_conv_shape sb = s;
  sb.src_block = in_block;
  sb.dst_block = block;
  CHECK(scan_conv_forward(fast, &st1, &sb, xb, w, yb) == SCAN_OK);
  CHECK(scan_conv_backward(fast, &st1, &sb, xb, w, dyb, dxb, dw1) == SCAN_OK);
  CHECK(padding_is_zero(s.n, s.out_c, ohw, block, yb));
  CHECK(padding_is_zero(s.n, s.in_c, ihw, in_block, dxb));
  test_from_blocked(s.n, s.out_c, ohw, block, yb, y1);
  test_from_blocked(s.n, s.in_c, ihw, in_block, dxb, dx1);
  CHECK_MSG(test_max_rel_diff(y1, y0, ny) < 1e-4, "blocked conv fwd block %d/%d: %g", in_block, block, test_max_rel_diff(y1, y0, ny));
  CHECK_MSG(test_max_rel_diff(dx1, dx0, nx) < 1e-4, "blocked conv bwd data block %d/%d", in_block, block);
  CHECK_MSG(test_max_rel_diff(dw1, dw0, nw) < 1e-4, "blocked conv bwd weights block %d/%d", in_block, block);
  fast->conv_state_free(st1);
  free(x), free(w), free(dy), free(y0), free(dx0), free(dw0), free(xb), free(dyb), free(yb), free(dxb), free(dw1), free(y1), free(dx1);
}

/* The per-channel layers on blocked activations (padded channel count) give the plain results. */
static void test_layers_blocked(int block) {
  const int n = 2, c = 12, h = 5, w = 4, hw = h * w, oh = 3, ow = 2;
  const int64_t np = (int64_t)n * c * hw, nb = (int64_t)n * scan_channel_blocks(c, block) * block * hw;
  const int64_t npo = (int64_t)n * c * oh * ow, nbo = (int64_t)n * scan_channel_blocks(c, block) * block * oh * ow;
  float *x = test_randn(1234, np, 30), *dy = test_randn(1234, np, 31), *gamma = test_randn(1234, c, 32), *beta = test_randn(1234, c, 33);
  float *xb = malloc(nb * 4), *dyb = malloc(nb * 4), *yb = malloc(nb * 4), *dxb = malloc(nb * 4);
  float *y = malloc(np * 4), *dx = malloc(np * 4), *back = malloc(np * 4);
  float mean[12], var[12], meanb[12], varb[12], dg[12] = {0}, db[12] = {0}, dgb[12] = {0}, dbb[12] = {0};
  test_to_blocked(n, c, hw, block, x, xb);
  test_to_blocked(n, c, hw, block, dy, dyb);
  scan_bn_stats(n, c, hw, 1, x, mean, var);
  scan_bn_stats(n, c, hw, block, xb, meanb, varb);
  for (int k = 0; k < c; k++) CHECK(fabsf(mean[k] - meanb[k]) < 1e-6f && fabsf(var[k] - varb[k]) < 1e-6f);
  scan_bn_apply(n, c, hw, 1, x, mean, var, 1e-5, gamma, beta, 1, y);
  scan_bn_apply(n, c, hw, block, xb, mean, var, 1e-5, gamma, beta, 1, yb);
  CHECK(padding_is_zero(n, c, hw, block, yb));
  test_from_blocked(n, c, hw, block, yb, back);
  CHECK(test_max_rel_diff(back, y, np) < 1e-6);
  for (int eval = 0; eval < 2; eval++) {
    if (eval) {
      scan_bn_backward_eval(n, c, hw, 1, x, dy, y, mean, var, 1e-5, gamma, dx, dg, db);
      scan_bn_backward_eval(n, c, hw, block, xb, dyb, yb, mean, var, 1e-5, gamma, dxb, dgb, dbb);
    } else {
      scan_bn_backward(n, c, hw, 1, x, dy, y, mean, var, 1e-5, gamma, dx, dg, db);
      scan_bn_backward(n, c, hw, block, xb, dyb, yb, mean, var, 1e-5, gamma, dxb, dgb, dbb);
    }
    CHECK(padding_is_zero(n, c, hw, block, dxb));
    test_from_blocked(n, c, hw, block, dxb, back);
    CHECK_MSG(test_max_rel_diff(back, dx, np) < 1e-5, "blocked batch-norm backward (eval %d, block %d)", eval, block);
    for (int k = 0; k < c; k++) CHECK(fabsf(dg[k] - dgb[k]) < 1e-4f && fabsf(db[k] - dbb[k]) < 1e-4f);
  }
  /* max-pool 2/2 pad 1 and global average pooling */
  int32_t *arg = malloc(npo * 4), *argb = malloc(nbo * 4);
  float *po = malloc(npo * 4), *pob = malloc(nbo * 4), *pback = malloc(npo * 4), *gdy = test_randn(1234, npo, 34), *gdyb = malloc(nbo * 4);
  scan_maxpool_forward(n, c, 1, h, w, oh, ow, 2, 2, 1, x, po, arg);
  scan_maxpool_forward(n, c, block, h, w, oh, ow, 2, 2, 1, xb, pob, argb);
  test_from_blocked(n, c, oh * ow, block, pob, pback);
  CHECK(test_max_rel_diff(pback, po, npo) == 0);
  test_to_blocked(n, c, oh * ow, block, gdy, gdyb);
  scan_maxpool_backward(n, c, 1, h, w, oh, ow, arg, gdy, dx);
  scan_maxpool_backward(n, c, block, h, w, oh, ow, argb, gdyb, dxb);
  test_from_blocked(n, c, hw, block, dxb, back);
  CHECK(test_max_rel_diff(back, dx, np) == 0);
  float gap[24], gapb[24];
  scan_gap_forward(n, c, hw, 1, x, gap);
  scan_gap_forward(n, c, hw, block, xb, gapb);
  for (int i = 0; i < n * c; i++) {
    double s = 0;
    for (int k = 0; k < hw; k++) s += x[(int64_t)i * hw + k];
    CHECK_NEAR(gap[i], s / hw, 1e-6, 1e-6);
    CHECK_NEAR(gapb[i], s / hw, 1e-6, 1e-6);
  }
  scan_gap_backward(n, c, hw, block, gap, dxb);
  CHECK(padding_is_zero(n, c, hw, block, dxb));
  test_from_blocked(n, c, hw, block, dxb, back);
  for (int i = 0; i < n * c; i++) CHECK_NEAR(back[(int64_t)i * hw + 3], gap[i] / hw, 1e-7, 1e-6);
  free(x), free(dy), free(gamma), free(beta), free(xb), free(dyb), free(yb), free(dxb), free(y), free(dx), free(back);
  free(arg), free(argb), free(po), free(pob), free(pback), free(gdy), free(gdyb);
}

/* ---- convolution reference against finite differences (the loss is linear in x and in w) ---- */
static void test_conv_reference_fd(void) {
  const scan_backend *ref = scan_backend_naive();
  scan_conv_shape s = {.n = 2, .in_c = 3, .in_h = 5, .in_w = 6, .out_c = 4, .kernel = 3, .stride = 2, .pad = 1};
  s.out_h = scan_window_out(s.in_h, 3, 2, 1);
  s.out_w = scan_window_out(s.in_w, 3, 2, 1);
  int64_t nx = 2 * 3 * 5 * 6, ny = (int64_t)2 * 4 * s.out_h * s.out_w, nw = 4 * 3 * 9;
  float *x = test_randn(1234, nx, 5), *w = test_randn(1234, nw, 6), *r = test_randn(1234, ny, 7), *y = malloc(ny * 4), *dx = malloc(nx * 4), *dw = calloc(nw, 4);
  scan_conv_state *st = NULL;
  CHECK(scan_conv_backward(ref, &st, &s, x, w, r, dx, dw) == SCAN_OK);
  const float h = 0.01f;
  for (int64_t i = 0; i < nx; i += 7) {
    float keep = x[i];
    x[i] = keep + h;
    scan_conv_forward(ref, &st, &s, x, w, y);
    double up = dot(y, r, ny);
    x[i] = keep - h;
    scan_conv_forward(ref, &st, &s, x, w, y);
    double down = dot(y, r, ny);
    x[i] = keep;
    CHECK_NEAR(dx[i], (up - down) / (2 * h), 2e-3, 2e-3);
  }
  for (int64_t i = 0; i < nw; i += 5) {
    float keep = w[i];
    w[i] = keep + h;
    scan_conv_forward(ref, &st, &s, x, w, y);
    double up = dot(y, r, ny);
    w[i] = keep - h;
    scan_conv_forward(ref, &st, &s, x, w, y);
    double down = dot(y, r, ny);
    w[i] = keep;
    CHECK_NEAR(dw[i], (up - down) / (2 * h), 2e-3, 2e-3);
  }
  free(x), free(w), free(r), free(y), free(dx), free(dw);
}

static void test_gemm(void) {
  const scan_backend *ref = scan_backend_naive(), *fast = scan_backend_onednn();
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

/* ---- finite differences for the memory-bound layers (shared by the backends) ---- */
typedef struct {
  int kind; /* which layer */
  int n, c, h, w, oh, ow, k, stride, pad, relu; /* relu: batch-norm with the fused ReLU */
  const float *gamma, *beta, *mean, *var;
  int32_t *argmax;
} layer_case;

enum { L_BN_TRAIN, L_BN_EVAL, L_RELU, L_MAXPOOL, L_AVGPOOL, L_L2NORM, L_SOFTMAX, L_LOGSOFTMAX };

static int64_t in_count(const layer_case *L) { return (int64_t)L->n * L->c * L->h * L->w; }
static int64_t out_count(const layer_case *L) {
  if (L->kind == L_MAXPOOL || L->kind == L_AVGPOOL) return (int64_t)L->n * L->c * L->oh * L->ow;
  return in_count(L);
}

static void layer_forward(const layer_case *L, const float *x, float *y, float *mean, float *var) {
  int hw = L->h * L->w, d = L->c * hw;
  switch (L->kind) {
    case L_BN_TRAIN:
      scan_bn_stats(L->n, L->c, hw, 1, x, mean, var);
      scan_bn_apply(L->n, L->c, hw, 1, x, mean, var, 1e-5, L->gamma, L->beta, L->relu, y);
      break;
    case L_BN_EVAL: scan_bn_apply(L->n, L->c, hw, 1, x, L->mean, L->var, 1e-5, L->gamma, L->beta, L->relu, y); break;
    case L_RELU: scan_relu_forward(in_count(L), x, y); break;
    case L_MAXPOOL: scan_maxpool_forward(L->n, L->c, 1, L->h, L->w, L->oh, L->ow, L->k, L->stride, L->pad, x, y, L->argmax); break;
    case L_AVGPOOL: scan_avgpool_forward(L->n, L->c, L->h, L->w, L->oh, L->ow, L->k, L->stride, L->pad, x, y); break;
    case L_L2NORM: scan_l2norm_forward(L->n, d, x, y); break;
    case L_SOFTMAX: scan_softmax_forward(L->n, d, x, y); break;
    case L_LOGSOFTMAX: scan_log_softmax_forward(L->n, d, x, y); break;
  }
}

static void layer_backward(const layer_case *L, const float *x, const float *y, const float *dy, float *dx, float *dgamma,
                           float *dbeta, const float *mean, const float *var) {
  int hw = L->h * L->w, d = L->c * hw;
  switch (L->kind) {
    case L_BN_TRAIN: scan_bn_backward(L->n, L->c, hw, 1, x, dy, L->relu ? y : NULL, mean, var, 1e-5, L->gamma, dx, dgamma, dbeta); break;
    case L_BN_EVAL: scan_bn_backward_eval(L->n, L->c, hw, 1, x, dy, L->relu ? y : NULL, L->mean, L->var, 1e-5, L->gamma, dx, dgamma, dbeta); break;
    case L_RELU: scan_relu_backward(in_count(L), y, dy, dx); break;
    case L_MAXPOOL: scan_maxpool_backward(L->n, L->c, 1, L->h, L->w, L->oh, L->ow, L->argmax, dy, dx); break;
    case L_AVGPOOL: scan_avgpool_backward(L->n, L->c, L->h, L->w, L->oh, L->ow, L->k, L->stride, L->pad, dy, dx); break;
    case L_L2NORM: scan_l2norm_backward(L->n, d, x, y, dy, dx); break;
    case L_SOFTMAX: scan_softmax_backward(L->n, d, y, dy, dx); break;
    case L_LOGSOFTMAX: scan_log_softmax_backward(L->n, d, y, dy, dx); break;
  }
}

static void check_layer_fd(layer_case L, const char *what) {
  int64_t nx = in_count(&L), ny = out_count(&L);
  float *x = test_randn(1234, nx, 20 + L.kind), *r = test_randn(1234, ny, 40 + L.kind), *y = malloc(ny * 4), *dx = malloc(nx * 4);
  float *mean = calloc(L.c, 4), *var = calloc(L.c, 4), *dgamma = calloc(L.c, 4), *dbeta = calloc(L.c, 4);
  float *gamma = test_randn(1234, L.c, 60), *beta = test_randn(1234, L.c, 61), *rmean = test_randn(1234, L.c, 62), *rvar = malloc(L.c * 4);
  for (int c = 0; c < L.c; c++) rvar[c] = 0.5f + c * 0.25f;
  int32_t *argmax = malloc((size_t)ny * 4);
  L.gamma = gamma, L.beta = beta, L.mean = rmean, L.var = rvar, L.argmax = argmax;
  if (L.kind == L_RELU) /* keep inputs away from the kink */
    for (int64_t i = 0; i < nx; i++) x[i] += x[i] > 0 ? 0.1f : -0.1f;
  layer_forward(&L, x, y, mean, var);
  layer_backward(&L, x, y, r, dx, dgamma, dbeta, mean, var);
  const float h = 1e-2f;
  double worst = 0;
  for (int64_t i = 0; i < nx; i++) {
    float keep = x[i];
    x[i] = keep + h;
    layer_forward(&L, x, y, mean, var);
    double up = dot(y, r, ny);
    x[i] = keep - h;
    layer_forward(&L, x, y, mean, var);
    double down = dot(y, r, ny);
    x[i] = keep;
    double fd = (up - down) / (2 * h);
    worst = test_worse(worst, fabs(dx[i] - fd) / (1e-2 + fabs(fd)));
  }
  CHECK_MSG(worst < 2e-2, "%s: dx differs from finite differences by %g", what, worst);
  if (L.kind == L_BN_TRAIN || L.kind == L_BN_EVAL) {
    for (int c = 0; c < L.c; c++) {
      float keep = gamma[c];
      gamma[c] = keep + h;
      layer_forward(&L, x, y, mean, var);
      double up = dot(y, r, ny);
      gamma[c] = keep - h;
      layer_forward(&L, x, y, mean, var);
      double down = dot(y, r, ny);
      gamma[c] = keep;
      CHECK_NEAR(dgamma[c], (up - down) / (2 * h), 2e-2, 2e-2);
      /* y is linear in beta with slope 1 (where the fused ReLU passes) */
      layer_forward(&L, x, y, mean, var);
      double sum_r = 0;
      int hw = L.h * L.w;
      for (int b = 0; b < L.n; b++)
        for (int i = 0; i < hw; i++) {
          int64_t at = ((int64_t)b * L.c + c) * hw + i;
          if (!L.relu || y[at] > 0) sum_r += r[at];
        }
      CHECK_NEAR(dbeta[c], sum_r, 1e-3, 1e-4);
    }
  }
  free(x), free(r), free(y), free(dx), free(mean), free(var), free(dgamma), free(dbeta);
  free(gamma), free(beta), free(rmean), free(rvar), free(argmax);
}

static void test_bn_stats(void) {
  /* mean/variance of a large offset must not lose precision (two-pass in double) */
  const int n = 3, c = 2, hw = 5;
  float x[30];
  for (int i = 0; i < 30; i++) x[i] = 1000.0f + (float)(i % 7);
  float mean[2], var[2];
  scan_bn_stats(n, c, hw, 1, x, mean, var);
  for (int ch = 0; ch < c; ch++) {
    double s = 0, s2 = 0;
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) s += x[(b * c + ch) * hw + i];
    double mu = s / (n * hw);
    for (int b = 0; b < n; b++)
      for (int i = 0; i < hw; i++) s2 += pow(x[(b * c + ch) * hw + i] - mu, 2);
    CHECK_NEAR(mean[ch], mu, 1e-3, 1e-6);
    CHECK_NEAR(var[ch], s2 / (n * hw), 1e-4, 1e-5);
  }
}

static void test_linear(void) {
  const scan_backend *ref = scan_backend_naive(), *fast = scan_backend_onednn();
  const int n = 3, in = 5, out = 4;
  float *x = test_randn(1234, n * in, 70), *w = test_randn(1234, out * in, 71), *b = test_randn(1234, out, 72), *r = test_randn(1234, n * out, 73);
  float y[12], y1[12], dx[15], dx1[15], dw[20] = {0}, dw1[20] = {0}, db[4] = {0}, db1[4] = {0};
  scan_linear_forward(ref, n, in, out, x, w, b, y);
  scan_linear_forward(fast, n, in, out, x, w, b, y1);
  CHECK(test_max_rel_diff(y1, y, n * out) < 1e-5);
  scan_linear_backward(ref, n, in, out, x, w, r, dx, dw, db);
  scan_linear_backward(fast, n, in, out, x, w, r, dx1, dw1, db1);
  CHECK(test_max_rel_diff(dx1, dx, n * in) < 1e-5);
  CHECK(test_max_rel_diff(dw1, dw, out * in) < 1e-5);
  /* analytic: y is linear, so dW[o,i] = sum_b r[b,o] x[b,i], dx[b,i] = sum_o r[b,o] W[o,i] */
  for (int o = 0; o < out; o++)
    for (int i = 0; i < in; i++) {
      double s = 0;
      for (int bb = 0; bb < n; bb++) s += r[bb * out + o] * x[bb * in + i];
      CHECK_NEAR(dw[o * in + i], s, 1e-5, 1e-5);
    }
  for (int bb = 0; bb < n; bb++)
    for (int i = 0; i < in; i++) {
      double s = 0;
      for (int o = 0; o < out; o++) s += r[bb * out + o] * w[o * in + i];
      CHECK_NEAR(dx[bb * in + i], s, 1e-5, 1e-5);
    }
  for (int o = 0; o < out; o++) CHECK_NEAR(db[o], r[o] + r[out + o] + r[2 * out + o], 1e-5, 1e-5);
  free(x), free(w), free(b), free(r);
}

/* The residual join's one-pass backward against the element-wise definition, for every combination of a fused ReLU
 * and addends that already hold a gradient; large enough to run in parallel. */
static void test_add_backward(void) {
  const int64_t count = 3 * 100003; /* odd: a vector tail */
  float *y = test_randn(77, count, 1), *dy = test_randn(77, count, 2), *start_a = test_randn(77, count, 3),
        *start_b = test_randn(77, count, 4);
  float *da = malloc(count * sizeof(float)), *db = malloc(count * sizeof(float));
  for (int relu = 0; relu < 2; relu++)
    for (int add_a = 0; add_a < 2; add_a++)
      for (int add_b = 0; add_b < 2; add_b++) {
        memcpy(da, start_a, count * sizeof(float));
        memcpy(db, start_b, count * sizeof(float));
        scan_add_backward(count, relu ? y : NULL, dy, da, add_a, db, add_b);
        int64_t wrong = 0;
        for (int64_t i = 0; i < count; i++) {
          const float g = relu && !(y[i] > 0) ? 0.0f : dy[i];
          wrong += da[i] != (add_a ? start_a[i] + g : g) || db[i] != (add_b ? start_b[i] + g : g);
        }
        CHECK(wrong == 0);
      }
  free(y), free(dy), free(start_a), free(start_b), free(da), free(db);
}

int main(void) {
  light = getenv("SCAN_TEST_LIGHT") != NULL;
  /* n, in_c, in_h, in_w, out_c, _, _, kernel, stride, pad, fast, src_block, dst_block */
  const scan_conv_shape shapes[] = {
      {2, 3, 8, 8, 16, 0, 0, 3, 1, 1, 0, 1, 1},   {2, 16, 8, 8, 32, 0, 0, 3, 2, 1, 0, 1, 1},   {3, 5, 7, 9, 6, 0, 0, 3, 1, 1, 0, 1, 1},
      {2, 8, 9, 7, 16, 0, 0, 1, 2, 0, 0, 1, 1},   {1, 3, 13, 11, 8, 0, 0, 7, 2, 3, 0, 1, 1},   {2, 1, 6, 6, 4, 0, 0, 3, 1, 0, 0, 1, 1},
      {2, 32, 4, 4, 32, 0, 0, 3, 1, 1, 0, 1, 1},  {1, 17, 5, 5, 19, 0, 0, 3, 2, 1, 0, 1, 1},
  };
  int count = (int)(sizeof shapes / sizeof shapes[0]);
  if (light) count = 4;
  for (int i = 0; i < count; i++) test_conv_backends(shapes[i], 1e-4);
  scan_conv_shape wino = {4, 32, 8, 8, 32, 0, 0, 3, 1, 1, 1, 1, 1};
  test_conv_backends(wino, 2e-3); /* falls back to direct where Winograd is unavailable */
  test_conv_reference_fd();
  const int block = scan_backend_onednn()->preferred_block();
  printf("oneDNN activation block: %d\n", block);
  for (int b = 8; b <= 16; b += 8) {
    test_conv_blocked(b, 1, (scan_conv_shape){.n = 2, .in_c = 3, .in_h = 9, .in_w = 7, .out_c = 12, .kernel = 3, .stride = 1, .pad = 1});
    test_conv_blocked(b, b, (scan_conv_shape){.n = 2, .in_c = 12, .in_h = 7, .in_w = 7, .out_c = 20, .kernel = 3, .stride = 2, .pad = 1});
    test_conv_blocked(b, b, (scan_conv_shape){.n = 3, .in_c = 16, .in_h = 6, .in_w = 5, .out_c = 4, .kernel = 1, .stride = 2, .pad = 0});
    test_layers_blocked(b);
  }
  test_gemm();
  test_linear();
  test_add_backward();
  test_bn_stats();
  check_layer_fd((layer_case){.kind = L_BN_TRAIN, .n = 3, .c = 2, .h = 3, .w = 2}, "batch-norm (train)");
  check_layer_fd((layer_case){.kind = L_BN_EVAL, .n = 2, .c = 3, .h = 2, .w = 3}, "batch-norm (eval)");
  check_layer_fd((layer_case){.kind = L_BN_TRAIN, .n = 3, .c = 2, .h = 2, .w = 3, .relu = 1}, "batch-norm + relu (train)");
  check_layer_fd((layer_case){.kind = L_BN_EVAL, .n = 2, .c = 3, .h = 3, .w = 2, .relu = 1}, "batch-norm + relu (eval)");
  check_layer_fd((layer_case){.kind = L_RELU, .n = 2, .c = 2, .h = 3, .w = 3}, "relu");
  check_layer_fd((layer_case){.kind = L_MAXPOOL, .n = 2, .c = 2, .h = 5, .w = 4, .oh = 3, .ow = 3, .k = 2, .stride = 2, .pad = 1}, "maxpool 2/2/1");
  check_layer_fd((layer_case){.kind = L_MAXPOOL, .n = 1, .c = 2, .h = 7, .w = 7, .oh = 4, .ow = 4, .k = 3, .stride = 2, .pad = 1}, "maxpool 3/2/1");
  check_layer_fd((layer_case){.kind = L_AVGPOOL, .n = 2, .c = 2, .h = 5, .w = 5, .oh = 3, .ow = 3, .k = 3, .stride = 2, .pad = 1}, "avgpool 3/2/1");
  check_layer_fd((layer_case){.kind = L_AVGPOOL, .n = 2, .c = 3, .h = 4, .w = 4, .oh = 1, .ow = 1, .k = 4, .stride = 1, .pad = 0}, "global avgpool");
  check_layer_fd((layer_case){.kind = L_L2NORM, .n = 3, .c = 5, .h = 1, .w = 1}, "l2 normalise");
  check_layer_fd((layer_case){.kind = L_SOFTMAX, .n = 3, .c = 4, .h = 1, .w = 1}, "softmax");
  check_layer_fd((layer_case){.kind = L_LOGSOFTMAX, .n = 3, .c = 4, .h = 1, .w = 1}, "log-softmax");
  return test_main_end();
}
