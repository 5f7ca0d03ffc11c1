/* Fully connected layer, PyTorch layout: W[out, in], y = x W^T + b. */
#include "parallel.h"
#include "scan/nn_layers.h"

void scan_linear_forward(const scan_backend *be, int n, int in, int out, const float *x, const float *w, const float *b,
                         float *y) {
  be->gemm(0, 1, n, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
  if (!b) return;
#pragma omp parallel for schedule(static) if ((int64_t)n * out >= SCAN_PARALLEL_MIN_WORK)
  for (int i = 0; i < n; i++)
    for (int j = 0; j < out; j++) y[(int64_t)i * out + j] += b[j];
}

void scan_linear_backward(const scan_backend *be, int n, int in, int out, const float *x, const float *w, const float *dy,
                          float *dx, float *dw, float *db) {
  be->gemm(1, 0, out, in, n, 1.0f, dy, out, x, in, 1.0f, dw, in); /* dW += dy^T x */
  if (db) {
#pragma omp parallel for schedule(static) if ((int64_t)n * out >= SCAN_PARALLEL_MIN_WORK)
    for (int j = 0; j < out; j++) {
      double sum = 0;
      for (int i = 0; i < n; i++) sum += dy[(int64_t)i * out + j];
      db[j] += (float)sum;
    }
  }
  if (dx) be->gemm(0, 0, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in); /* dx = dy W */
}
