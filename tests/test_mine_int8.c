/* The integer screen of the self-search: every strip kernel against a naive
 * reference (odd depths, extreme codes, padding that must not count), and the
 * quantised operands' layout and error bound against double-precision dots. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../src/mine/knn_int8.h"
#include "../src/mine/knn_quantize.h"
#include "scan/context.h"
#include "scan/cpu_isa.h"
#include "scan/rng.h"
#include "testlib.h"

enum { ROWS = KNN_STRIP_ROWS, COLS = 3 * KNN_STRIP_COLS };

/* Fills a strip's operands: random codes over the full ranges (row bytes 1..255,
 * i.e. q + 128 for q in -127..127; column codes -63..63), then extremes: row 0 all
 * 255, row 1 all 1, column 0 all 63, column 1 all -63, column 2 alternating, so the
 * largest pairwise int16 sums of the AVX2 kernel (+-2 * 255 * 63) occur. Row bytes
 * past d hold 255 (they must not count); column codes past d are 0 (the layout). */
static void fill_operands(int d, uint64_t seed, uint8_t *rows, int8_t *packed, int8_t *cols) {
  int dp = knn_padded_dim(d);
  scan_rng r = scan_rng_make(seed, (uint64_t)d, 0);
  for (int i = 0; i < ROWS; i++)
    for (int t = 0; t < dp; t++)
      rows[i * dp + t] = t >= d ? 255 : i == 0 ? 255 : i == 1 ? 1 : (uint8_t)(1 + scan_rng_int(&r, 255));
  for (int j = 0; j < COLS; j++)
    for (int t = 0; t < d; t++)
      cols[j * d + t] = j == 0 ? 63 : j == 1 ? -63 : j == 2 ? (t % 2 ? 63 : -63) : (int8_t)(scan_rng_int(&r, 127) - 63);
  memset(packed, 0, (size_t)COLS * dp);
  for (int j = 0; j < COLS; j++)
    for (int t = 0; t < d; t++) packed[knn_packed_index(j, t, dp)] = cols[j * d + t];
}

/* Entries of kernel's output that differ from the naive sums over t < d. */
static int strip_mismatches(knn_strip_fn kernel, int d, uint64_t seed) {
  int dp = knn_padded_dim(d);
  uint8_t *rows = malloc((size_t)ROWS * dp);
  int8_t *packed = malloc((size_t)COLS * dp), *cols = malloc((size_t)COLS * d);
  int64_t ldo = COLS + 5; /* a wider output: the kernel must honour ldo */
  int32_t *out = malloc(sizeof(int32_t) * ROWS * ldo);
  fill_operands(d, seed, rows, packed, cols);
  for (int64_t m = 0; m < ROWS * ldo; m++) out[m] = -7;
  kernel(rows, packed, COLS, dp, out, ldo);
  int mismatches = 0;
  for (int i = 0; i < ROWS; i++) {
    for (int j = 0; j < COLS; j++) {
      int64_t sum = 0;
      for (int t = 0; t < d; t++) sum += (int64_t)rows[i * dp + t] * cols[j * d + t];
      mismatches += out[i * ldo + j] != sum;
    }
    for (int64_t j = COLS; j < ldo; j++) mismatches += out[i * ldo + j] != -7;
  }
  free(rows);
  free(packed);
  free(cols);
  free(out);
  return mismatches;
}

static void test_strip_kernels(void) {
  /* depths below, at and past the packing depth and the 32-byte vector width */
  const int depths[] = {1, 3, 4, 5, 31, 32, 33, 100, 513};
  /* every kernel this CPU can run within the SCAN_ISA cap (scripts/test.sh runs the suite once uncapped, once with
     SCAN_ISA=avx2); under the cap the dispatcher must pick the AVX2 kernel, the one a Zen 3 runs */
  scan_cpu_features f = scan_cpu_features_get();
  int avx2 = knn_strip_avx2 != NULL, avx512_vnni = knn_strip_avx512_vnni != NULL && f.avx512_vnni,
      avx_vnni = knn_strip_avx_vnni != NULL && f.avx_vnni;
  const char *cap = getenv("SCAN_ISA");
  if (cap && strcmp(cap, "avx2") == 0) CHECK(knn_strip_best() == knn_strip_avx2);
  printf("strip kernels tested: portable%s%s%s\n", avx2 ? ", avx2" : "", avx512_vnni ? ", avx512-vnni" : "",
         avx_vnni ? ", avx-vnni" : "");
  for (size_t i = 0; i < sizeof depths / sizeof depths[0]; i++) {
    int d = depths[i];
    CHECK_MSG(strip_mismatches(knn_strip_portable, d, 1) == 0, "portable kernel, d = %d", d);
    if (avx2) CHECK_MSG(strip_mismatches(knn_strip_avx2, d, 2) == 0, "AVX2 kernel, d = %d", d);
    if (avx512_vnni) CHECK_MSG(strip_mismatches(knn_strip_avx512_vnni, d, 3) == 0, "AVX-512 VNNI kernel, d = %d", d);
    if (avx_vnni) CHECK_MSG(strip_mismatches(knn_strip_avx_vnni, d, 4) == 0, "AVX-VNNI kernel, d = %d", d);
  }
  /* the dispatcher picks a kernel that exists */
  CHECK(knn_strip_best() != NULL);
}

/* Rows of assorted scales: Gaussian, a zero row, rows too small for a normal
 * quantisation scale, one large entry among small ones, exact ties. */
static float *assorted_rows(int64_t n, int d, uint64_t seed) {
  float *x = malloc(sizeof(float) * n * d);
  scan_rng r = scan_rng_make(seed, 0, 0);
  for (int64_t i = 0; i < n * d; i++) x[i] = (float)scan_rng_normal(&r);
  memset(x + 3 * d, 0, sizeof(float) * d);
  for (int t = 0; t < d; t++) x[5 * d + t] *= 1e-38f;
  for (int t = 0; t < d; t++) x[6 * d + t] = t == 0 ? FLT_MIN : 0;
  x[7 * d + d / 2] = 8.0f;
  memcpy(x + 8 * d, x + 9 * d, sizeof(float) * d);
  return x;
}

/* Quantises, computes every pair's integer product strip by strip with the
 * fastest kernel, and checks the screen's bound |x_i·x_j - approx| <= row_slack[i]
 * + col_slack[j] + margin against double-precision dots; also the layout. */
static void check_quantized(int64_t n, int d) {
  float *x = assorted_rows(n, d, (uint64_t)(n * 1000 + d));
  knn_quantized q;
  CHECK(knn_quantize(x, n, d, &q) == SCAN_OK);
  int dp = q.dp;
  int64_t padded = knn_padded_rows(n);
  CHECK(dp == knn_padded_dim(d) && dp % KNN_PACK_DEPTH == 0 && padded % KNN_STRIP_COLS == 0 && padded >= n);

  /* layout: codes in range, column offsets, padding of code 0 in both operands */
  int layout_ok = 1;
  for (int64_t i = 0; i < padded; i++) {
    int32_t code_sum = 0;
    for (int t = 0; t < dp; t++) {
      int row_code = q.row_q[i * dp + t] - KNN_ROW_OFFSET, col_code = q.col_q[knn_packed_index(i, t, dp)];
      layout_ok &= abs(row_code) <= KNN_ROW_LEVELS && abs(col_code) <= KNN_COL_LEVELS;
      if (i >= n || t >= d) layout_ok &= row_code == 0 && col_code == 0;
      code_sum += col_code;
    }
    if (i < n) layout_ok &= q.col_offset[i] == KNN_ROW_OFFSET * code_sum;
  }
  CHECK_MSG(layout_ok, "quantised layout, n = %lld, d = %d", (long long)n, d);

  knn_strip_fn kernel = knn_strip_best();
  int32_t *products = malloc(sizeof(int32_t) * ROWS * padded);
  int64_t violations = 0;
  double worst_slack_use = 0;
  for (int64_t i0 = 0; i0 < n; i0 += ROWS) {
    kernel(q.row_q + i0 * dp, q.col_q, padded, dp, products, padded);
    for (int64_t i = i0; i < i0 + ROWS && i < n; i++)
      for (int64_t j = 0; j < n; j++) {
        double exact = 0;
        for (int t = 0; t < d; t++) exact += (double)x[i * d + t] * x[j * d + t];
        double approx =
            (double)(products[(i - i0) * padded + j] - q.col_offset[j]) * q.row_scale[i] * q.col_scale[j];
        double bound = (double)q.row_slack[i] + q.col_slack[j] + q.margin;
        violations += fabs(exact - approx) > bound;
        if (bound > 0) worst_slack_use = test_worse(worst_slack_use, fabs(exact - approx) / bound);
      }
  }
  CHECK_MSG(violations == 0, "%lld pairs break the screen's bound, n = %lld, d = %d", (long long)violations,
            (long long)n, d);
  /* the bound is not vacuous: the Gaussian rows' errors use a fair part of it */
  CHECK_MSG(worst_slack_use > 0.01, "largest error / bound = %g", worst_slack_use);
  free(products);
  knn_quantized_free(&q);
  free(x);
}

static void test_quantized_bound(void) {
  check_quantized(37, 13);  /* n and d off every block size */
  check_quantized(50, 64);
  check_quantized(21, 130); /* d not a multiple of 4 past one vector */
}

int main(void) {
  /* the process's context applies SCAN_ISA's cap, as the program's start does */
  CHECK(scan_context_default() != NULL);
  test_strip_kernels();
  test_quantized_bound();
  return test_main_end();
}
