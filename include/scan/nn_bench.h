/* Timing entry points for `scan bench`: whole training steps and inference on synthetic inputs. */
#ifndef SCAN_NN_BENCH_H
#define SCAN_NN_BENCH_H

#include <stdio.h>

#include "scan/error.h"
#include "scan/nn.h"

/* One training step = forward (training mode) + backward from a fixed synthetic gradient on every head + SGD step
   (momentum 0.9, nesterov, wd 1e-4), on `batch` random images. One untimed warm-up step, then `repeats` timed
   steps; seconds_out[r] receives each step's wall time (array of `repeats`). */
scan_status scan_bench_train_step(const scan_backbone_config *b, const scan_head_config *h, int batch, int repeats, double *seconds_out);
/* The training step above, `repeats` times after the warm-up, with the net's per-op profile on (scan_net_set_profiling):
   prints each op's forward and backward milliseconds per step, the optimiser's, and the share of each op kind to
   `out`; seconds_out[r] receives each step's wall time. */
scan_status scan_bench_train_profile(const scan_backbone_config *b, const scan_head_config *h, int batch, int repeats,
                                     FILE *out, double *seconds_out);
/* Same for inference: forward in eval mode only. */
scan_status scan_bench_inference(const scan_backbone_config *b, const scan_head_config *h, int batch, int repeats, double *seconds_out);

/* 1: the timed nets' convolution algorithms are measured first (include/scan/conv_tune.h; one line per layer on
   stderr), as conv_algorithm: measure does; 0 (the default): the rule. */
void scan_bench_set_conv_measure(int measure);
/* Seconds to measure the convolution algorithms of a net at `batch` (its lines on stderr). */
scan_status scan_bench_conv_tuning(const scan_backbone_config *b, const scan_head_config *h, int batch, double *seconds);

#endif
