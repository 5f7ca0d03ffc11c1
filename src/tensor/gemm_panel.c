/* The 6 x 16 AVX2 matrix kernel (gemm_panel.h). Per step of k: two loads of b, one broadcast of a per row and two
 * FMAs per row: 12 FMAs to 8 loads, so the FMA units, not the loads, set the pace. */
#include "gemm_panel.h"

#ifndef __AVX2__
#error "the matrix kernel needs AVX2 (CMakeLists.txt builds with -march=x86-64-v3)"
#endif
#include <immintrin.h>

/* rows is a constant at every call site below, so the loops unroll and acc stays in registers. */
static inline __attribute__((always_inline)) void panel(const int rows, const float *a, int64_t a_row, int64_t a_depth,
                                                        const float *b, int64_t b_depth, int depth, float *c, int64_t ldc,
                                                        int64_t c_half, int accumulate) {
  __m256 acc[GEMM_PANEL_ROWS][2];
#pragma GCC unroll 6
  for (int r = 0; r < rows; r++) {
    acc[r][0] = accumulate ? _mm256_loadu_ps(c + r * ldc) : _mm256_setzero_ps();
    acc[r][1] = accumulate ? _mm256_loadu_ps(c + r * ldc + c_half) : _mm256_setzero_ps();
  }
  for (int k = 0; k < depth; k++) {
    const __m256 b0 = _mm256_loadu_ps(b + k * b_depth), b1 = _mm256_loadu_ps(b + k * b_depth + 8);
#pragma GCC unroll 6
    for (int r = 0; r < rows; r++) {
      const __m256 av = _mm256_broadcast_ss(a + r * a_row + k * a_depth);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < rows; r++) {
    _mm256_storeu_ps(c + r * ldc, acc[r][0]);
    _mm256_storeu_ps(c + r * ldc + c_half, acc[r][1]);
  }
}

/* rows as a constant for panel(): one unrolled instance per row count. */
#define DISPATCH_ROWS(a_row, a_depth, accumulate)                                                  \
  switch (rows) {                                                                                  \
    case 6: panel(6, a, a_row, a_depth, b, b_depth, depth, c, ldc, c_half, accumulate); break;     \
    case 5: panel(5, a, a_row, a_depth, b, b_depth, depth, c, ldc, c_half, accumulate); break;     \
    case 4: panel(4, a, a_row, a_depth, b, b_depth, depth, c, ldc, c_half, accumulate); break;     \
    case 3: panel(3, a, a_row, a_depth, b, b_depth, depth, c, ldc, c_half, accumulate); break;     \
    case 2: panel(2, a, a_row, a_depth, b, b_depth, depth, c, ldc, c_half, accumulate); break;     \
    default: panel(1, a, a_row, a_depth, b, b_depth, depth, c, ldc, c_half, accumulate); break;    \
  }

void gemm_panel_rows(int rows, const float *a, int64_t lda, const float *b, int64_t b_depth, int depth, float *c, int64_t ldc,
                     int64_t c_half) {
  DISPATCH_ROWS(lda, 1, 0)
}

void gemm_panel_rows_add(int rows, const float *a, int64_t lda, const float *b, int64_t b_depth, int depth, float *c, int64_t ldc,
                         int64_t c_half) {
  DISPATCH_ROWS(lda, 1, 1)
}

void gemm_panel_columns(int rows, const float *a, int64_t lda, const float *b, int64_t b_depth, int depth, float *c, int64_t ldc,
                        int64_t c_half) {
  DISPATCH_ROWS(1, lda, 0)
}

void gemm_panel_columns_add(int rows, const float *a, int64_t lda, const float *b, int64_t b_depth, int depth, float *c,
                            int64_t ldc, int64_t c_half) {
  DISPATCH_ROWS(1, lda, 1)
}
