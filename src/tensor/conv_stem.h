/* The weight gradient of a stem convolution (a few plain input channels, blocked output), written out by hand
 * because oneDNN either pads the input to a full channel block or goes through im2col + GEMM per image. */
#ifndef SCAN_TENSOR_CONV_STEM_H
#define SCAN_TENSOR_CONV_STEM_H

#include "scan/tensor.h"

/* Whether stem_conv_backward_weights handles this shape. */
int stem_conv_applies(const scan_conv_shape *s);
/* dw[OC, IC, K, K] += correlation(x, dy): x plain NCHW, dy in layout s->dst_block. */
void stem_conv_backward_weights(const scan_conv_shape *s, const float *x, const float *dy, float *dw);

#endif
