/* Fully connected layer, PyTorch layout: W[out, in], y = x W^T + b: a matrix product and the bias, both the backend's. */
#include "scan/nn_layers.h"

scan_status scan_linear_forward(const scan_backend *be, int n, int in, int out, const float *x, const float *w, const float *b,
                                float *y) {
  be->gemm(0, 1, n, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
  return b ? be->bias_forward(n, out, b, y) : SCAN_OK;
}

scan_status scan_linear_backward(const scan_backend *be, int n, int in, int out, const float *x, const float *w, const float *dy,
                                 float *dx, float *dw, float *db) {
  be->gemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in); /* dW += dy^T x */
  if (db) SCAN_TRY(be->bias_backward(n, out, dy, db));
  if (dx) be->gemm(0, 0, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in); /* dx = dy W */
  return SCAN_OK;
}
