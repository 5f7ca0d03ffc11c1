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

/* One pass for both addends; the flags are constants at each call below, so each loop is branch-free. */
static inline __attribute__((always_inline)) void add_backward_pass(int64_t count, const float *y, const float *dy, float *da,
                                                                    const int add_a, float *db, const int add_b) {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
  for (int64_t i = 0; i < count; i++) {
    const float g = !y || y[i] > 0 ? dy[i] : 0.0f;
    da[i] = add_a ? da[i] + g : g;
    db[i] = add_b ? db[i] + g : g;
  }
}

void scan_add_backward(int64_t count, const float *y, const float *dy, float *da, int add_a, float *db, int add_b) {
  if (add_a && add_b) add_backward_pass(count, y, dy, da, 1, db, 1);
  else if (add_a) add_backward_pass(count, y, dy, da, 1, db, 0);
  else if (add_b) add_backward_pass(count, y, dy, da, 0, db, 1);
  else add_backward_pass(count, y, dy, da, 0, db, 0);
}

void scan_accumulate(int64_t count, const float *src, float *dst) {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
  for (int64_t i = 0; i < count; i++) dst[i] += src[i];
}
