/* Integer products for the screened self-search (internal to mine).
 *
 * A "strip" is KNN_STRIP_ROWS row operands times a run of column operands:
 *   out[r * ldo + j] = sum_t rows[r * dp + t] * code(column j, t)
 * with rows in uint8 (row-major, stride dp) and columns in int8, packed so that
 * one 32-byte load gives 4 consecutive codes of KNN_PACK_COLS columns:
 *   packed[(j / 8) * 8 * dp + (t / 4) * 32 + (j % 8) * 4 + t % 4] = code(j, t).
 * The AVX2 kernel broadcasts 4 bytes of a row against that load with
 * _mm256_maddubs_epi16 (pairwise u8 * s8 sums in int16) and widens to int32
 * with _mm256_madd_epi16. Its int16 sums cannot saturate as long as
 * 2 * 255 * 63 < 32767, i.e. column codes stay in -63..63 (knn_quantize.h). With VNNI, vpdpbusd does the
 * same products and sums straight into int32.
 *
 * The depth dp is d rounded up to KNN_PACK_DEPTH; padded column codes must be 0
 * so that padded row bytes (whatever they hold) add nothing. Computing the
 * strip in registers and screening it straight away (knn_self.c) replaces a
 * GEMM whose int32 tile (1 MiB at 512 x 512) did not fit in L2. */
#ifndef SCAN_MINE_KNN_INT8_H
#define SCAN_MINE_KNN_INT8_H

#include <stdint.h>

enum { KNN_STRIP_ROWS = 4, KNN_STRIP_COLS = 16, KNN_PACK_COLS = 8, KNN_PACK_DEPTH = 4 };

static inline int knn_padded_dim(int d) { return (d + KNN_PACK_DEPTH - 1) / KNN_PACK_DEPTH * KNN_PACK_DEPTH; }

/* Position of code t of column j in the packed column operand of depth dp. */
static inline int64_t knn_packed_index(int64_t j, int t, int dp) {
  return (j / KNN_PACK_COLS) * KNN_PACK_COLS * dp + (int64_t)(t / KNN_PACK_DEPTH) * KNN_PACK_COLS * KNN_PACK_DEPTH +
         (j % KNN_PACK_COLS) * KNN_PACK_DEPTH + t % KNN_PACK_DEPTH;
}

/* Computes one strip. rows: KNN_STRIP_ROWS readable rows; cols: the packed
 * operand at its column 0 (a multiple of KNN_PACK_COLS); num_cols: a multiple of
 * KNN_STRIP_COLS; out: KNN_STRIP_ROWS rows of ldo >= num_cols int32. */
typedef void (*knn_strip_fn)(const uint8_t *rows, const int8_t *cols, int64_t num_cols, int dp, int32_t *out,
                             int64_t ldo);

void knn_strip_portable(const uint8_t *rows, const int8_t *cols, int64_t num_cols, int dp, int32_t *out,
                        int64_t ldo);
/* Only on CPUs with the instruction set (see knn_strip_best); NULL where the compiler cannot build them. */
extern const knn_strip_fn knn_strip_avx2;
extern const knn_strip_fn knn_strip_avx512_vnni; /* AVX-512 VNNI + VL */
extern const knn_strip_fn knn_strip_avx_vnni;    /* AVX-VNNI */
/* The fastest kernel this CPU runs within the SCAN_ISA cap (scan/cpu_isa.h); all kernels give identical (exact)
 * results. */
knn_strip_fn knn_strip_best(void);

#endif
