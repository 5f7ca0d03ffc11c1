/* The layers of the nn module as paired forward/backward functions over plain NCHW float buffers (one file per
 * layer in src/nn/). Convolution and matrix products go through a backend (include/scan/tensor.h); the
 * memory-bound layers (batch-norm, ReLU, pooling, normalisation) are OpenMP loops shared by all CPU backends. */
#ifndef SCAN_NN_LAYERS_H
#define SCAN_NN_LAYERS_H

#include <stdint.h>

#include "scan/tensor.h"

/* hw = H*W. `block`: the activation layout (include/scan/tensor.h), 1 = NCHW. Padded channels of blocked layouts
 * are written as zeros. */

/* Batch statistics per channel: mean and biased variance over n*hw values (double accumulation). */
void scan_bn_stats(int n, int c, int hw, int block, const float *x, float *mean, float *var);
/* y = gamma * (x - mean) * invstd + beta, invstd = 1/sqrt(var + eps); relu != 0 fuses a ReLU: y = max(0, y). */
/* The per-channel scale and shift that batch-norm with fixed statistics amounts to (y = x * scale + shift), for
 * `padded` >= c channels (zeros past c): what scan_bn_apply applies, and what a convolution can fold in. */
void scan_bn_fold(int c, int padded, const float *mean, const float *var, double eps, const float *gamma, const float *beta,
                  float *scale, float *shift);
void scan_bn_apply(int n, int c, int hw, int block, const float *x, const float *mean, const float *var, double eps,
                   const float *gamma, const float *beta, int relu, float *y);
/* Training-mode backward (batch statistics): dx (overwritten), dgamma/dbeta accumulated. relu_out: the output of a
 * fused ReLU (the gradient is zero where it is not positive), or NULL. */
void scan_bn_backward(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out, const float *mean,
                      const float *var, double eps, const float *gamma, float *dx, float *dgamma, float *dbeta);
/* Eval-mode backward (running statistics are constants): dx = dy * gamma * invstd; dgamma/dbeta accumulated. */
void scan_bn_backward_eval(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                           const float *mean, const float *var, double eps, const float *gamma, float *dx, float *dgamma,
                           float *dbeta);

void scan_relu_forward(int64_t count, const float *x, float *y);
/* dx = dy where y > 0 (y is the forward output) */
void scan_relu_backward(int64_t count, const float *y, const float *dy, float *dx);
/* y = a + b, or max(0, a + b) with relu != 0 (the residual join) */
void scan_add_forward(int64_t count, const float *a, const float *b, int relu, float *y);
/* The residual join's backward in one pass: g = dy, masked to y > 0 when y (the fused ReLU's output) is given; then
 * da = g (or da += g when add_a), db = g (or db += g when add_b). */
void scan_add_backward(int64_t count, const float *y, const float *dy, float *da, int add_a, float *db, int add_b);
/* dst += src */
void scan_accumulate(int64_t count, const float *src, float *dst);

/* Max pool (padding never wins: padded cells are -inf). argmax (laid out like y) = spatial index into the input
 * plane of the winner. */
void scan_maxpool_forward(int n, int c, int block, int ih, int iw, int oh, int ow, int kernel, int stride, int pad,
                          const float *x, float *y, int32_t *argmax);
void scan_maxpool_backward(int n, int c, int block, int ih, int iw, int oh, int ow, const int32_t *argmax, const float *dy,
                           float *dx);
/* Global average pooling: x in layout `block` -> y plain [n, c]; backward spreads dy[n, c] / hw over dx. */
void scan_gap_forward(int n, int c, int hw, int block, const float *x, float *y);
void scan_gap_backward(int n, int c, int hw, int block, const float *dy, float *dx);
/* Average pool over plain NCHW, padding counted in the divisor (PyTorch count_include_pad=True). */
void scan_avgpool_forward(int n, int c, int ih, int iw, int oh, int ow, int kernel, int stride, int pad, const float *x, float *y);
void scan_avgpool_backward(int n, int c, int ih, int iw, int oh, int ow, int kernel, int stride, int pad, const float *dy, float *dx);

/* Linear y[n,out] = x[n,in] W[out,in]^T + b. Backward: dx overwritten (may be NULL), dW and db accumulated. */
scan_status scan_conv_forward(const scan_backend *be, scan_conv_state **state, const scan_conv_shape *s, const float *x,
                              const float *w, float *y);
/* dx may be NULL (first layer); dx overwritten, dw accumulated. */
scan_status scan_conv_backward(const scan_backend *be, scan_conv_state **state, const scan_conv_shape *s, const float *x,
                               const float *w, const float *dy, float *dx, float *dw);

void scan_linear_forward(const scan_backend *be, int n, int in, int out, const float *x, const float *w, const float *b, float *y);
void scan_linear_backward(const scan_backend *be, int n, int in, int out, const float *x, const float *w, const float *dy,
                          float *dx, float *dw, float *db);

/* Row-wise L2 normalisation like torch.nn.functional.normalize(dim=1, eps=1e-12). */
void scan_l2norm_forward(int n, int d, const float *x, float *y);
void scan_l2norm_backward(int n, int d, const float *x, const float *y, const float *dy, float *dx);

/* Row-wise softmax / log-softmax over d classes and their backward (dx overwritten). */
void scan_softmax_forward(int n, int d, const float *x, float *y);
void scan_softmax_backward(int n, int d, const float *y, const float *dy, float *dx);
void scan_log_softmax_forward(int n, int d, const float *x, float *y);
void scan_log_softmax_backward(int n, int d, const float *y, const float *dy, float *dx);

#endif
