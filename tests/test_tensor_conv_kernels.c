/* The hand-written AVX2 convolutions against the naive reference (plain loops, double sums): forward, data gradient
 * and weight gradient on blocked activations.
 *  - Winograd F(4x4, 3x3): sizes that leave partial tiles at the right and bottom edges, images smaller than a tile,
 *    channel counts that leave blocks and panels partly filled; the shapes it must leave to other algorithms; that it
 *    is what the oneDNN backend runs when asked, and that forward and data gradient give the same bits for any
 *    thread count.
 *  - Winograd for 3x3 stride 2 (polyphase, F(4, 2)): whole and partial tiles, one tile per image, images smaller
 *    than a tile; the data gradient's overlapping patches give the same bits for any thread count.
 *  - patch convolution (im2col): strides, 1x1 / 5x5 / 7x7 kernels, padding, partial panels. */
#include <stdlib.h>
#include <string.h>

#include "../src/tensor/conv_gemm.h"
#include "../src/tensor/conv_winograd.h"
#include "../src/tensor/conv_winograd_s2.h"
#include "conv_case.h"
#include "scan/context.h"
#include "testlib.h"

static conv_case make_case(int n, int in_c, int h, int w, int out_c, int kernel, int stride, int pad) {
  return conv_case_make(n, in_c, h, w, out_c, kernel, stride, pad, 8, 8);
}

static void free_case(conv_case *c) { conv_case_free(c); }

/* Channels past the last real one in a blocked tensor of n images (per_image floats each) hold zeros. */
static int padding_is_zero(const float *blocked, int64_t per_image, int channels, int hw, int n) {
  for (int b = 0; b < n; b++)
    for (int64_t i = 0; i < per_image; i++) {
      const int channel = (int)(i / (8 * hw)) * 8 + (int)(i % 8);
      if (channel >= channels && blocked[b * per_image + i] != 0) return 0;
    }
  return 1;
}

typedef struct {
  const char *name;
  int (*applies)(const scan_conv_shape *s);
  scan_status (*forward)(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w, float *y);
  scan_status (*backward_data)(conv_scratch *scratch, const scan_conv_shape *s, const float *dy, const float *w, float *dx);
  scan_status (*backward_weights)(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *dy, float *dw);
} algorithm;

static const algorithm winograd = {"Winograd", winograd_conv_applies, winograd_conv_forward, winograd_conv_backward_data,
                                   winograd_conv_backward_weights};
static const algorithm winograd_s2 = {"Winograd stride 2", winograd_s2_conv_applies, winograd_s2_conv_forward,
                                      winograd_s2_conv_backward_data, winograd_s2_conv_backward_weights};
static const algorithm patches = {"patches", conv_gemm_applies, conv_gemm_forward, conv_gemm_backward_data,
                                  conv_gemm_backward_weights};

/* The scratch buffer the kernels called directly share, as a context's passes do. */
static conv_scratch scratch;

/* The three passes of one algorithm, called directly, against the reference. */
static void check_passes(const algorithm *alg, int n, int in_c, int h, int w, int out_c, int kernel, int stride, int pad) {
  conv_case c = make_case(n, in_c, h, w, out_c, kernel, stride, pad);
  const scan_conv_shape *s = &c.s;
  const int ihw = h * w, ohw = s->out_h * s->out_w;
  char what[128];
  snprintf(what, sizeof what, "%s n%d %d->%d %dx%d k%d s%d p%d", alg->name, n, in_c, out_c, h, w, kernel, stride, pad);
  CHECK_MSG(alg->applies(s), "%s: should run here", what);
  float *yb = malloc(c.nyb * 4), *y = malloc(c.ny * 4);
  memset(yb, 0x7f, c.nyb * 4); /* garbage: every element must be written */
  CHECK(alg->forward(&scratch, s, c.xb, c.w, yb) == SCAN_OK);
  test_from_blocked(n, out_c, ohw, 8, yb, y);
  CHECK_MSG(test_max_rel_diff(y, c.y, c.ny) < 2e-5, "%s forward: %g", what, test_max_rel_diff(y, c.y, c.ny));
  CHECK_MSG(padding_is_zero(yb, c.nyb / n, out_c, ohw, n), "%s: padded output channels", what);
  float *dxb = malloc(c.nxb * 4), *dx = malloc(c.nx * 4);
  memset(dxb, 0x7f, c.nxb * 4);
  CHECK(alg->backward_data(&scratch, s, c.dyb, c.w, dxb) == SCAN_OK);
  test_from_blocked(n, in_c, ihw, 8, dxb, dx);
  CHECK_MSG(test_max_rel_diff(dx, c.dx, c.nx) < 2e-5, "%s data gradient: %g", what, test_max_rel_diff(dx, c.dx, c.nx));
  CHECK_MSG(padding_is_zero(dxb, c.nxb / n, in_c, ihw, n), "%s: padded input-gradient channels", what);
  free(dxb), free(dx);
  /* the weight gradient accumulates: start from a known non-zero value */
  float *start = test_randn(99, c.nw, 4), *dw = malloc(c.nw * 4), *expected = malloc(c.nw * 4);
  memcpy(dw, start, c.nw * 4);
  for (int64_t i = 0; i < c.nw; i++) expected[i] = start[i] + c.dw[i];
  CHECK(alg->backward_weights(&scratch, s, c.xb, c.dyb, dw) == SCAN_OK);
  CHECK_MSG(test_max_rel_diff(dw, expected, c.nw) < 2e-5, "%s weight gradient: %g", what, test_max_rel_diff(dw, expected, c.nw));
  free(start), free(dw), free(expected), free(yb), free(y);
  free_case(&c);
}

/* The backend's convolution with an epilogue (a folded batch-norm: scale, shift; a residual addend; ReLU) against the
 * reference's convolution followed by the same element-wise map: through Winograd, patch products and oneDNN
 * (whichever the shape takes). */
static void check_affine(int n, int in_c, int h, int w, int out_c, int kernel, int stride, int pad, int relu, int with_residual) {
  conv_case c = make_case(n, in_c, h, w, out_c, kernel, stride, pad);
  const int ohw = c.s.out_h * c.s.out_w, padded = (out_c + 7) / 8 * 8;
  float *scale = test_randn(5, padded, 7), *shift = test_randn(5, padded, 8), *residual = test_randn(5, c.ny, 9);
  for (int k = out_c; k < padded; k++) scale[k] = shift[k] = 0; /* the contract: zeros for padded channels */
  float *expected = malloc(c.ny * 4), *yb = malloc(c.nyb * 4), *y = malloc(c.ny * 4), *residual_b = malloc(c.nyb * 4);
  test_to_blocked(n, out_c, ohw, 8, residual, residual_b);
  for (int64_t i = 0; i < c.ny; i++) {
    const int k = (int)(i / ohw % out_c);
    const float v = c.y[i] * scale[k] + shift[k] + (with_residual ? residual[i] : 0);
    expected[i] = relu && v < 0 ? 0 : v;
  }
  const scan_backend *be = scan_backend_onednn();
  scan_conv_state *st = NULL;
  memset(yb, 0x7f, c.nyb * 4);
  const scan_conv_epilogue ep = {scale, shift, with_residual ? residual_b : NULL, relu};
  CHECK(be->conv_forward_affine(scan_context_default(), &st, &c.s, c.xb, c.w, &ep, yb) == SCAN_OK);
  test_from_blocked(n, out_c, ohw, 8, yb, y);
  CHECK_MSG(test_max_rel_diff(y, expected, c.ny) < 2e-5, "affine n%d %d->%d k%d s%d relu%d residual%d: %g", n, in_c, out_c, kernel,
            stride, relu, with_residual, test_max_rel_diff(y, expected, c.ny));
  CHECK(padding_is_zero(yb, c.nyb / n, out_c, ohw, n));
  be->conv_state_free(st);
  free(scale), free(shift), free(residual), free(residual_b), free(expected), free(yb), free(y);
  free_case(&c);
}

/* Shapes each must leave to other algorithms. */
static void check_applies(void) {
  const scan_conv_shape ok = {.n = 8, .in_c = 16, .in_h = 8, .in_w = 8, .out_c = 16, .out_h = 8, .out_w = 8, .kernel = 3,
                              .stride = 1, .pad = 1, .fast = 1, .src_block = 8, .dst_block = 8};
  CHECK(winograd_conv_applies(&ok));
  scan_conv_shape s = ok;
  s.fast = 0;
  CHECK(!winograd_conv_applies(&s)); /* not asked for */
  s = ok, s.stride = 2, s.out_h = s.out_w = 4;
  CHECK(!winograd_conv_applies(&s));
  s = ok, s.kernel = 1, s.pad = 0;
  CHECK(!winograd_conv_applies(&s));
  s = ok, s.src_block = 1;
  CHECK(!winograd_conv_applies(&s)); /* the stem's plain input */
  s = ok, s.n = 1;
  CHECK(!winograd_conv_applies(&s)); /* 4 tiles: not worth transforming the weights */
  s = ok, s.stride = 2, s.out_h = s.out_w = 4;
  CHECK(conv_gemm_applies(&s));
  CHECK(!winograd_s2_conv_applies(&s)); /* 8 tiles: not worth transforming the weights */
  s.n = 32;
  CHECK(winograd_s2_conv_applies(&s));
  s.fast = 0;
  CHECK(!winograd_s2_conv_applies(&s)); /* not asked for */
  s.fast = 1, s.kernel = 1, s.pad = 0;
  CHECK(!winograd_s2_conv_applies(&s)); /* the 1x1 shortcut */
  s = ok, s.stride = 2, s.out_h = s.out_w = 4;
  s.n = 3;
  CHECK(!conv_gemm_applies(&s)); /* too few images to share between threads */
  s.n = 8, s.src_block = 1;
  CHECK(!conv_gemm_applies(&s)); /* plain input: the stem */
}

/* Through the backend table (what nets call), and bit-identical for 1 and 2 threads. */
static void check_backend_and_threads(int stride) {
  conv_case c = stride == 1 ? make_case(6, 32, 9, 10, 32, 3, 1, 1) : make_case(9, 16, 13, 12, 24, 3, 2, 1);
  const scan_backend *be = scan_backend_onednn();
  float *y1 = malloc(c.ny * 4), *y2 = malloc(c.ny * 4), *dx1 = malloc(c.nx * 4), *dx2 = malloc(c.nx * 4);
  scan_conv_state *st = NULL;
  scan_context *ctx = scan_context_default();
  const int threads = scan_context_threads(ctx);
  scan_context_set_threads(ctx, 1);
  CHECK(be->conv_forward(ctx, &st, &c.s, c.xb, c.w, y1) == SCAN_OK);
  CHECK(be->conv_backward_data(ctx, &st, &c.s, c.dyb, c.w, dx1) == SCAN_OK);
  scan_context_set_threads(ctx, 2);
  CHECK(be->conv_forward(ctx, &st, &c.s, c.xb, c.w, y2) == SCAN_OK);
  CHECK(be->conv_backward_data(ctx, &st, &c.s, c.dyb, c.w, dx2) == SCAN_OK);
  scan_context_set_threads(ctx, threads);
  CHECK(memcmp(y1, y2, c.ny * 4) == 0);
  CHECK(memcmp(dx1, dx2, c.nx * 4) == 0);
  float *y = malloc(c.ny * 4);
  test_from_blocked(c.s.n, c.s.out_c, c.s.out_h * c.s.out_w, 8, y1, y);
  CHECK(test_max_rel_diff(y, c.y, c.ny) < 2e-5);
  be->conv_state_free(st);
  free(y1), free(y2), free(dx1), free(dx2), free(y);
  free_case(&c);
}

int main(void) {
  check_applies();
  check_passes(&winograd, 2, 16, 17, 13, 32, 3, 1, 1);  /* partial tiles on both edges */
  check_passes(&winograd, 40, 16, 1, 1, 16, 3, 1, 1);   /* images smaller than a tile */
  check_passes(&winograd, 32, 64, 4, 4, 64, 3, 1, 1);   /* one tile per image, like ResNet-18's last stage on 32x32 inputs */
  check_passes(&winograd, 2, 8, 16, 16, 16, 3, 1, 1);   /* one channel block in */
  check_passes(&winograd, 6, 24, 12, 8, 48, 3, 1, 1);   /* 3 blocks (6-row kernel tails over channels in the weight gradient) */
  check_passes(&winograd, 6, 4, 8, 9, 12, 3, 1, 1);     /* partly filled blocks and panels: 4 of 8 channels in, 12 of 16 out */
  check_passes(&winograd, 4, 20, 10, 10, 5, 3, 1, 1);   /* 20 in (2.5 blocks), 5 out */
  check_passes(&winograd_s2, 8, 16, 16, 16, 32, 3, 2, 1); /* ResNet's downsampling 3x3: 4 whole tiles per image */
  check_passes(&winograd_s2, 6, 12, 17, 15, 20, 3, 2, 1); /* odd sizes: partial tiles; partly filled blocks and panels */
  check_passes(&winograd_s2, 32, 24, 8, 8, 40, 3, 2, 1);  /* one tile per image, like ResNet-18's last downsampling */
  check_passes(&winograd_s2, 40, 8, 3, 3, 8, 3, 2, 1);    /* images smaller than a tile */
  check_passes(&patches, 4, 16, 9, 9, 32, 3, 2, 1);     /* ResNet's downsampling 3x3, odd input */
  check_passes(&patches, 5, 16, 8, 8, 32, 1, 2, 0);     /* its 1x1 shortcut */
  check_passes(&patches, 4, 24, 7, 5, 16, 1, 1, 0);     /* 1x1 stride 1 */
  check_passes(&patches, 4, 12, 11, 10, 20, 3, 1, 1);   /* partly filled blocks; 20 out: a last panel of one block */
  check_passes(&patches, 4, 8, 9, 9, 8, 5, 1, 2);       /* 5x5; only one block out */
  check_passes(&patches, 4, 4, 13, 11, 24, 7, 2, 3);    /* 7x7 stride 2, ResNet-50/STL stem-like */
  check_passes(&patches, 6, 16, 12, 12, 16, 3, 1, 0);   /* no padding: output smaller than input */
  check_passes(&patches, 4, 16, 30, 30, 16, 3, 2, 1);   /* more output pixels than one gathered chunk */
  check_passes(&patches, 9, 40, 6, 6, 20, 3, 2, 1);     /* 3x3 pixels per image: chunks and kernel calls cut at images;
                                                           depth 360: two slices, summed into the spilled last panel */
  check_backend_and_threads(1);
  check_backend_and_threads(2);
  for (int residual = 0; residual < 2; residual++) {
    check_affine(4, 12, 10, 9, 20, 3, 1, 1, 1, residual);  /* Winograd */
    check_affine(4, 16, 9, 9, 12, 3, 2, 1, 0, residual);   /* patch products (16 tiles: too few for Winograd) */
    check_affine(8, 16, 12, 12, 24, 3, 2, 1, 1, residual); /* Winograd stride 2 */
    check_affine(1, 8, 6, 6, 16, 3, 1, 1, 1, residual);    /* oneDNN direct, then the epilogue pass */
  }
  conv_scratch_release(&scratch);
  return test_main_end();
}
