/* ReLU, residual addition and gradient accumulation: element-wise, memory-bound loops. */
#include <omp.h>
#include <stddef.h>

#include "cpu_layers.h"
#include "cpu_parallel.h"

scan_status cpu_relu_forward(int64_t count, const float *x, float *y) {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
  for (int64_t i = 0; i < count; i++) y[i] = x[i] > 0 ? x[i] : 0;
  return SCAN_OK;
}

scan_status cpu_relu_backward(int64_t count, const float *y, const float *dy, float *dx) {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
  for (int64_t i = 0; i < count; i++) dx[i] = y[i] > 0 ? dy[i] : 0;
  return SCAN_OK;
}

scan_status cpu_add_forward(int64_t count, const float *a, const float *b, int relu, float *y) {
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
  return SCAN_OK;
}

/* One pass for both addends over [lo, hi). The flags are constants at each call in add_backward_range, so each
 * instance is a branch-free vector loop. (Flags tested inside an OpenMP-outlined loop compile to a scalar loop.) */
static inline __attribute__((always_inline)) void add_backward_kernel(int64_t lo, int64_t hi, const float *y, const int masked,
                                                                      const float *dy, float *da, const int add_a, float *db,
                                                                      const int add_b) {
#pragma omp simd
  for (int64_t i = lo; i < hi; i++) {
    const float g = !masked || y[i] > 0 ? dy[i] : 0.0f;
    da[i] = add_a ? da[i] + g : g;
    db[i] = add_b ? db[i] + g : g;
  }
}

static void add_backward_range(int64_t lo, int64_t hi, const float *y, const float *dy, float *da, int add_a, float *db, int add_b) {
  const int variant = (y != NULL) * 4 + add_a * 2 + add_b;
  switch (variant) {
    case 0: add_backward_kernel(lo, hi, y, 0, dy, da, 0, db, 0); break;
    case 1: add_backward_kernel(lo, hi, y, 0, dy, da, 0, db, 1); break;
    case 2: add_backward_kernel(lo, hi, y, 0, dy, da, 1, db, 0); break;
    case 3: add_backward_kernel(lo, hi, y, 0, dy, da, 1, db, 1); break;
    case 4: add_backward_kernel(lo, hi, y, 1, dy, da, 0, db, 0); break;
    case 5: add_backward_kernel(lo, hi, y, 1, dy, da, 0, db, 1); break;
    case 6: add_backward_kernel(lo, hi, y, 1, dy, da, 1, db, 0); break;
    default: add_backward_kernel(lo, hi, y, 1, dy, da, 1, db, 1); break;
  }
}

scan_status cpu_add_backward(int64_t count, const float *y, const float *dy, float *da, int add_a, float *db, int add_b) {
  add_a = add_a != 0, add_b = add_b != 0;
#pragma omp parallel if (count >= SCAN_PARALLEL_MIN_WORK)
  {
    const int thread = omp_get_thread_num(), team = omp_get_num_threads();
    add_backward_range(count * thread / team, count * (thread + 1) / team, y, dy, da, add_a, db, add_b);
  }
  return SCAN_OK;
}

scan_status cpu_accumulate(int64_t count, const float *src, float *dst) {
#pragma omp parallel for simd schedule(static) if (count >= SCAN_PARALLEL_MIN_WORK)
  for (int64_t i = 0; i < count; i++) dst[i] += src[i];
  return SCAN_OK;
}
