/* One convolution's random inputs and the naive reference's results (plain loops, double sums), for the tests that
 * check the backend's kernels against it (test_tensor_conv_kernels.c, test_tensor_conv_algo.c). */
#ifndef SCAN_TEST_CONV_CASE_H
#define SCAN_TEST_CONV_CASE_H

#include <stdlib.h>

#include "scan/tensor.h"
#include "testlib.h"

typedef struct {
  scan_conv_shape s; /* fast, in the layouts asked for */
  int64_t nx, ny, nw, nxb, nyb;
  float *x, *w, *dy, *xb, *dyb; /* inputs, plain and in the shape's layouts */
  float *y, *dx, *dw;           /* the reference's results, plain */
} conv_case;

static inline int64_t conv_case_floats(int n, int c, int hw, int block) {
  return (int64_t)n * scan_channel_blocks(c, block) * block * hw;
}

static inline conv_case conv_case_make(int n, int in_c, int h, int w, int out_c, int kernel, int stride, int pad,
                                       int src_block, int dst_block) {
  const int oh = scan_window_out(h, kernel, stride, pad), ow = scan_window_out(w, kernel, stride, pad);
  conv_case c = {.s = {.n = n, .in_c = in_c, .in_h = h, .in_w = w, .out_c = out_c, .out_h = oh, .out_w = ow, .kernel = kernel,
                       .stride = stride, .pad = pad, .fast = 1, .src_block = src_block, .dst_block = dst_block}};
  c.nx = (int64_t)n * in_c * h * w, c.ny = (int64_t)n * out_c * oh * ow, c.nw = (int64_t)out_c * in_c * kernel * kernel;
  c.nxb = conv_case_floats(n, in_c, h * w, src_block), c.nyb = conv_case_floats(n, out_c, oh * ow, dst_block);
  c.x = test_randn(99, c.nx, 1), c.w = test_randn(99, c.nw, 2), c.dy = test_randn(99, c.ny, 3);
  c.xb = malloc(c.nxb * 4), c.dyb = malloc(c.nyb * 4);
  test_to_blocked(n, in_c, h * w, src_block, c.x, c.xb);
  test_to_blocked(n, out_c, oh * ow, dst_block, c.dy, c.dyb);
  c.y = malloc(c.ny * 4), c.dx = malloc(c.nx * 4), c.dw = calloc(c.nw, 4);
  const scan_backend *ref = scan_backend_naive();
  scan_conv_shape plain = c.s;
  plain.src_block = plain.dst_block = 1;
  scan_conv_state *st = NULL;
  CHECK(ref->conv_forward(NULL, &st, &plain, c.x, c.w, c.y) == SCAN_OK); /* the reference needs no context */
  CHECK(ref->conv_backward_data(NULL, &st, &plain, c.dy, c.w, c.dx) == SCAN_OK);
  CHECK(ref->conv_backward_weights(NULL, &st, &plain, c.x, c.dy, c.dw) == SCAN_OK);
  ref->conv_state_free(st);
  return c;
}

static inline void conv_case_free(conv_case *c) {
  free(c->x), free(c->w), free(c->dy), free(c->xb), free(c->dyb), free(c->y), free(c->dx), free(c->dw);
}

#endif
