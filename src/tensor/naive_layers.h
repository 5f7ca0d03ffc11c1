/* The naive backend's memory-bound layers (naive_layers.c); contracts as the table entries of the same name in
 * include/scan/tensor.h, plain NCHW only. */
#ifndef SCAN_TENSOR_NAIVE_LAYERS_H
#define SCAN_TENSOR_NAIVE_LAYERS_H

#include "scan/tensor.h"

scan_bn_stats_op naive_bn_stats;
scan_bn_apply_op naive_bn_apply;
scan_bn_backward_op naive_bn_backward, naive_bn_backward_eval;
scan_bn_sums_op naive_bn_sums;
scan_bn_grad_sums_op naive_bn_grad_sums;
scan_bn_backward_dx_op naive_bn_backward_dx;
scan_eltwise_op naive_relu_forward, naive_accumulate;
scan_relu_backward_op naive_relu_backward;
scan_add_forward_op naive_add_forward;
scan_add_backward_op naive_add_backward;
scan_maxpool_forward_op naive_maxpool_forward;
scan_maxpool_backward_op naive_maxpool_backward;
scan_gap_op naive_gap_forward, naive_gap_backward;

#endif
