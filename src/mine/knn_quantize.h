/* Integer screening for the exact self-search (internal to mine).
 *
 * Each row is quantised twice with its own scale: as an 8-bit "row operand"
 * (stored as q + 128 in uint8, q in -127..127) and a 7-bit "column operand"
 * (int8, q in -63..63). oneDNN's u8·s8 GEMM then gives about twice the rate of
 * float GEMM; with these ranges the AVX2 kernel's pairwise int16 sums cannot
 * saturate (255 * 63 * 2 < 32767).
 *
 * The integer tile is only a screen. With xr_i, xc_j the dequantised rows and
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

#include "scan/error.h"

typedef struct {
  uint8_t *row_q;      /* [n, d]: q + 128, q in -127..127 */
  int8_t *col_q;       /* [n, d]: q in -63..63 */
  float *row_scale;    /* [n]: x ≈ q * scale for the row operand */
  float *col_scale;    /* [n] */
  float *row_slack;    /* [n], rounded up */
  float *col_slack;    /* [n], rounded up */
  int32_t *col_offset; /* [n]: KNN_ROW_OFFSET * sum of column j's codes, to subtract from
                          row_q · col_q (oneDNN measured ~5% faster without its own offset) */
  float margin;        /* rounding allowance added to every bound */
} knn_quantized;

enum { KNN_ROW_LEVELS = 127, KNN_COL_LEVELS = 63, KNN_ROW_OFFSET = 128 };
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
static inline int knn_any_lane(const knn_i8 *v) {
  uint64_t w[4];
  memcpy(w, v, sizeof w);
  return (w[0] | w[1] | w[2] | w[3]) != 0;
}

static inline float knn_exact_dot(const float *a, const float *b, int d) {
  knn_v8 s[4] = {{0}}, va, vb;
  int t = 0;
  for (; t + 32 <= d; t += 32)
    for (int u = 0; u < 4; u++) s[u] += *knn_load8(&va, a + t + 8 * u) * *knn_load8(&vb, b + t + 8 * u);
  knn_v8 sum = (s[0] + s[1]) + (s[2] + s[3]);
  float lanes[8];
  memcpy(lanes, &sum, sizeof lanes);
  float total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
  for (; t < d; t++) total += a[t] * b[t];
  return total;
}

#endif
