/* The layers of the nn module that pair several backend ops into forward/backward (one file per layer in src/nn/).
 * Every op runs through a backend (include/scan/tensor.h); nets call the single-op layers (batch-norm, ReLU,
 * pooling, residual joins, L2 normalisation) straight through the backend's table. */
#ifndef SCAN_NN_LAYERS_H
#define SCAN_NN_LAYERS_H

#include <stdint.h>

#include "scan/tensor.h"

/* Convolution, y = conv(x, w), by backend be in context ctx. Backward: dx overwritten (may be NULL: the first layer), dw
 * accumulated. */
scan_status scan_conv_forward(const scan_backend *be, scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s,
                              const float *x, const float *w, float *y);
scan_status scan_conv_backward(const scan_backend *be, scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s,
                               const float *x, const float *w, const float *dy, float *dx, float *dw);

/* Linear y[n,out] = x[n,in] W[out,in]^T + b (b may be NULL). Backward: dx overwritten (may be NULL), dW and db
 * accumulated. */
scan_status scan_linear_forward(const scan_backend *be, int n, int in, int out, const float *x, const float *w, const float *b,
                                float *y);
scan_status scan_linear_backward(const scan_backend *be, int n, int in, int out, const float *x, const float *w, const float *dy,
                                 float *dx, float *dw, float *db);

/* Row-wise softmax over d classes (x may be y): predictions from cluster-head logits. Not a layer of the nets (their
 * losses work on logits), so it is no backend op. */
void scan_softmax_forward(int n, int d, const float *x, float *y);

#endif
