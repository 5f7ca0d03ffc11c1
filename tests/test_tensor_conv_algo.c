/* Explicitly chosen convolution algorithms (scan_conv_shape.algo) through the oneDNN backend's table, against the
 * naive reference (plain loops, double sums):
 *  - each algorithm, forced, gives the reference's outputs, data gradients and (accumulated) weight gradients, on the
 *    layouts it takes, also at batch sizes below AUTO's thresholds (one image): a plan measured at the training batch
 *    runs every batch of the stage;
 *  - the fused epilogue (folded batch-norm, ReLU) of each forced algorithm;
 *  - an algorithm that cannot run a shape is refused by conv_algo_check with a message saying why, and by every pass
 *    (never silently replaced): other layouts, other kernels, fast_convolution off, oneDNN's Winograd where oneDNN has
 *    none (AVX2: none at all);
 *  - AUTO gives the bits of the algorithm the rule picks;
 *  - the naive backend takes AUTO only; the names read back.
 * Tolerances, relative to the largest reference value: 2e-5 for scan's kernels and oneDNN direct (float sums of at
 * most a few hundred products, as in test_tensor_conv_kernels.c), 2e-3 for oneDNN's Winograd (its F(4x4) transforms
 * amplify rounding, as in test_tensor_backend_ops.c). */
#include <stdlib.h>
#include <string.h>

#include "conv_case.h"
#include "scan/context.h"
#include "scan/cpu_isa.h"
#include "testlib.h"

static const scan_backend *backend(void) { return scan_backend_onednn(); }

/* The three passes (and the epilogue, for nChw8c outputs) of algorithm `algo`, forced, against the reference;
 * returns the worst relative difference. */
static double worst_difference(conv_case *c, scan_conv_algo algo) {
  scan_context *ctx = scan_context_default();
  scan_conv_shape s = c->s;
  s.algo = algo;
  const int ohw = s.out_h * s.out_w, ihw = s.in_h * s.in_w;
  float *yb = malloc(c->nyb * 4), *y = malloc(c->ny * 4), *dxb = malloc(c->nxb * 4), *dx = malloc(c->nx * 4);
  float *dw = test_randn(99, c->nw, 4), *expected_dw = malloc(c->nw * 4);
  for (int64_t i = 0; i < c->nw; i++) expected_dw[i] = dw[i] + c->dw[i]; /* the weight gradient accumulates */
  scan_conv_state *st = NULL;
  double worst = 0;
  memset(yb, 0x7f, c->nyb * 4); /* garbage: every element must be written */
  CHECK(backend()->conv_forward(ctx, &st, &s, c->xb, c->w, yb) == SCAN_OK);
  test_from_blocked(s.n, s.out_c, ohw, s.dst_block, yb, y);
  worst = test_worse(worst, test_max_rel_diff(y, c->y, c->ny));
  memset(dxb, 0x7f, c->nxb * 4);
  CHECK(backend()->conv_backward_data(ctx, &st, &s, c->dyb, c->w, dxb) == SCAN_OK);
  test_from_blocked(s.n, s.in_c, ihw, s.src_block, dxb, dx);
  worst = test_worse(worst, test_max_rel_diff(dx, c->dx, c->nx));
  CHECK(backend()->conv_backward_weights(ctx, &st, &s, c->xb, c->dyb, dw) == SCAN_OK);
  worst = test_worse(worst, test_max_rel_diff(dw, expected_dw, c->nw));
  if (s.dst_block == 8) { /* y = max(0, 2 conv + 1) per channel, padded channels' scale and shift zero */
    const int padded = scan_channel_blocks(s.out_c, 8) * 8;
    float *scale = calloc(padded, 4), *shift = calloc(padded, 4), *expected = malloc(c->ny * 4);
    for (int k = 0; k < s.out_c; k++) scale[k] = 2, shift[k] = 1;
    for (int64_t i = 0; i < c->ny; i++) expected[i] = 2 * c->y[i] + 1 > 0 ? 2 * c->y[i] + 1 : 0;
    const scan_conv_epilogue ep = {scale, shift, NULL, 1};
    memset(yb, 0x7f, c->nyb * 4);
    CHECK(backend()->conv_forward_affine(ctx, &st, &s, c->xb, c->w, &ep, yb) == SCAN_OK);
    test_from_blocked(s.n, s.out_c, ohw, 8, yb, y);
    worst = test_worse(worst, test_max_rel_diff(y, expected, c->ny));
    free(scale), free(shift), free(expected);
  }
  backend()->conv_state_free(st);
  free(yb), free(y), free(dxb), free(dx), free(dw), free(expected_dw);
  return worst;
}

static double tolerance(scan_conv_algo algo) { return algo == SCAN_CONV_ONEDNN_WINOGRAD ? 2e-3 : 2e-5; }

static const char *describe(const conv_case *c, scan_conv_algo algo) {
  static char text[160];
  snprintf(text, sizeof text, "%s n%d %d->%d %dx%d k%d s%d nChw%dc->nChw%dc", scan_conv_algo_name(algo), c->s.n, c->s.in_c,
           c->s.out_c, c->s.in_h, c->s.in_w, c->s.kernel, c->s.stride, c->s.src_block, c->s.dst_block);
  return text;
}

/* Runs `algo` on c and compares, after checking that conv_algo_check lets it run. */
static void check_runs(conv_case *c, scan_conv_algo algo) {
  scan_conv_shape s = c->s;
  s.algo = algo;
  CHECK_MSG(backend()->conv_algo_check(scan_context_default(), &s) == SCAN_OK, "%s: refused: %s", describe(c, algo),
            scan_error_message());
  const double worst = worst_difference(c, algo);
  CHECK_MSG(worst < tolerance(algo), "%s: relative difference %g", describe(c, algo), worst);
}

/* `algo` is refused for c by conv_algo_check and by a pass, with a message holding `why`. */
static void check_refused(conv_case *c, scan_conv_algo algo, const char *why) {
  scan_conv_shape s = c->s;
  s.algo = algo;
  scan_context *ctx = scan_context_default();
  CHECK_MSG(backend()->conv_algo_check(ctx, &s) == SCAN_ERR_INPUT && strstr(scan_error_message(), why) &&
                strstr(scan_error_message(), scan_conv_algo_name(algo)),
            "%s: not refused with '%s': %s", describe(c, algo), why, scan_error_message());
  if (algo == SCAN_CONV_ONEDNN_WINOGRAD) return; /* its passes find out by making oneDNN's primitives: below */
  scan_conv_state *st = NULL;
  float *y = malloc(c->nyb * 4);
  CHECK_MSG(backend()->conv_forward(ctx, &st, &s, c->xb, c->w, y) == SCAN_ERR_INPUT, "%s: a forward pass ran", describe(c, algo));
  backend()->conv_state_free(st);
  free(y);
}

/* oneDNN's Winograd (algo: with or without the stem kernel) runs where oneDNN has it (AVX-512 machines) and is refused
 * by the check and every pass elsewhere; it never runs under the AVX2 cap, where oneDNN 2.x has no Winograd. Returns
 * whether it ran. */
static int check_onednn_winograd(conv_case *c, scan_conv_algo algo) {
  scan_conv_shape s = c->s;
  s.algo = algo;
  scan_context *ctx = scan_context_default();
  if (backend()->conv_algo_check(ctx, &s) == SCAN_OK) {
    CHECK_MSG(scan_cpu_features_get().avx512, "%s accepted without AVX-512", scan_conv_algo_name(algo));
    check_runs(c, algo);
    return 1;
  }
  CHECK_MSG(strstr(scan_error_message(), "oneDNN has no Winograd"), "%s", scan_error_message());
  scan_conv_state *st = NULL;
  float *y = malloc(c->nyb * 4), *dx = malloc(c->nxb * 4);
  CHECK(backend()->conv_forward(ctx, &st, &s, c->xb, c->w, y) == SCAN_ERR_INPUT);
  CHECK(backend()->conv_backward_data(ctx, &st, &s, c->dyb, c->w, dx) == SCAN_ERR_INPUT); /* needs the forward's */
  backend()->conv_state_free(st);
  free(y), free(dx);
  return 0;
}

/* AUTO gives the same bits as the algorithm the rule picks for the shape. */
static void check_auto_is(conv_case *c, scan_conv_algo picked) {
  scan_context *ctx = scan_context_default();
  scan_conv_shape rule = c->s, named = c->s;
  named.algo = picked;
  float *y1 = malloc(c->nyb * 4), *y2 = malloc(c->nyb * 4), *dw1 = calloc(c->nw, 4), *dw2 = calloc(c->nw, 4);
  scan_conv_state *st1 = NULL, *st2 = NULL;
  CHECK(backend()->conv_forward(ctx, &st1, &rule, c->xb, c->w, y1) == SCAN_OK);
  CHECK(backend()->conv_forward(ctx, &st2, &named, c->xb, c->w, y2) == SCAN_OK);
  CHECK(backend()->conv_backward_weights(ctx, &st1, &rule, c->xb, c->dyb, dw1) == SCAN_OK);
  CHECK(backend()->conv_backward_weights(ctx, &st2, &named, c->xb, c->dyb, dw2) == SCAN_OK);
  CHECK_MSG(memcmp(y1, y2, c->nyb * 4) == 0 && memcmp(dw1, dw2, c->nw * 4) == 0, "auto is not %s's bits for %s (forward %d)",
            scan_conv_algo_name(picked), describe(c, picked), memcmp(y1, y2, c->nyb * 4) == 0);
  backend()->conv_state_free(st1), backend()->conv_state_free(st2);
  free(y1), free(y2), free(dw1), free(dw2);
}

static void check_names(void) {
  for (int a = 0; a < SCAN_CONV_ALGO_COUNT; a++) CHECK((int)scan_conv_algo_parse(scan_conv_algo_name((scan_conv_algo)a)) == a);
  CHECK(scan_conv_algo_parse("winograd") == SCAN_CONV_ALGO_COUNT);
  CHECK(scan_conv_algo_parse(NULL) == SCAN_CONV_ALGO_COUNT);
  CHECK(scan_conv_algo_name(SCAN_CONV_ALGO_COUNT) == NULL);
}

static void check_naive_takes_auto_only(void) {
  scan_conv_shape s = {.n = 1, .in_c = 2, .in_h = 4, .in_w = 4, .out_c = 2, .out_h = 4, .out_w = 4, .kernel = 3, .stride = 1,
                       .pad = 1, .fast = 1, .src_block = 1, .dst_block = 1};
  CHECK(scan_backend_naive()->conv_algo_check(NULL, &s) == SCAN_OK);
  s.algo = SCAN_CONV_ONEDNN_DIRECT;
  CHECK(scan_backend_naive()->conv_algo_check(NULL, &s) == SCAN_ERR_INPUT);
}

int main(void) {
  check_names();
  check_naive_takes_auto_only();

  /* 3x3 stride 1 on nChw8c (VGG's and ResNet's body): both Winograds, patches, oneDNN direct */
  conv_case c = conv_case_make(8, 12, 10, 9, 20, 3, 1, 1, 8, 8);
  check_runs(&c, SCAN_CONV_OWN_WINOGRAD);
  check_runs(&c, SCAN_CONV_OWN_GEMM);
  check_runs(&c, SCAN_CONV_ONEDNN_DIRECT);
  check_onednn_winograd(&c, SCAN_CONV_ONEDNN_WINOGRAD);
  check_refused(&c, SCAN_CONV_OWN_WINOGRAD_S2, "not a 3x3 stride 2");
  check_refused(&c, SCAN_CONV_ONEDNN_DIRECT_STEM, "stem kernel takes plain-layout input");
  check_auto_is(&c, SCAN_CONV_OWN_WINOGRAD);
  c.s.fast = 0; /* fast_convolution: false: oneDNN direct only */
  check_refused(&c, SCAN_CONV_OWN_WINOGRAD, "fast_convolution is false");
  check_refused(&c, SCAN_CONV_ONEDNN_WINOGRAD, "fast_convolution is false");
  check_runs(&c, SCAN_CONV_ONEDNN_DIRECT);
  conv_case_free(&c);

  /* one image, 3x3 pixels: below both Winograd's tile threshold and the patches' image threshold */
  c = conv_case_make(1, 8, 3, 3, 16, 3, 1, 1, 8, 8);
  check_runs(&c, SCAN_CONV_OWN_WINOGRAD);
  check_runs(&c, SCAN_CONV_OWN_GEMM);
  conv_case_free(&c);

  /* 3x3 stride 2 (ResNet's downsampling), odd sizes; one image */
  c = conv_case_make(6, 16, 13, 11, 24, 3, 2, 1, 8, 8);
  check_runs(&c, SCAN_CONV_OWN_WINOGRAD_S2);
  check_runs(&c, SCAN_CONV_OWN_GEMM);
  check_runs(&c, SCAN_CONV_ONEDNN_DIRECT);
  check_refused(&c, SCAN_CONV_OWN_WINOGRAD, "not a 3x3 stride 1");
  conv_case_free(&c);
  c = conv_case_make(1, 8, 5, 5, 8, 3, 2, 1, 8, 8);
  check_runs(&c, SCAN_CONV_OWN_WINOGRAD_S2);
  conv_case_free(&c);

  /* the stem: plain grey images in, nChw8c and nChw16c out */
  for (int block = 8; block <= 16; block += 8) {
    c = conv_case_make(4, 1, 12, 12, 16, 3, 1, 1, 1, block);
    check_runs(&c, SCAN_CONV_ONEDNN_DIRECT_STEM);
    check_runs(&c, SCAN_CONV_ONEDNN_DIRECT);
    check_onednn_winograd(&c, SCAN_CONV_ONEDNN_WINOGRAD);
    check_onednn_winograd(&c, SCAN_CONV_ONEDNN_WINOGRAD_STEM);
    /* the rule's first layer: oneDNN direct (too few channels for Winograd), with the stem kernel's weight gradient
       beside scan's kernels (nChw8c) and oneDNN's own with nChw16c */
    check_auto_is(&c, block == 8 ? SCAN_CONV_ONEDNN_DIRECT_STEM : SCAN_CONV_ONEDNN_DIRECT);
    check_refused(&c, SCAN_CONV_OWN_WINOGRAD, "need nChw8c");
    check_refused(&c, SCAN_CONV_OWN_GEMM, "need nChw8c");
    conv_case_free(&c);
  }

  /* nChw16c between layers (AVX-512's own layout): oneDNN only; the rule's Winograd from 32 input channels on */
  c = conv_case_make(4, 16, 8, 8, 32, 3, 1, 1, 16, 16);
  check_runs(&c, SCAN_CONV_ONEDNN_DIRECT);
  check_onednn_winograd(&c, SCAN_CONV_ONEDNN_WINOGRAD);
  check_auto_is(&c, SCAN_CONV_ONEDNN_DIRECT);
  check_refused(&c, SCAN_CONV_OWN_WINOGRAD, "need nChw8c");
  check_refused(&c, SCAN_CONV_OWN_GEMM, "need nChw8c");
  conv_case_free(&c);
  c = conv_case_make(4, 32, 8, 8, 32, 3, 1, 1, 16, 16);
  check_auto_is(&c, check_onednn_winograd(&c, SCAN_CONV_ONEDNN_WINOGRAD) ? SCAN_CONV_ONEDNN_WINOGRAD : SCAN_CONV_ONEDNN_DIRECT);
  conv_case_free(&c);

  /* 7x7 stride 2 on nChw8c: patches; 9x9: nothing of scan's */
  c = conv_case_make(4, 8, 13, 11, 8, 7, 2, 3, 8, 8);
  check_runs(&c, SCAN_CONV_OWN_GEMM);
  conv_case_free(&c);
  c = conv_case_make(2, 8, 12, 12, 8, 9, 1, 4, 8, 8);
  check_refused(&c, SCAN_CONV_OWN_GEMM, "larger than 7");
  conv_case_free(&c);
  return test_main_end();
}
