/* Convolution layer: the math is the backend's; this pairs the three passes into forward/backward. */
#include "scan/nn_layers.h"

scan_status scan_conv_forward(const scan_backend *be, scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s,
                              const float *x, const float *w, float *y) {
  return be->conv_forward(ctx, state, s, x, w, y);
}

scan_status scan_conv_backward(const scan_backend *be, scan_context *ctx, scan_conv_state **state, const scan_conv_shape *s,
                               const float *x, const float *w, const float *dy, float *dx, float *dw) {
  SCAN_TRY(be->conv_backward_weights(ctx, state, s, x, dy, dw));
  if (dx) SCAN_TRY(be->conv_backward_data(ctx, state, s, dy, w, dx));
  return SCAN_OK;
}
