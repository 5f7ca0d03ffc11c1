/* The naive reference's layers against central finite differences of loss = sum(y * r) (its ops agree with the
 * oneDNN backend's in test_tensor_backend_ops), batch statistics of offset data, the linear layer both ways, softmax. */
#include <stdlib.h>
#include <string.h>

#include "scan/nn_layers.h"
#include "scan/rng.h"
#include "testlib.h"

static double dot(const float *a, const float *b, int64_t count) {
  double s = 0;
  for (int64_t i = 0; i < count; i++) s += (double)a[i] * b[i];
  return s;
}

/* Recomputes y [ny] from inputs that the caller perturbs in place. */
typedef void (*forward_fn)(void *inputs, float *y);

/* d sum(y * r) / d *v by central differences of step h, *v being one of forward's inputs (restored after). */
static double central_difference(float *v, float h, forward_fn forward, void *inputs, float *y, const float *r, int64_t ny) {
  float keep = *v;
  *v = keep + h;
  forward(inputs, y);
  double up = dot(y, r, ny);
  *v = keep - h;
  forward(inputs, y);
  double down = dot(y, r, ny);
  *v = keep;
  return (up - down) / (2 * h);
}

typedef struct {
  const scan_backend *be;
  scan_conv_state **state;
  const scan_conv_shape *shape;
  const float *x, *w;
} conv_inputs;

static void conv_forward(void *inputs, float *y) {
  conv_inputs *c = inputs;
  scan_conv_forward(c->be, NULL, c->state, c->shape, c->x, c->w, y);
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
  CHECK(scan_conv_backward(ref, NULL, &st, &s, x, w, r, dx, dw) == SCAN_OK);
  const float h = 0.01f;
  conv_inputs inputs = {ref, &st, &s, x, w};
  for (int64_t i = 0; i < nx; i += 7) CHECK_NEAR(dx[i], central_difference(&x[i], h, conv_forward, &inputs, y, r, ny), 2e-3, 2e-3);
  for (int64_t i = 0; i < nw; i += 5) CHECK_NEAR(dw[i], central_difference(&w[i], h, conv_forward, &inputs, y, r, ny), 2e-3, 2e-3);
  free(x), free(w), free(r), free(y), free(dx), free(dw);
}

/* ---- finite differences for the reference's memory-bound layers ---- */
typedef struct {
  int kind; /* which layer */
  int n, c, h, w, oh, ow, k, stride, pad, relu; /* relu: batch-norm with the fused ReLU */
  const float *gamma, *beta, *mean, *var;
  int32_t *argmax;
} layer_case;

enum { L_BN_TRAIN, L_BN_EVAL, L_RELU, L_MAXPOOL, L_GAP, L_L2NORM };

static int64_t in_count(const layer_case *L) { return (int64_t)L->n * L->c * L->h * L->w; }
static int64_t out_count(const layer_case *L) {
  if (L->kind == L_GAP) return (int64_t)L->n * L->c;
  if (L->kind == L_MAXPOOL) return (int64_t)L->n * L->c * L->oh * L->ow;
  return in_count(L);
}

static void layer_forward(const layer_case *L, const float *x, float *y, float *mean, float *var) {
  const scan_backend *be = scan_backend_naive();
  int hw = L->h * L->w, d = L->c * hw;
  scan_status st = SCAN_OK;
  switch (L->kind) {
    case L_BN_TRAIN:
      st = be->bn_stats(L->n, L->c, hw, 1, x, mean, var);
      if (st == SCAN_OK) st = be->bn_apply(L->n, L->c, hw, 1, x, mean, var, 1e-5, L->gamma, L->beta, L->relu, y);
      break;
    case L_BN_EVAL: st = be->bn_apply(L->n, L->c, hw, 1, x, L->mean, L->var, 1e-5, L->gamma, L->beta, L->relu, y); break;
    case L_RELU: st = be->relu_forward(in_count(L), x, y); break;
    case L_MAXPOOL: st = be->maxpool_forward(L->n, L->c, 1, L->h, L->w, L->oh, L->ow, L->k, L->stride, L->pad, x, y, L->argmax); break;
    case L_GAP: st = be->gap_forward(L->n, L->c, hw, 1, x, y); break;
    case L_L2NORM: st = be->l2norm_forward(L->n, d, x, y); break;
  }
  CHECK(st == SCAN_OK);
}

static void layer_backward(const layer_case *L, const float *x, const float *y, const float *dy, float *dx, float *dgamma,
                           float *dbeta, const float *mean, const float *var) {
  const scan_backend *be = scan_backend_naive();
  int hw = L->h * L->w, d = L->c * hw;
  scan_status st = SCAN_OK;
  switch (L->kind) {
    case L_BN_TRAIN: st = be->bn_backward(L->n, L->c, hw, 1, x, dy, L->relu ? y : NULL, mean, var, 1e-5, L->gamma, dx, dgamma, dbeta); break;
    case L_BN_EVAL: st = be->bn_backward_eval(L->n, L->c, hw, 1, x, dy, L->relu ? y : NULL, L->mean, L->var, 1e-5, L->gamma, dx, dgamma, dbeta); break;
    case L_RELU: st = be->relu_backward(in_count(L), y, dy, dx); break;
    case L_MAXPOOL: st = be->maxpool_backward(L->n, L->c, 1, L->h, L->w, L->oh, L->ow, L->argmax, dy, dx); break;
    case L_GAP: st = be->gap_backward(L->n, L->c, hw, 1, dy, dx); break;
    case L_L2NORM: st = be->l2norm_backward(L->n, d, x, y, dy, dx); break;
  }
  CHECK(st == SCAN_OK);
}

typedef struct {
  const layer_case *L;
  const float *x;
  float *mean, *var;
} layer_inputs;

static void layer_forward_inputs(void *inputs, float *y) {
  layer_inputs *in = inputs;
  layer_forward(in->L, in->x, y, in->mean, in->var);
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
  layer_inputs inputs = {&L, x, mean, var};
  double worst = 0;
  for (int64_t i = 0; i < nx; i++) {
    double fd = central_difference(&x[i], h, layer_forward_inputs, &inputs, y, r, ny);
    worst = test_worse(worst, fabs(dx[i] - fd) / (1e-2 + fabs(fd)));
  }
  CHECK_MSG(worst < 2e-2, "%s: dx differs from finite differences by %g", what, worst);
  if (L.kind == L_BN_TRAIN || L.kind == L_BN_EVAL) {
    for (int c = 0; c < L.c; c++) {
      CHECK_NEAR(dgamma[c], central_difference(&gamma[c], h, layer_forward_inputs, &inputs, y, r, ny), 2e-2, 2e-2);
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

/* Mean and variance of data with a large offset must not lose precision, in either backend (the reference: two passes
 * in double; oneDNN's kernels: one pass over data shifted by a first estimate of the mean). */
static void test_bn_stats(const scan_backend *be) {
  const int n = 3, c = 2, hw = 5;
  float x[30];
  for (int i = 0; i < 30; i++) x[i] = 1000.0f + (float)(i % 7);
  float mean[2], var[2];
  CHECK(be->bn_stats(n, c, hw, 1, x, mean, var) == SCAN_OK);
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

/* Softmax rows against exp(x - max) / sum, including logits far from 0 (the max shift keeps exp finite). */
static void test_softmax(void) {
  const int n = 3, d = 4;
  float x[12] = {1, 2, 3, 4, -1, 0, 0, 1, 1000, 999, 998, -1000}, y[12];
  scan_softmax_forward(n, d, x, y);
  double worst = 0;
  for (int i = 0; i < n; i++) {
    double mx = x[i * d], sum = 0;
    for (int j = 1; j < d; j++) mx = x[i * d + j] > mx ? x[i * d + j] : mx;
    for (int j = 0; j < d; j++) sum += exp(x[i * d + j] - mx);
    for (int j = 0; j < d; j++) worst = test_worse(worst, fabs(y[i * d + j] - exp(x[i * d + j] - mx) / sum));
  }
  CHECK_MSG(worst < 1e-7, "softmax differs from its definition by %g", worst);
}

static void test_linear(void) {
  const scan_backend *ref = scan_backend_naive(), *fast = scan_backend_onednn();
  const int n = 3, in = 5, out = 4;
  float *x = test_randn(1234, n * in, 70), *w = test_randn(1234, out * in, 71), *b = test_randn(1234, out, 72), *r = test_randn(1234, n * out, 73);
  float y[12], y1[12], dx[15], dx1[15], dw[20] = {0}, dw1[20] = {0}, db[4] = {0}, db1[4] = {0};
  CHECK(scan_linear_forward(ref, n, in, out, x, w, b, y) == SCAN_OK);
  CHECK(scan_linear_forward(fast, n, in, out, x, w, b, y1) == SCAN_OK);
  CHECK(test_max_rel_diff(y1, y, n * out) < 1e-5);
  CHECK(scan_linear_backward(ref, n, in, out, x, w, r, dx, dw, db) == SCAN_OK);
  CHECK(scan_linear_backward(fast, n, in, out, x, w, r, dx1, dw1, db1) == SCAN_OK);
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

int main(void) {
  test_conv_reference_fd();
  test_linear();
  test_bn_stats(scan_backend_naive());
  test_bn_stats(scan_backend_onednn());
  test_softmax();
  check_layer_fd((layer_case){.kind = L_BN_TRAIN, .n = 3, .c = 2, .h = 3, .w = 2}, "batch-norm (train)");
  check_layer_fd((layer_case){.kind = L_BN_EVAL, .n = 2, .c = 3, .h = 2, .w = 3}, "batch-norm (eval)");
  check_layer_fd((layer_case){.kind = L_BN_TRAIN, .n = 3, .c = 2, .h = 2, .w = 3, .relu = 1}, "batch-norm + relu (train)");
  check_layer_fd((layer_case){.kind = L_BN_EVAL, .n = 2, .c = 3, .h = 3, .w = 2, .relu = 1}, "batch-norm + relu (eval)");
  check_layer_fd((layer_case){.kind = L_RELU, .n = 2, .c = 2, .h = 3, .w = 3}, "relu");
  check_layer_fd((layer_case){.kind = L_MAXPOOL, .n = 2, .c = 2, .h = 5, .w = 4, .oh = 3, .ow = 3, .k = 2, .stride = 2, .pad = 1}, "maxpool 2/2/1");
  check_layer_fd((layer_case){.kind = L_MAXPOOL, .n = 1, .c = 2, .h = 7, .w = 7, .oh = 4, .ow = 4, .k = 3, .stride = 2, .pad = 1}, "maxpool 3/2/1");
  check_layer_fd((layer_case){.kind = L_GAP, .n = 2, .c = 3, .h = 3, .w = 2}, "global average pool");
  check_layer_fd((layer_case){.kind = L_L2NORM, .n = 3, .c = 5, .h = 1, .w = 1}, "l2 normalise");
  return test_main_end();
}
