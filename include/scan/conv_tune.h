/* Choosing each convolution's algorithm by measurement (conv_algorithm: measure): for a net at its training batch,
 * every algorithm that runs a layer's shape (include/scan/tensor.h, scan_backend.conv_algo_check) is timed on one
 * training step's work for that layer (forward, weight gradient, and data gradient where backward computes one), on
 * the context's threads: a warm-up, then the median of a few repetitions. The fastest is kept. Layers of the same
 * shape are timed once. Inputs are synthetic; the net's parameters and activations are not touched. */
#ifndef SCAN_CONV_TUNE_H
#define SCAN_CONV_TUNE_H

#include <stdio.h>

#include "scan/nn.h"

typedef struct {
  scan_conv_algo algo;             /* the fastest */
  double ms[SCAN_CONV_ALGO_COUNT]; /* each algorithm's median milliseconds; < 0: it does not run this layer */
} scan_conv_timing;

/* Times the algorithms of every convolution of net at batch n (at most its max batch), sets each layer's to the
 * fastest and fills timings[scan_net_conv_count(net)]. log (NULL: silent) receives one line per layer as it is done:
 * its place, name, shape, every algorithm's time, the choice. SCAN_ERR_INPUT when no algorithm runs a layer (the
 * naive backend has none to choose). */
scan_status scan_net_tune_convolutions(scan_net *net, int n, FILE *log, scan_conv_timing *timings);

/* "n512 16->32 14x14 k3 s1 p1 nChw8c->nChw8c": a shape as plan files and logs show it. */
void scan_conv_shape_text(const scan_conv_shape *s, char *out, size_t size);

#endif
