/* The naive backend's memory-bound layers (naive_layers.c); contracts as the table entries of the same name in
 * include/scan/tensor.h, plain NCHW only. */
#ifndef SCAN_TENSOR_NAIVE_LAYERS_H
#define SCAN_TENSOR_NAIVE_LAYERS_H

#include "scan/tensor.h"

scan_status naive_bn_stats(int n, int c, int hw, int block, const float *x, float *mean, float *var);
scan_status naive_bn_apply(int n, int c, int hw, int block, const float *x, const float *mean, const float *var, double eps,
                           const float *gamma, const float *beta, int relu, float *y);
scan_status naive_bn_backward(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                              const float *mean, const float *var, double eps, const float *gamma, float *dx, float *dgamma,
                              float *dbeta);
scan_status naive_bn_backward_eval(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                                   const float *mean, const float *var, double eps, const float *gamma, float *dx,
                                   float *dgamma, float *dbeta);
scan_status naive_relu_forward(int64_t count, const float *x, float *y);
scan_status naive_relu_backward(int64_t count, const float *y, const float *dy, float *dx);
scan_status naive_add_forward(int64_t count, const float *a, const float *b, int relu, float *y);
scan_status naive_add_backward(int64_t count, const float *y, const float *dy, float *da, int add_a, float *db, int add_b);
scan_status naive_accumulate(int64_t count, const float *src, float *dst);
scan_status naive_maxpool_forward(int n, int c, int block, int ih, int iw, int oh, int ow, int kernel, int stride, int pad,
                                  const float *x, float *y, int32_t *argmax);
scan_status naive_maxpool_backward(int n, int c, int block, int ih, int iw, int oh, int ow, const int32_t *argmax,
                                   const float *dy, float *dx);
scan_status naive_gap_forward(int n, int c, int hw, int block, const float *x, float *y);
scan_status naive_gap_backward(int n, int c, int hw, int block, const float *dy, float *dx);

#endif
