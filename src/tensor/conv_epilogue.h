/* What a convolution may do to its outputs before storing them: y = scale[k] * y + shift[k] per output channel, then
 * optionally max(0, y). An inference batch-norm (and the ReLU after it) folded into the convolution, so the outputs
 * are written once instead of written, read and written again. */
#ifndef SCAN_TENSOR_CONV_EPILOGUE_H
#define SCAN_TENSOR_CONV_EPILOGUE_H

#include <stdint.h>

#include <immintrin.h>

/* scale and shift hold whole 8-channel blocks (zeros for padded channels, which then stay 0). */
typedef struct {
  const float *scale, *shift;
  int relu;
} conv_epilogue;

/* One register of 8 channels of block `block`. */
static inline __m256 conv_epilogue_lanes(const conv_epilogue *ep, int block, __m256 v) {
  v = _mm256_fmadd_ps(_mm256_loadu_ps(ep->scale + block * 8), v, _mm256_loadu_ps(ep->shift + block * 8));
  return ep->relu ? _mm256_max_ps(v, _mm256_setzero_ps()) : v;
}

/* In place over `pixels` pixels of one nChw8c channel block. */
static inline void conv_epilogue_run(const conv_epilogue *ep, int block, float *y, int64_t pixels) {
  for (int64_t p = 0; p < pixels; p++) _mm256_storeu_ps(y + p * 8, conv_epilogue_lanes(ep, block, _mm256_loadu_ps(y + p * 8)));
}

#endif
