/* The compute backends behind the nn layers: one table of function pointers per backend (the way ggml separates
 * graph from backend). Every buffer is plain row-major float: activations NCHW, conv weights [OC, IC, KH, KW].
 * "naive" is the obviously-correct reference (plain loops, double accumulation) every test compares with;
 * "onednn" runs the heavy ops through oneDNN 2.x (all oneDNN calls live in src/tensor/). */
#ifndef SCAN_TENSOR_H
#define SCAN_TENSOR_H

#include <stdint.h>

#include "scan/error.h"

/* Activation layouts: block == 1 is plain NCHW; block > 1 is oneDNN's nChw<block>c, channels in groups of `block`
 * (the count padded with zeros up to a multiple of block):
 *   offset(b, c, i) = ((b * scan_channel_blocks(C, block) + c / block) * H*W + i) * block + c % block
 * Nets keep activations in the backend's preferred block from layer to layer, so no layer reorders them. */
static inline int scan_channel_blocks(int channels, int block) { return (channels + block - 1) / block; }

/* One 2-D convolution without bias (every conv in the SCAN models is followed by batch-norm), square kernel. */
typedef struct {
  int n, in_c, in_h, in_w;
  int out_c, out_h, out_w;
  int kernel, stride, pad;
  int fast;                 /* onednn only: 1 = the fastest algorithm that applies (Winograd for 3x3 stride 1, patch matrix
                               products on AVX2; oneDNN's Winograd on AVX-512), ~1e-5 relative rounding difference;
                               0 = oneDNN direct convolution, which rounds like PyTorch's */
  int src_block, dst_block; /* layouts of x/dx and y/dy (above); 0 is read as 1. The naive backend takes 1 only. */
} scan_conv_shape;

/* out size of a conv / pool window along one axis (floor mode, like PyTorch); 0 when the window does not fit. */
static inline int scan_window_out(int in, int kernel, int stride, int pad) {
  return in + 2 * pad < kernel ? 0 : (in + 2 * pad - kernel) / stride + 1;
}

/* Backend-private state kept per conv layer (cached primitives and reordered weights); created on first use,
 * rebuilt when the shape changes, released with conv_state_free. */
typedef struct scan_conv_state scan_conv_state;

/* What a convolution may do to its outputs as it stores them, per output channel k:
 *   y = scale[k] * conv(x, w) + shift[k] (+ residual), then max(0, y) if relu.
 * An inference batch-norm folded into the convolution (and, with residual, ResNet's join after it: residual is a
 * tensor laid out like y), so the outputs are written once instead of written, read and written again. scale and
 * shift cover whole channel blocks, zero-padded. */
typedef struct {
  const float *scale, *shift;
  const float *residual; /* NULL: none */
  int relu;
} scan_conv_epilogue;

typedef struct scan_backend {
  const char *name;
  /* The activation layout block this backend runs fastest with (1: plain NCHW). */
  int (*preferred_block)(void);
  /* y[n,oc,oh,ow] = conv(x, w) */
  scan_status (*conv_forward)(scan_conv_state **state, const scan_conv_shape *s, const float *x, const float *w, float *y);
  /* y = the epilogue applied to conv(x, w), for blocked outputs (dst_block 8). NULL when the backend does not offer it
   * (then the net runs the layers one by one). */
  scan_status (*conv_forward_affine)(scan_conv_state **state, const scan_conv_shape *s, const float *x, const float *w,
                                     const scan_conv_epilogue *ep, float *y);
  /* dx = conv_transpose(dy, w)   (overwrites dx) */
  scan_status (*conv_backward_data)(scan_conv_state **state, const scan_conv_shape *s, const float *dy, const float *w, float *dx);
  /* dw += correlation(x, dy)     (accumulates into dw, like parameter gradients) */
  scan_status (*conv_backward_weights)(scan_conv_state **state, const scan_conv_shape *s, const float *x, const float *dy, float *dw);
  void (*conv_state_free)(scan_conv_state *state);
  /* Row-major C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, op = transpose when trans_* is nonzero. */
  void (*gemm)(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b, int ldb,
               float beta, float *c, int ldc);
} scan_backend;

const scan_backend *scan_backend_naive(void);
const scan_backend *scan_backend_onednn(void);
/* The backend nets use: onednn unless env SCAN_BACKEND=naive. */
const scan_backend *scan_backend_default(void);

#endif
