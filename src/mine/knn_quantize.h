/* Integer screening for the exact self-search (internal to mine).
 *
 * Each row is quantised twice with its own scale: as an 8-bit "row operand"
 * (stored as q + 128 in uint8, q in -127..127) and a 7-bit "column operand"
 * (int8, q in -63..63), laid out for the strip kernels of knn_int8.h, which
 * run at about twice the rate of float GEMM; with these ranges the AVX2
 * kernel's pairwise int16 sums cannot saturate (255 * 63 * 2 < 32767).
 *
 * The integer products are only a screen. With xr_i, xc_j the dequantised rows and
 * er_i = x_i - xr_i, ec_j = x_j - xc_j,
 *   x_i·x_j - xr_i·xc_j = xr_i·ec_j + er_i·x_j,
 * so |x_i·x_j - approx_ij| <= row_slack[i] + col_slack[j] with
 *   row_slack[i] = |er_i| * max_j |x_j|,  col_slack[j] = max_i |xr_i| * |ec_j|,
 * plus `margin` for float rounding (of the approximation and of the exact dot).
 * A pair whose upper bound is below a heap's k-th best is provably worse than
 * every kept candidate, so screening never changes the result; survivors get
 * their exact similarity from knn_exact_dot. */
#ifndef SCAN_MINE_KNN_QUANTIZE_H
#define SCAN_MINE_KNN_QUANTIZE_H

#include <stdint.h>
#include <string.h>
#ifdef __AVX__
#include <immintrin.h>
#endif

#include "knn_int8.h"
#include "scan/error.h"

typedef struct {
  int dp;              /* depth: d rounded up to KNN_PACK_DEPTH */
  uint8_t *row_q;      /* [padded_n, dp] row-major: q + 128, q in -127..127; 128 (q = 0) past row n or column d */
  int8_t *col_q;       /* [padded_n, dp] in knn_packed_index order: q in -63..63; 0 past row n or column d */
  float *row_scale;    /* [n]: x ≈ q * scale for the row operand */
  float *col_scale;    /* [n] */
  float *row_slack;    /* [n], rounded up */
  float *col_slack;    /* [n], rounded up */
  int32_t *col_offset; /* [n]: KNN_ROW_OFFSET * sum of column j's codes, to subtract from row_q · col_q */
  float margin;        /* rounding allowance added to every bound */
} knn_quantized;

enum { KNN_ROW_LEVELS = 127, KNN_COL_LEVELS = 63, KNN_ROW_OFFSET = 128 };
/* Rows of row_q and col_q: n rounded up to a whole strip, so the kernels never need a
 * partial one (padded rows and columns give products that nobody reads). */
static inline int64_t knn_padded_rows(int64_t n) { return (n + KNN_STRIP_COLS - 1) / KNN_STRIP_COLS * KNN_STRIP_COLS; }
_Static_assert(KNN_STRIP_COLS % KNN_STRIP_ROWS == 0 && KNN_STRIP_COLS % KNN_PACK_COLS == 0,
               "a padded row count holds whole row strips and whole packed column groups");
/* Largest d whose integer products stay within int32: 2^31 / (255 * 63) > 130000. */
enum { KNN_MAX_DIM = 130000 };

scan_status knn_quantize(const float *x, int64_t n, int d, knn_quantized *q);
void knn_quantized_free(knn_quantized *q);

/* Float dot product in a fixed order (four 8-lane partial sums, then a fixed
 * tree), so a pair's similarity never depends on which thread or tile computed it.
 * Its rounding error is below d * FLT_EPSILON * |a| * |b|, which `margin` covers.
 * Vector types keep the partial sums in registers (a float array does not). */
typedef float knn_v8 __attribute__((vector_size(32)));
typedef int32_t knn_i8 __attribute__((vector_size(32)));
/* Vectors travel through memory and pointers only: passing them by value would
 * change the ABI in builds without AVX (a -Wpsabi error). */
static inline knn_v8 *knn_load8(knn_v8 *v, const float *p) {
  memcpy(v, p, sizeof *v);
  return v;
}
/* Bit t set where lane t of a comparison result is true (-1): one instruction with
 * AVX, a loop over the lanes without. */
static inline uint32_t knn_lane_bits(const knn_i8 *v) {
#ifdef __AVX__
  __m256 m;
  memcpy(&m, v, sizeof m);
  return (uint32_t)_mm256_movemask_ps(m);
#else
  int32_t lanes[8];
  memcpy(lanes, v, sizeof lanes);
  uint32_t bits = 0;
  for (int t = 0; t < 8; t++) bits |= (uint32_t)(lanes[t] != 0) << t;
  return bits;
#endif
}

static inline float knn_exact_dot(const float *a, const float *b, int d) {
  /* four named sums, not an array: at -O2 GCC keeps an indexed array in memory */
  knn_v8 s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0}, va, vb;
  int t = 0;
  for (; t + 32 <= d; t += 32) {
    s0 += *knn_load8(&va, a + t) * *knn_load8(&vb, b + t);
    s1 += *knn_load8(&va, a + t + 8) * *knn_load8(&vb, b + t + 8);
    s2 += *knn_load8(&va, a + t + 16) * *knn_load8(&vb, b + t + 16);
    s3 += *knn_load8(&va, a + t + 24) * *knn_load8(&vb, b + t + 24);
  }
  knn_v8 sum = (s0 + s1) + (s2 + s3);
  float lanes[8];
  memcpy(lanes, &sum, sizeof lanes);
  float total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
  for (; t < d; t++) total += a[t] * b[t];
  return total;
}

#endif
