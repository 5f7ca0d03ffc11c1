/* The CPU kernels of the memory-bound layers that the oneDNN backend's table points at (cpu_batchnorm.c,
 * cpu_eltwise.c, cpu_pool.c): vectorised OpenMP loops over plain or blocked activations. Their contracts are the
 * table entries' of the same name in include/scan/tensor.h. */
#ifndef SCAN_TENSOR_CPU_LAYERS_H
#define SCAN_TENSOR_CPU_LAYERS_H

#include "scan/tensor.h"

scan_status cpu_bn_stats(int n, int c, int hw, int block, const float *x, float *mean, float *var);
scan_status cpu_bn_apply(int n, int c, int hw, int block, const float *x, const float *mean, const float *var, double eps,
                         const float *gamma, const float *beta, int relu, float *y);
scan_status cpu_bn_backward(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                            const float *mean, const float *var, double eps, const float *gamma, float *dx, float *dgamma,
                            float *dbeta);
scan_status cpu_bn_backward_eval(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                                 const float *mean, const float *var, double eps, const float *gamma, float *dx, float *dgamma,
                                 float *dbeta);

scan_status cpu_relu_forward(int64_t count, const float *x, float *y);
scan_status cpu_relu_backward(int64_t count, const float *y, const float *dy, float *dx);
scan_status cpu_add_forward(int64_t count, const float *a, const float *b, int relu, float *y);
scan_status cpu_add_backward(int64_t count, const float *y, const float *dy, float *da, int add_a, float *db, int add_b);
scan_status cpu_accumulate(int64_t count, const float *src, float *dst);

scan_status cpu_maxpool_forward(int n, int c, int block, int ih, int iw, int oh, int ow, int kernel, int stride, int pad,
                                const float *x, float *y, int32_t *argmax);
scan_status cpu_maxpool_backward(int n, int c, int block, int ih, int iw, int oh, int ow, const int32_t *argmax, const float *dy,
                                 float *dx);
scan_status cpu_gap_forward(int n, int c, int hw, int block, const float *x, float *y);
scan_status cpu_gap_backward(int n, int c, int hw, int block, const float *dy, float *dx);

/* rows.c: plain loops with double sums that are both the reference and fast enough for [n, d] rows of a few
 * hundred values, so both backends point at them. */
scan_status rows_bias_forward(int n, int d, const float *b, float *y);
scan_status rows_bias_backward(int n, int d, const float *dy, float *db);
scan_status rows_l2norm_forward(int n, int d, const float *x, float *y);
scan_status rows_l2norm_backward(int n, int d, const float *x, const float *y, const float *dy, float *dx);

#endif
