/* The convolutions' epilogue (scan_conv_epilogue, include/scan/tensor.h) on AVX2 registers of 8 channels. */
#ifndef SCAN_TENSOR_CONV_EPILOGUE_H
#define SCAN_TENSOR_CONV_EPILOGUE_H

#include <stdint.h>

#include <immintrin.h>

#include "scan/tensor.h"

typedef scan_conv_epilogue conv_epilogue;

/* One register of 8 channels of block `block`, the one at float offset `at` of y (and of the residual). */
static inline __m256 conv_epilogue_lanes(const conv_epilogue *ep, int block, __m256 v, int64_t at) {
  v = _mm256_fmadd_ps(_mm256_loadu_ps(ep->scale + block * 8), v, _mm256_loadu_ps(ep->shift + block * 8));
  if (ep->residual) v = _mm256_add_ps(v, _mm256_loadu_ps(ep->residual + at));
  return ep->relu ? _mm256_max_ps(v, _mm256_setzero_ps()) : v;
}

/* In place over `pixels` pixels of one nChw8c channel block of y, starting at float offset `at`. */
static inline void conv_epilogue_run(const conv_epilogue *ep, int block, float *y, int64_t at, int64_t pixels) {
  for (int64_t p = 0; p < pixels; p++)
    _mm256_storeu_ps(y + at + p * 8, conv_epilogue_lanes(ep, block, _mm256_loadu_ps(y + at + p * 8), at + p * 8));
}

#endif
