/* ReLU, residual addition and gradient accumulation: element-wise, memory-bound loops. */
#include <math.h>

#include "scan/nn_layers.h"

void scan_relu_forward(int64_t count, const float *x, float *y) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void scan_relu_backward(int64_t count, const float *y, const float *dy, float *dx) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

void scan_add_forward(int64_t count, const float *a, const float *b, int relu, float *y) {
  if (relu) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; i++) y[i] = fmaxf(a[i] + b[i], 0.0f);
  } else {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; i++) y[i] = a[i] + b[i];
  }
}

void scan_accumulate(int64_t count, const float *src, float *dst) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; i++) dst[i] += src[i];
}
