/* The AVX2 matrix kernel shared by the hand-written convolutions (conv_winograd.c, conv_gemm.c): up to 6 rows times
 * one 16-wide column panel, accumulators in registers (6 x 2 + 3 operands = 15 of the 16 AVX registers).
 *
 *   c[r][0..15] (+)= sum over k < depth of a[r][k] * b[k][0..15]        for r < rows (1..6)
 *
 * b[k] is 16 adjacent floats, b_depth apart. c[r][0..7] is at c + r * ldc and c[r][8..15] at c + r * ldc + c_half,
 * so the two halves can land in different channel blocks of an nChw8c tensor (c_half = 8 for a plain row). */
#ifndef SCAN_TENSOR_GEMM_PANEL_H
#define SCAN_TENSOR_GEMM_PANEL_H

#include <stdint.h>

enum { GEMM_PANEL_ROWS = 6, GEMM_PANEL_WIDTH = 16 };

/* a[r][k] = a[r * lda + k] (rows along the first index); overwrites c. */
void gemm_panel_rows(int rows, const float *a, int64_t lda, const float *b, int64_t b_depth, int depth, float *c, int64_t ldc,
                     int64_t c_half);
/* The same, adding into c. */
void gemm_panel_rows_add(int rows, const float *a, int64_t lda, const float *b, int64_t b_depth, int depth, float *c, int64_t ldc,
                         int64_t c_half);
/* a[r][k] = a[k * lda + r] (rows along the second index: a transposed operand); overwrites c. */
void gemm_panel_columns(int rows, const float *a, int64_t lda, const float *b, int64_t b_depth, int depth, float *c, int64_t ldc,
                        int64_t c_half);
/* The same, adding into c. */
void gemm_panel_columns_add(int rows, const float *a, int64_t lda, const float *b, int64_t b_depth, int depth, float *c,
                            int64_t ldc, int64_t c_half);

#endif
