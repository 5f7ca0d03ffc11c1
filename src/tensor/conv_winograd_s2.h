/* Winograd for 3x3 stride-2 convolutions on AVX2 (conv_winograd_s2.c): the polyphase split of the kernel, F(4, 2) on
 * the even samples of each axis, 81 products per 4x4 output tile instead of 144. All three passes; nChw8c activations
 * with any channel counts (padded channels are zero); about 1e-6 relative difference from direct convolution. */
#ifndef SCAN_TENSOR_CONV_WINOGRAD_S2_H
#define SCAN_TENSOR_CONV_WINOGRAD_S2_H

#include "conv_scratch.h"
#include "scan/tensor.h"

/* s->fast asked for, 3x3 / stride 2 / padding 1, nChw8c on both sides, enough tiles to amortise the weights' transform. */
int winograd_s2_conv_applies(const scan_conv_shape *s);
/* Whether the kernels can compute s at all (3x3/2/1, nChw8c): what an explicitly chosen algorithm needs. */
int winograd_s2_conv_fits(const scan_conv_shape *s);

scan_status winograd_s2_conv_forward(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w,
                                     float *y);
/* y = the epilogue (include/scan/tensor.h) applied to conv(x, w) as it is stored. */
scan_status winograd_s2_conv_forward_affine(conv_scratch *scratch, const scan_conv_shape *s, const float *x,
                                            const float *w, const scan_conv_epilogue *ep, float *y);
/* dx = conv_transpose(dy, w), overwriting dx */
scan_status winograd_s2_conv_backward_data(conv_scratch *scratch, const scan_conv_shape *s, const float *dy,
                                           const float *w, float *dx);
/* dw += correlation(x, dy) */
scan_status winograd_s2_conv_backward_weights(conv_scratch *scratch, const scan_conv_shape *s, const float *x,
                                              const float *dy, float *dw);

#endif
