/* knn_int8: strip kernels of the screened self-search (layout in knn_int8.h). */
#include "knn_int8.h"

void knn_strip_portable(const uint8_t *rows, const int8_t *cols, int64_t num_cols, int dp, int32_t *out,
                        int64_t ldo) {
  for (int r = 0; r < KNN_STRIP_ROWS; r++)
    for (int64_t j = 0; j < num_cols; j++) {
      int32_t sum = 0;
      for (int t = 0; t < dp; t++) sum += (int32_t)rows[r * dp + t] * cols[knn_packed_index(j, t, dp)];
      out[r * ldo + j] = sum;
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <string.h>

_Static_assert(KNN_STRIP_ROWS == 4 && KNN_STRIP_COLS == 16 && KNN_PACK_COLS == 8 && KNN_PACK_DEPTH == 4,
               "strip_4x16 is written for this shape");

#define KNN_AVX2 __attribute__((target("avx2"), always_inline)) static inline

/* 4 codes of a row in every 32-bit lane */
KNN_AVX2 __m256i broadcast4(const uint8_t *p) {
  int32_t w;
  memcpy(&w, p, sizeof w);
  return _mm256_set1_epi32(w);
}

/* acc += per column of b: the 4 codes at a times that column's 4 codes */
KNN_AVX2 void madd4(__m256i *acc, const __m256i *a, const __m256i *b, const __m256i *ones) {
  *acc = _mm256_add_epi32(*acc, _mm256_madd_epi16(_mm256_maddubs_epi16(*a, *b), *ones));
}

/* 4 rows x 16 columns, all 16 sums in registers across the whole depth (8
 * accumulators, 2 column loads, 1 broadcast: no spills in 16 registers). */
KNN_AVX2 void strip_4x16(const uint8_t *rows, const int8_t *cols, int dp, int32_t *out, int64_t ldo) {
  const __m256i ones = _mm256_set1_epi16(1);
  const int8_t *b0 = cols, *b1 = cols + KNN_PACK_COLS * dp;
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (int t = 0; t < dp; t += KNN_PACK_DEPTH) {
    __m256i v0 = _mm256_loadu_si256((const __m256i *)(b0 + KNN_PACK_COLS * t));
    __m256i v1 = _mm256_loadu_si256((const __m256i *)(b1 + KNN_PACK_COLS * t));
    __m256i a = broadcast4(rows + t);
    madd4(&c00, &a, &v0, &ones);
    madd4(&c01, &a, &v1, &ones);
    a = broadcast4(rows + dp + t);
    madd4(&c10, &a, &v0, &ones);
    madd4(&c11, &a, &v1, &ones);
    a = broadcast4(rows + 2 * dp + t);
    madd4(&c20, &a, &v0, &ones);
    madd4(&c21, &a, &v1, &ones);
    a = broadcast4(rows + 3 * dp + t);
    madd4(&c30, &a, &v0, &ones);
    madd4(&c31, &a, &v1, &ones);
  }
  __m256i *o = (__m256i *)out;
  _mm256_storeu_si256(o, c00);
  _mm256_storeu_si256(o + 1, c01);
  _mm256_storeu_si256((__m256i *)(out + ldo), c10);
  _mm256_storeu_si256((__m256i *)(out + ldo) + 1, c11);
  _mm256_storeu_si256((__m256i *)(out + 2 * ldo), c20);
  _mm256_storeu_si256((__m256i *)(out + 2 * ldo) + 1, c21);
  _mm256_storeu_si256((__m256i *)(out + 3 * ldo), c30);
  _mm256_storeu_si256((__m256i *)(out + 3 * ldo) + 1, c31);
}

__attribute__((target("avx2"))) static void strip_avx2(const uint8_t *rows, const int8_t *cols, int64_t num_cols,
                                                       int dp, int32_t *out, int64_t ldo) {
  for (int64_t j = 0; j < num_cols; j += KNN_STRIP_COLS) strip_4x16(rows, cols + j * dp, dp, out + j, ldo);
}

const knn_strip_fn knn_strip_avx2 = strip_avx2;

knn_strip_fn knn_strip_best(void) { return __builtin_cpu_supports("avx2") ? strip_avx2 : knn_strip_portable; }
#else
const knn_strip_fn knn_strip_avx2 = 0;

knn_strip_fn knn_strip_best(void) { return knn_strip_portable; }
#endif
