/* The CPU kernels of the memory-bound layers that the oneDNN backend's table points at (cpu_batchnorm.c,
 * cpu_eltwise.c, cpu_pool.c): vectorised OpenMP loops over plain or blocked activations. Their contracts are the
 * table entries' of the same name in include/scan/tensor.h. */
#ifndef SCAN_TENSOR_CPU_LAYERS_H
#define SCAN_TENSOR_CPU_LAYERS_H

#include "scan/tensor.h"

scan_bn_stats_op cpu_bn_stats;
scan_bn_apply_op cpu_bn_apply;
scan_bn_backward_op cpu_bn_backward, cpu_bn_backward_eval;
scan_bn_sums_op cpu_bn_sums;
scan_bn_grad_sums_op cpu_bn_grad_sums;
scan_bn_backward_dx_op cpu_bn_backward_dx;
scan_eltwise_op cpu_relu_forward, cpu_accumulate;
scan_relu_backward_op cpu_relu_backward;
scan_add_forward_op cpu_add_forward;
scan_add_backward_op cpu_add_backward;
scan_maxpool_forward_op cpu_maxpool_forward;
scan_maxpool_backward_op cpu_maxpool_backward;
scan_gap_op cpu_gap_forward, cpu_gap_backward;

/* rows.c: plain loops with double sums that are both the reference and fast enough for [n, d] rows of a few
 * hundred values, so both backends point at them. */
scan_rows_op rows_bias_forward, rows_bias_backward, rows_l2norm_forward;
scan_l2norm_backward_op rows_l2norm_backward;

#endif
