/* ReLU, residual addition and gradient accumulation: element-wise, memory-bound loops. */
#include "parallel.h"
#include "scan/nn_layers.h"

void scan_relu_forward(int64_t count, const float *x, float *y) {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
  for (int64_t i = 0; i < count; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void scan_relu_backward(int64_t count, const float *y, const float *dy, float *dx) {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
  for (int64_t i = 0; i < count; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
}

void scan_add_forward(int64_t count, const float *a, const float *b, int relu, float *y) {
  if (relu) {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < count; i++) {
      const float sum = a[i] + b[i];
      y[i] = sum > 0 ? sum : 0.0f; /* not fmaxf: without -ffinite-math-only that is a library call per element */
    }
  } else {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
    for (int64_t i = 0; i < count; i++) y[i] = a[i] + b[i];
  }
}

void scan_accumulate(int64_t count, const float *src, float *dst) {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
  for (int64_t i = 0; i < count; i++) dst[i] += src[i];
}
