/* knn_int8: strip kernels of the screened self-search (layout in knn_int8.h). */
#include "knn_int8.h"

#include "scan/cpu_isa.h"

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
               "the strip kernels are written for this shape");

/* One strip kernel per instruction set, from one body: 4 rows x 16 columns, all 16 sums in registers across the
 * whole depth (8 accumulators, 2 column loads, 1 broadcast: no spills in 16 registers). ACCUMULATE(acc, a, b) adds,
 * per 32-bit lane, the 4 u8 codes of a times the 4 s8 codes of b. */
#define KNN_STRIP_KERNEL(name, isa, ACCUMULATE)                                                                       \
  __attribute__((target(isa))) static void name(   const uint8_t *rows, const int8_t *cols, int64_t num_cols, int dp, \
                                                   int32_t *out, int64_t ldo) {                                       \
    for (int64_t j = 0; j < num_cols; j += KNN_STRIP_COLS) {                                                          \
      const int8_t *b0 = cols + j * dp, *b1 = b0 + KNN_PACK_COLS * dp;                                                \
      __m256i c[KNN_STRIP_ROWS][2];                                                                                   \
      _Pragma("GCC unroll 4") for (int r = 0; r < KNN_STRIP_ROWS; r++) c[r][0] = c[r][1] = _mm256_setzero_si256();     \
      for (int t = 0; t < dp; t += KNN_PACK_DEPTH) {                                                                  \
        __m256i v0 = _mm256_loadu_si256((const __m256i *)(b0 + KNN_PACK_COLS * t));                                  \
        __m256i v1 = _mm256_loadu_si256((const __m256i *)(b1 + KNN_PACK_COLS * t));                                  \
        _Pragma("GCC unroll 4") for (int r = 0; r < KNN_STRIP_ROWS; r++) {                                            \
          int32_t codes;                                                                                              \
          memcpy(&codes, rows + r * dp + t, sizeof codes);                                                            \
          __m256i a = _mm256_set1_epi32(codes);                                                                       \
          c[r][0] = ACCUMULATE(c[r][0], a, v0);                                                                       \
          c[r][1] = ACCUMULATE(c[r][1], a, v1);                                                                       \
        }                                                                                                             \
      }                                                                                                               \
      _Pragma("GCC unroll 4") for (int r = 0; r < KNN_STRIP_ROWS; r++) {                                              \
        _mm256_storeu_si256((__m256i *)(out + r * ldo + j), c[r][0]);                                                 \
        _mm256_storeu_si256((__m256i *)(out + r * ldo + j) + 1, c[r][1]);                                             \
      }                                                                                                               \
    }                                                                                                                 \
  }

/* AVX2: pairwise u8 * s8 sums in int16 (cannot saturate with codes in -63..63), widened to int32. */
#define MADD_AVX2(acc, a, b) \
  _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((a), (b)), _mm256_set1_epi16(1)))
KNN_STRIP_KERNEL(strip_avx2, "avx2", MADD_AVX2)
/* VNNI: vpdpbusd sums the 4 products straight into int32 (exact, no int16 step): one instruction instead of three.
 * The AVX-512 form with VL (Zen 4 and later) and the VEX form (AVX-VNNI: Zen 5, Intel) are the same operation. */
KNN_STRIP_KERNEL(strip_avx512_vnni, "avx512vnni,avx512vl", _mm256_dpbusd_epi32)
KNN_STRIP_KERNEL(strip_avx_vnni, "avxvnni", _mm256_dpbusd_avx_epi32)

const knn_strip_fn knn_strip_avx512_vnni = strip_avx512_vnni;
const knn_strip_fn knn_strip_avx_vnni = strip_avx_vnni;
const knn_strip_fn knn_strip_avx2 = strip_avx2;

knn_strip_fn knn_strip_best(void) {
  scan_cpu_features f = scan_cpu_features_get();
  return f.avx512_vnni ? strip_avx512_vnni : f.avx_vnni ? strip_avx_vnni : strip_avx2;
}
#else
const knn_strip_fn knn_strip_avx2 = 0;
const knn_strip_fn knn_strip_avx512_vnni = 0;
const knn_strip_fn knn_strip_avx_vnni = 0;

knn_strip_fn knn_strip_best(void) { return knn_strip_portable; }
#endif
