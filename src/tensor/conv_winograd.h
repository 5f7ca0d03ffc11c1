/* Winograd F(4x4, 3x3) convolution for AVX2 machines, where oneDNN 2.6 has none (its Winograd needs AVX-512).
 * 3x3, stride 1, padding 1, activations in nChw8c. The forward pass and the data gradient (the same convolution
 * with the kernel flipped and its channels swapped) share one routine; the weight gradient uses the same input
 * transform and reduces over tiles. About 1e-6..1e-5 relative difference from direct convolution. */
#ifndef SCAN_TENSOR_CONV_WINOGRAD_H
#define SCAN_TENSOR_CONV_WINOGRAD_H

#include "conv_scratch.h"
#include "scan/tensor.h"

/* Whether convolutions of shape s run here (all three passes): s->fast asked for, 3x3/1/1, nChw8c on both sides
 * (any channel counts: padded channels are zero), and enough tiles to amortise transforming the weights. */
int winograd_conv_applies(const scan_conv_shape *s);
/* Whether the kernels can compute s at all (3x3/1/1, nChw8c): what an explicitly chosen algorithm needs. */
int winograd_conv_fits(const scan_conv_shape *s);

scan_status winograd_conv_forward(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w, float *y);
/* y = the epilogue (include/scan/tensor.h) applied to conv(x, w) as it is stored. */
scan_status winograd_conv_forward_affine(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w,
                                         const scan_conv_epilogue *ep, float *y);
/* dx = conv_transpose(dy, w), overwriting dx */
scan_status winograd_conv_backward_data(conv_scratch *scratch, const scan_conv_shape *s, const float *dy, const float *w,
                                        float *dx);
/* dw += correlation(x, dy) */
scan_status winograd_conv_backward_weights(conv_scratch *scratch, const scan_conv_shape *s, const float *x,
                                           const float *dy, float *dw);

#endif
