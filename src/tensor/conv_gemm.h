/* Convolution as matrix products over gathered input patches (im2col) on AVX2, for nChw8c activations: any kernel
 * size, stride and padding. The backend runs it where Winograd does not apply (see conv_gemm.c for why). Same sums
 * as direct convolution in another order: about 1e-6 relative difference. */
#ifndef SCAN_TENSOR_CONV_GEMM_H
#define SCAN_TENSOR_CONV_GEMM_H

#include "conv_scratch.h"
#include "scan/tensor.h"

/* nChw8c on both sides, kernel at most 7, and at least 4 images (images are the unit of parallel work). */
int conv_gemm_applies(const scan_conv_shape *s);
/* Whether the kernels can compute s at all (nChw8c, kernel at most 7): what an explicitly chosen algorithm needs. */
int conv_gemm_fits(const scan_conv_shape *s);

scan_status conv_gemm_forward(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w, float *y);
/* y = the epilogue (include/scan/tensor.h) applied to conv(x, w) as it is stored. */
scan_status conv_gemm_forward_affine(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *w,
                                     const scan_conv_epilogue *ep, float *y);
/* dx = conv_transpose(dy, w), overwriting dx */
scan_status conv_gemm_backward_data(conv_scratch *scratch, const scan_conv_shape *s, const float *dy, const float *w,
                                    float *dx);
/* dw += correlation(x, dy) */
scan_status conv_gemm_backward_weights(conv_scratch *scratch, const scan_conv_shape *s, const float *x, const float *dy,
                                       float *dw);

#endif
