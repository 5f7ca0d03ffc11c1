/* knn_quantize: the integer operands and error bounds of the screened self-search
 * (see knn_quantize.h for why the bound holds). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

_Static_assert(KNN_ROW_OFFSET == 128, "row codes become uint8 by flipping their top bit");

typedef double knn_d4 __attribute__((vector_size(32)));
typedef float knn_f4 __attribute__((vector_size(16)));
typedef int32_t knn_i4 __attribute__((vector_size(16)));
typedef int8_t knn_c8 __attribute__((vector_size(8)));

static double lane_sum(const knn_d4 *v) { return ((*v)[0] + (*v)[1]) + ((*v)[2] + (*v)[3]); }

/* The 8 values from x + t (of d), zero-padded past d in *chunk when fewer remain.
 * Zeros change none of the sums and maxima below and get code 0, so one vector
 * loop serves every d without a scalar tail. */
static const float *values8(const float *x, int d, int t, float chunk[8]) {
  if (d - t >= 8) return x + t;
  memset(chunk, 0, sizeof(float) * 8);
  memcpy(chunk, x + t, sizeof(float) * (size_t)(d - t));
  return chunk;
}

/* Returns |x|^2 in double and sets *amax = max |x[t]|; 8 values at a time (scalar
 * loops here are chains of dependent adds and compares). */
static double norm2_and_abs_max(const float *x, int d, float *amax) {
  knn_d4 sum = {0};
  knn_i8 max_bits = {0}; /* |x| of finite floats orders like its bits as integers */
  for (int t = 0; t < d; t += 8) {
    float chunk[8];
    const float *p = values8(x, d, t, chunk);
    knn_i8 bits;
    memcpy(&bits, p, sizeof bits);
    bits &= 0x7fffffff;
    knn_i8 greater = bits > max_bits;
    max_bits = (bits & greater) | (max_bits & ~greater);
    for (int half = 0; half < 8; half += 4) {
      knn_f4 xf;
      memcpy(&xf, p + half, sizeof xf);
      knn_d4 xd = __builtin_convertvector(xf, knn_d4);
      sum += xd * xd;
    }
  }
  float lanes[8], m = 0;
  memcpy(lanes, &max_bits, sizeof lanes);
  for (int u = 0; u < 8; u++) m = lanes[u] > m ? lanes[u] : m;
  *amax = m;
  return lane_sum(&sum);
}

/* Codes of 8 values: round(x * inverse), clamped to -levels..levels. Truncation
 * of the shifted value (positive after + 0.5 + 2 * levels) is a floor, and any
 * integer is a valid code (the error is measured from the code), so the extra
 * rounding of the shift does no harm. */
static inline void codes8(const knn_v8 *x, float inverse, int levels, knn_i8 *v) {
  knn_v8 shifted = *x * inverse + (0.5f + 2.0f * (float)levels);
  *v = __builtin_convertvector(shifted, knn_i8) - 2 * levels;
  knn_i8 high = *v > levels, low = *v < -levels; /* lanes of -1 where true */
  *v = (*v & ~(high | low)) | (high & levels) | (low & -levels);
}

/* Adds the squared error and squared dequantised value of 4 lanes, in double from
 * the exact float scale (v * s and x - v * s are exact in double). */
static inline void add_errors4(const float *x, const int32_t *v, double s, knn_d4 *err2, knn_d4 *hat2) {
  knn_f4 xf;
  knn_i4 vi;
  memcpy(&xf, x, sizeof xf);
  memcpy(&vi, v, sizeof vi);
  knn_d4 hat = __builtin_convertvector(vi, knn_d4) * s, err = __builtin_convertvector(xf, knn_d4) - hat;
  *err2 += err * err;
  *hat2 += hat * hat;
}

/* Symmetric per-row quantisation to -levels..levels given amax = max |x|. Returns
 * |x - q*scale| and sets *dequantised_norm = |q*scale|. 8 values at a time in
 * vector types: this runs over every value twice. */
static double quantize_row(const float *x, int d, float amax, int levels, int8_t *q, float *scale,
                           double *dequantised_norm) {
  float s = amax / (float)levels, inverse = 1.0f / s;
  if (!(s >= FLT_MIN)) { /* rows too small for a normal scale (zeros, subnormals): 1 / s
                            would overflow, so every code is 0 and the whole value is error */
    s = 1.0f;
    inverse = 0.0f;
  }
  knn_d4 err2 = {0}, hat2 = {0};
  for (int t = 0; t < d; t += 8) {
    float chunk[8];
    const float *p = values8(x, d, t, chunk);
    knn_v8 xv;
    knn_i8 v;
    codes8(knn_load8(&xv, p), inverse, levels, &v);
    knn_c8 bytes = __builtin_convertvector(v, knn_c8);
    memcpy(q + t, &bytes, (size_t)(d - t < 8 ? d - t : 8));
    int32_t lanes[8];
    memcpy(lanes, &v, sizeof lanes);
    add_errors4(p, lanes, s, &err2, &hat2);
    add_errors4(p + 4, lanes + 4, s, &err2, &hat2);
  }
  *scale = s;
  *dequantised_norm = sqrt(lane_sum(&hat2));
  return sqrt(lane_sum(&err2));
}

static float round_up(double v) {
  float f = (float)(v * (1 + 1e-9));
  return f < v ? nextafterf(f, INFINITY) : f;
}

scan_status knn_quantize(const float *x, int64_t n, int d, knn_quantized *q) {
  *q = (knn_quantized){.dp = knn_padded_dim(d)};
  size_t codes = (size_t)knn_padded_rows(n) * q->dp;
  q->row_q = scan_malloc(codes);
  q->col_q = scan_calloc(codes, 1);
  q->row_scale = scan_malloc(sizeof(float) * (size_t)n);
  q->col_scale = scan_malloc(sizeof(float) * (size_t)n);
  q->row_slack = scan_malloc(sizeof(float) * (size_t)n);
  q->col_slack = scan_malloc(sizeof(float) * (size_t)n);
  q->col_offset = scan_malloc(sizeof(int32_t) * (size_t)n);
  double *row_err = scan_malloc(sizeof(double) * (size_t)n), *col_err = scan_malloc(sizeof(double) * (size_t)n);
  if (!q->row_q || !q->col_q || !q->row_scale || !q->col_scale || !q->row_slack || !q->col_slack || !q->col_offset ||
      !row_err || !col_err) {
    knn_quantized_free(q);
    free(row_err);
    free(col_err);
    return scan_fail(SCAN_ERR_INTERNAL, "knn: out of memory for quantised features (%lld x %d)", (long long)n, d);
  }
  const int dp = q->dp;
  /* padding: code 0 in both operands (col_q is already zeroed) */
  memset(q->row_q + (size_t)n * dp, KNN_ROW_OFFSET, codes - (size_t)n * dp);
  double max_norm = 0, max_row_hat = 0, max_col_hat = 0;
#pragma omp parallel for schedule(static) reduction(max : max_norm, max_row_hat, max_col_hat)
  for (int64_t i = 0; i < n; i++) {
    const float *xi = x + i * d;
    double row_hat, col_hat;
    float amax;
    max_norm = fmax(max_norm, sqrt(norm2_and_abs_max(xi, d, &amax)));
    /* row i of row_q serves first as scratch for the int8 column codes (zero-padded
       to dp), which go to their packed places 4 at a time, then holds the row codes,
       shifted to uint8 in place */
    int8_t *scratch = (int8_t *)(q->row_q + i * dp);
    memset(scratch + d, 0, (size_t)(dp - d));
    col_err[i] = quantize_row(xi, d, amax, KNN_COL_LEVELS, scratch, &q->col_scale[i], &col_hat);
    int32_t code_sum = 0;
    for (int t = 0; t < dp; t += KNN_PACK_DEPTH) {
      memcpy(q->col_q + knn_packed_index(i, t, dp), scratch + t, KNN_PACK_DEPTH);
      for (int u = 0; u < KNN_PACK_DEPTH; u++) code_sum += scratch[t + u];
    }
    q->col_offset[i] = KNN_ROW_OFFSET * code_sum;
    row_err[i] = quantize_row(xi, d, amax, KNN_ROW_LEVELS, scratch, &q->row_scale[i], &row_hat);
    for (int t = 0; t < dp; t += 4) { /* + 128 on an int8 code flips its top bit */
      uint32_t word;
      memcpy(&word, scratch + t, sizeof word);
      word ^= 0x80808080u;
      memcpy(scratch + t, &word, sizeof word);
    }
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
