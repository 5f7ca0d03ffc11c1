/* knn_quantize: the integer operands and error bounds of the screened self-search
 * (see knn_quantize.h for why the bound holds). */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "knn_quantize.h"

void knn_quantized_free(knn_quantized *q) {
  free(q->row_q);
  free(q->col_q);
  free(q->row_scale);
  free(q->col_scale);
  free(q->row_slack);
  free(q->col_slack);
  free(q->col_offset);
  *q = (knn_quantized){0};
}

/* Symmetric per-row quantisation to -levels..levels. Returns |x - q*scale| and
 * sets *dequantised_norm = |q*scale|, both in double from the exact float scale. */
static double quantize_row(const float *x, int d, int levels, int8_t *q, float *scale,
                           double *dequantised_norm) {
  float amax = 0;
  for (int t = 0; t < d; t++) amax = fabsf(x[t]) > amax ? fabsf(x[t]) : amax;
  /* rows of zeros or subnormals get code 0 (their whole value is error): no overflowing 1/s */
  float s = amax >= FLT_MIN ? amax / (float)levels : 1.0f, inverse = 1.0f / s;
  double err2 = 0, hat2 = 0;
  for (int t = 0; t < d; t++) {
    /* any integer is a valid code (the error is measured below); floorf vectorises, lrintf does not */
    int v = (int)floorf(x[t] * inverse + 0.5f);
    v = v > levels ? levels : v < -levels ? -levels : v;
    q[t] = (int8_t)v;
    double hat = (double)v * s, err = (double)x[t] - hat;
    err2 += err * err;
    hat2 += hat * hat;
  }
  *scale = s;
  *dequantised_norm = sqrt(hat2);
  return sqrt(err2);
}

static float round_up(double v) {
  float f = (float)(v * (1 + 1e-9));
  return f < v ? nextafterf(f, INFINITY) : f;
}

scan_status knn_quantize(const float *x, int64_t n, int d, knn_quantized *q) {
  *q = (knn_quantized){0};
  q->row_q = malloc((size_t)n * d);
  q->col_q = malloc((size_t)n * d);
  q->row_scale = malloc(sizeof(float) * (size_t)n);
  q->col_scale = malloc(sizeof(float) * (size_t)n);
  q->row_slack = malloc(sizeof(float) * (size_t)n);
  q->col_slack = malloc(sizeof(float) * (size_t)n);
  q->col_offset = malloc(sizeof(int32_t) * (size_t)n);
  double *row_err = malloc(sizeof(double) * (size_t)n), *col_err = malloc(sizeof(double) * (size_t)n);
  if (!q->row_q || !q->col_q || !q->row_scale || !q->col_scale || !q->row_slack || !q->col_slack || !q->col_offset ||
      !row_err || !col_err) {
    knn_quantized_free(q);
    free(row_err);
    free(col_err);
    return scan_fail(SCAN_ERR_INTERNAL, "knn: out of memory for quantised features (%lld x %d)", (long long)n, d);
  }
  double max_norm = 0, max_row_hat = 0, max_col_hat = 0;
#pragma omp parallel for schedule(static) reduction(max : max_norm, max_row_hat, max_col_hat)
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * d;
    double norm2 = 0, row_hat, col_hat;
    for (int t = 0; t < d; t++) norm2 += (double)xi[t] * xi[t];
    max_norm = fmax(max_norm, sqrt(norm2));
    /* the row operand is written as int8 first, then shifted to uint8 in place */
    int8_t *row = (int8_t *)(q->row_q + i * d);
    row_err[i] = quantize_row(xi, d, KNN_ROW_LEVELS, row, &q->row_scale[i], &row_hat);
    for (int t = 0; t < d; t++) q->row_q[i * d + t] = (uint8_t)(row[t] + KNN_ROW_OFFSET);
    col_err[i] = quantize_row(xi, d, KNN_COL_LEVELS, q->col_q + i * d, &q->col_scale[i], &col_hat);
    int32_t code_sum = 0;
    for (int t = 0; t < d; t++) code_sum += q->col_q[i * d + t];
    q->col_offset[i] = KNN_ROW_OFFSET * code_sum;
    max_row_hat = fmax(max_row_hat, row_hat);
    max_col_hat = fmax(max_col_hat, col_hat);
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    q->row_slack[i] = round_up(row_err[i] * max_norm);
    q->col_slack[i] = round_up(max_row_hat * col_err[i]);
  }
  /* Rounding: the exact dot (< d * eps * |a||b|), the approximation's int->float
   * conversion and two scale products, and the bound's own sums; 4d + 32 units of
   * eps on the largest norm squared covers them with room to spare. */
  double largest = fmax(max_norm, fmax(max_row_hat, max_col_hat));
  q->margin = round_up((4.0 * d + 32) * FLT_EPSILON * largest * largest + FLT_MIN);
  free(row_err);
  free(col_err);
  return SCAN_OK;
}
