/* Batch normalisation per channel over NCHW or blocked (nChw<block>c) activations. Each thread takes one channel
 * block and keeps `block` accumulators, so the inner loops run over contiguous memory in both layouts.
 *
 * Speed and precision: the per-pixel work is float, one vector register per pixel for the usual blocks (8 lanes with
 * AVX2, 16 with AVX-512: the kernels below are instantiated with the block as a compile-time constant). Sums over one
 * image's plane (at most a few thousand pixels, spread over two float accumulators) are added into double
 * accumulators, so large batches stay exact to float precision. The variance is one pass over shifted data (shift =
 * the first image's mean of the channel), which avoids the cancellation of E[x^2] - E[x]^2 when |mean| >> std.
 * The sums over the batch run in parallel over (channel block, chunk of CHUNK_IMAGES images) and the chunks' double
 * sums are added in chunk order: a layer of one channel block (16 channels with AVX-512's blocks, the default VGG's
 * 28x28 layers) still uses every core, and since the chunks depend on the batch only, results do not depend on the
 * thread count. The element-wise passes (normalise, dx) run in parallel over (image, channel block).
 * Running-statistics updates live with the net (bookkeeping, not the layer's math). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_layers.h"

enum { MAX_BLOCK = 64 };

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* kernel(block, ...) with the block a compile-time constant for the usual blocks (8: AVX2, 16: AVX-512). */
#define BY_BLOCK(kernel, block, ...)                   \
  do {                                                 \
    if ((block) == 8) kernel(8, __VA_ARGS__);          \
    else if ((block) == 16) kernel(16, __VA_ARGS__);   \
    else kernel(block, __VA_ARGS__);                   \
  } while (0)

/* kernel(block, n, blocks, cb, c, ...) for every channel block cb, one thread per block. */
#define FOR_CHANNEL_BLOCKS(kernel, n, c, block, ...)                                   \
  do {                                                                                 \
    const int blocks = scan_channel_blocks(c, block);                                  \
    _Pragma("omp parallel for schedule(static)")                                       \
    for (int cb = 0; cb < blocks; cb++)                                                \
      BY_BLOCK(kernel, block, n, blocks, cb, c, __VA_ARGS__);                          \
  } while (0)

/* Start of channel block cb of image b. */
static inline int64_t block_offset(int b, int blocks, int cb, int hw, int block) {
  return ((int64_t)b * blocks + cb) * hw * block;
}

/* The plane loops below keep two sets of per-lane accumulators, for even and odd pixels, so consecutive additions do
 * not wait for each other; as separate local arrays the compiler keeps them in registers. */

/* Per-lane sums over one plane of hw pixels, block lanes each. */
ALWAYS_INLINE void plane_sum(int block, int hw, const float *p, float *out) {
  float even[MAX_BLOCK] = {0}, odd[MAX_BLOCK] = {0};
  int64_t i = 0;
  for (; i + 1 < hw; i += 2)
#pragma omp simd
    for (int k = 0; k < block; k++) {
      even[k] += p[i * block + k];
      odd[k] += p[(i + 1) * block + k];
    }
  if (i < hw)
#pragma omp simd
    for (int k = 0; k < block; k++) even[k] += p[i * block + k];
  for (int k = 0; k < block; k++) out[k] = even[k] + odd[k];
}

/* s1 += sum (x - shift), s2 += sum (x - shift)^2 over one plane. */
ALWAYS_INLINE void plane_moments(int block, int hw, const float *p, const float *shift, double *s1, double *s2) {
  float s1_even[MAX_BLOCK] = {0}, s1_odd[MAX_BLOCK] = {0}, s2_even[MAX_BLOCK] = {0}, s2_odd[MAX_BLOCK] = {0};
  int64_t i = 0;
  for (; i + 1 < hw; i += 2)
#pragma omp simd
    for (int k = 0; k < block; k++) {
      const float d0 = p[i * block + k] - shift[k], d1 = p[(i + 1) * block + k] - shift[k];
      s1_even[k] += d0;
      s2_even[k] += d0 * d0;
      s1_odd[k] += d1;
      s2_odd[k] += d1 * d1;
    }
  if (i < hw)
#pragma omp simd
    for (int k = 0; k < block; k++) {
      const float d0 = p[i * block + k] - shift[k];
      s1_even[k] += d0;
      s2_even[k] += d0 * d0;
    }
  for (int k = 0; k < block; k++) {
    s1[k] += (double)(s1_even[k] + s1_odd[k]);
    s2[k] += (double)(s2_even[k] + s2_odd[k]);
  }
}

/* The chunks a batch's sums are split into: CHUNK_IMAGES images each (the last may hold fewer). Small enough that a
 * batch of 64 gives 2 cores 4 tasks each per channel block, large enough that the chunk sums stay few. */
enum { CHUNK_IMAGES = 8 };

/* One reduction's working memory: per-(channel block, chunk) sums, two per lane, their totals, and per-lane constants.
 * Lanes: blocks x block, the padded channels included (their constants are 0). */
typedef struct {
  int blocks, chunks, block, lanes;
  double *parts;       /* [blocks][chunks][2][block]; the start of the one allocation holding all of these */
  double *totals;      /* [2][lanes]: the two sums of every lane, the chunks' added in chunk order */
  double *invstd;      /* [lanes] */
  float *shift;        /* [lanes]: the moments' shift, or the batch mean for the gradient sums */
  float *k1, *k2, *k3; /* [lanes]: dx = k1 g + k2 x + k3 */
} bn_work;

static void bn_work_free(bn_work *w) { free(w->parts); }

/* One allocation: the doubles first (parts, totals, invstd), then the floats. */
static scan_status bn_work_make(bn_work *w, int n, int c, int block) {
  w->blocks = scan_channel_blocks(c, block);
  w->chunks = (n + CHUNK_IMAGES - 1) / CHUNK_IMAGES;
  w->block = block;
  w->lanes = w->blocks * block;
  const size_t lanes = (size_t)w->lanes, parts = (size_t)w->blocks * w->chunks * 2 * block;
  w->parts = scan_malloc((parts + 3 * lanes) * sizeof(double) + 4 * lanes * sizeof(float));
  if (!w->parts) return scan_fail(SCAN_ERR_INTERNAL, "batch-norm: out of memory for %d channels' sums", c);
  w->totals = w->parts + parts;
  w->invstd = w->totals + 2 * lanes;
  w->shift = (float *)(w->invstd + lanes);
  w->k1 = w->shift + lanes;
  w->k2 = w->k1 + lanes;
  w->k3 = w->k2 + lanes;
  return SCAN_OK;
}

static double *chunk_part(const bn_work *w, int cb, int chunk) { return w->parts + ((int64_t)cb * w->chunks + chunk) * 2 * w->block; }

/* The images of chunk `chunk`: [*first, *end). */
static void chunk_images(int n, int chunk, int *first, int *end) {
  *first = chunk * CHUNK_IMAGES;
  *end = *first + CHUNK_IMAGES < n ? *first + CHUNK_IMAGES : n;
}

static void add_chunks(bn_work *w) {
  for (int cb = 0; cb < w->blocks; cb++)
    for (int k = 0; k < w->block; k++) {
      double first = 0, second = 0;
      for (int chunk = 0; chunk < w->chunks; chunk++) {
        first += chunk_part(w, cb, chunk)[k];
        second += chunk_part(w, cb, chunk)[w->block + k];
      }
      w->totals[cb * w->block + k] = first;
      w->totals[w->lanes + cb * w->block + k] = second;
    }
}

ALWAYS_INLINE void first_image_mean(int block, int blocks, int cb, int hw, const float *x, float *shift) {
  plane_sum(block, hw, x + block_offset(0, blocks, cb, hw, block), shift);
  for (int k = 0; k < block; k++) shift[k] /= (float)hw;
}

ALWAYS_INLINE void moments_chunk(int block, int n, int blocks, int cb, int chunk, int hw, const float *x, const float *shift,
                                 double *part) {
  int first, end;
  chunk_images(n, chunk, &first, &end);
  for (int k = 0; k < 2 * block; k++) part[k] = 0;
  for (int b = first; b < end; b++) plane_moments(block, hw, x + block_offset(b, blocks, cb, hw, block), shift, part, part + block);
}

/* The moments of every lane about its shift = the first image's mean: totals[0] = sum (x - shift), totals[1] =
 * sum (x - shift)^2. */
static scan_status shifted_moments(int n, int c, int hw, int block, const float *x, bn_work *w) {
  SCAN_TRY(bn_work_make(w, n, c, block));
  const int blocks = w->blocks, chunks = w->chunks;
#pragma omp parallel for schedule(static)
  for (int cb = 0; cb < blocks; cb++) BY_BLOCK(first_image_mean, block, blocks, cb, hw, x, w->shift + cb * block);
#pragma omp parallel for collapse(2) schedule(static)
  for (int cb = 0; cb < blocks; cb++)
    for (int chunk = 0; chunk < chunks; chunk++)
      BY_BLOCK(moments_chunk, block, n, blocks, cb, chunk, hw, x, w->shift + cb * block, chunk_part(w, cb, chunk));
  add_chunks(w);
  return SCAN_OK;
}

scan_status cpu_bn_stats(int n, int c, int hw, int block, const float *x, float *mean, float *var) {
  bn_work w;
  SCAN_TRY(shifted_moments(n, c, hw, block, x, &w));
  const double count = (double)n * hw;
  for (int ch = 0; ch < c; ch++) {
    const double d = w.totals[ch] / count, v = w.totals[w.lanes + ch] / count - d * d;
    mean[ch] = (float)(w.shift[ch] + d);
    var[ch] = (float)(v > 0 ? v : 0);
  }
  bn_work_free(&w);
  return SCAN_OK;
}

/* A shard's sum x and sum x^2 from its shifted moments: sum x = m shift + s1, sum x^2 = s2 + shift (2 s1 + m shift).
 * The float plane sums saw only x - shift; the shift comes back in double (why: include/scan/tensor.h, bn_sums). */
scan_status cpu_bn_sums(int n, int c, int hw, int block, const float *x, double *sum, double *sum_sq) {
  bn_work w;
  SCAN_TRY(shifted_moments(n, c, hw, block, x, &w));
  const double count = (double)n * hw;
  for (int ch = 0; ch < c; ch++) {
    const double at = w.shift[ch], s1 = w.totals[ch], s2 = w.totals[w.lanes + ch];
    sum[ch] = count * at + s1;
    sum_sq[ch] = s2 + at * (2 * s1 + count * at);
  }
  bn_work_free(&w);
  return SCAN_OK;
}

void scan_bn_stats_from_sums(int c, double count, const double *sum, const double *sum_sq, float *mean, float *var) {
  for (int ch = 0; ch < c; ch++) {
    const double mu = sum[ch] / count, v = sum_sq[ch] / count - mu * mu;
    mean[ch] = (float)mu;
    var[ch] = (float)(v > 0 ? v : 0);
  }
}

/* y = x * scale + shift per lane, optionally max(0, y); the comparison form (not fmaxf) lets it vectorise. */
ALWAYS_INLINE void apply_plane(int block, int hw, const float *p, const float *scale, const float *shift, int relu, float *q) {
  if (relu) {
    for (int64_t i = 0; i < hw; i++)
#pragma omp simd
      for (int k = 0; k < block; k++) {
        float v = p[i * block + k] * scale[k] + shift[k];
        q[i * block + k] = v > 0 ? v : 0.0f;
      }
  } else {
    for (int64_t i = 0; i < hw; i++)
#pragma omp simd
      for (int k = 0; k < block; k++) q[i * block + k] = p[i * block + k] * scale[k] + shift[k];
  }
}

/* Batch-norm with fixed statistics as y = x * scale + shift for channel ch (0 and 0 past the c real channels, so
 * padded channels stay 0). */
static inline void fold_channel(int ch, int c, const float *mean, const float *var, double eps, const float *gamma,
                                const float *beta, float *scale, float *shift) {
  *scale = ch < c ? (float)(gamma[ch] / sqrt((double)var[ch] + eps)) : 0.0f;
  *shift = ch < c ? beta[ch] - mean[ch] * *scale : 0.0f;
}

void scan_bn_fold(int c, int padded, const float *mean, const float *var, double eps, const float *gamma, const float *beta,
                  float *scale, float *shift) {
  for (int ch = 0; ch < padded; ch++) fold_channel(ch, c, mean, var, eps, gamma, beta, &scale[ch], &shift[ch]);
}

scan_status cpu_bn_apply(int n, int c, int hw, int block, const float *x, const float *mean, const float *var, double eps,
                         const float *gamma, const float *beta, int relu, float *y) {
  const int blocks = scan_channel_blocks(c, block);
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int cb = 0; cb < blocks; cb++) {
      float scale[MAX_BLOCK], shift[MAX_BLOCK];
      for (int k = 0; k < block; k++) fold_channel(cb * block + k, c, mean, var, eps, gamma, beta, &scale[k], &shift[k]);
      const int64_t start = block_offset(b, blocks, cb, hw, block);
      BY_BLOCK(apply_plane, block, hw, x + start, scale, shift, relu, y + start);
    }
  return SCAN_OK;
}

/* The gradient reaching the batch-norm output: dy, or zero where a fused ReLU was not active. */
ALWAYS_INLINE float masked(const float *dy, const float *relu_out, int64_t at) {
  const float g = dy[at];
  return relu_out && !(relu_out[at] > 0) ? 0.0f : g;
}

/* sum_g += sum g, sum_gx += sum g (x - mu) over one plane, g the masked gradient. */
ALWAYS_INLINE void plane_grad_sums(int block, int hw, const float *x, const float *dy, const float *relu_out, const float *mu,
                                   double *sum_g, double *sum_gx) {
  float g_even[MAX_BLOCK] = {0}, g_odd[MAX_BLOCK] = {0}, gx_even[MAX_BLOCK] = {0}, gx_odd[MAX_BLOCK] = {0};
  int64_t i = 0;
  for (; i + 1 < hw; i += 2)
#pragma omp simd
    for (int k = 0; k < block; k++) {
      const int64_t at = i * block + k;
      const float g0 = masked(dy, relu_out, at), g1 = masked(dy, relu_out, at + block);
      g_even[k] += g0;
      gx_even[k] += g0 * (x[at] - mu[k]);
      g_odd[k] += g1;
      gx_odd[k] += g1 * (x[at + block] - mu[k]);
    }
  if (i < hw)
#pragma omp simd
    for (int k = 0; k < block; k++) {
      const int64_t at = i * block + k;
      const float g0 = masked(dy, relu_out, at);
      g_even[k] += g0;
      gx_even[k] += g0 * (x[at] - mu[k]);
    }
  for (int k = 0; k < block; k++) {
    sum_g[k] += (double)(g_even[k] + g_odd[k]);
    sum_gx[k] += (double)(gx_even[k] + gx_odd[k]);
  }
}

ALWAYS_INLINE void plane_dx(int block, int hw, const float *x, const float *dy, const float *relu_out, const float *k1,
                            const float *k2, const float *k3, float *dx) {
  for (int64_t i = 0; i < hw; i++)
#pragma omp simd
    for (int k = 0; k < block; k++) {
      int64_t at = i * block + k;
      dx[at] = k1[k] * masked(dy, relu_out, at) + k2[k] * x[at] + k3[k];
    }
}

/* invstd = 1 / sqrt(var + eps) and the mean of the channels of block cb (0 past the c real channels). */
ALWAYS_INLINE void channel_constants(int block, int cb, int c, const float *mean, const float *var, double eps, double *invstd,
                                     float *mu) {
  for (int k = 0; k < block; k++) {
    int ch = cb * block + k;
    invstd[k] = ch < c ? 1.0 / sqrt((double)var[ch] + eps) : 0.0;
    mu[k] = ch < c ? mean[ch] : 0.0f;
  }
}

ALWAYS_INLINE void grad_sums_chunk(int block, int n, int blocks, int cb, int chunk, int hw, const float *x, const float *dy,
                                   const float *relu_out, const float *mu, double *part) {
  int first, end;
  chunk_images(n, chunk, &first, &end);
  for (int k = 0; k < 2 * block; k++) part[k] = 0;
  for (int b = first; b < end; b++) {
    const int64_t start = block_offset(b, blocks, cb, hw, block);
    /* the two calls let the compiler drop the mask test from the loop when there is no fused ReLU */
    if (relu_out) plane_grad_sums(block, hw, x + start, dy + start, relu_out + start, mu, part, part + block);
    else plane_grad_sums(block, hw, x + start, dy + start, NULL, mu, part, part + block);
  }
}

/* Every lane's invstd and mean (w->shift), then sum g (totals[0]) and sum g (x - mean) (totals[1]), g the masked
 * gradient. */
static scan_status grad_sums(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                             const float *mean, const float *var, double eps, bn_work *w) {
  SCAN_TRY(bn_work_make(w, n, c, block));
  const int blocks = w->blocks, chunks = w->chunks;
  for (int cb = 0; cb < blocks; cb++)
    channel_constants(block, cb, c, mean, var, eps, w->invstd + cb * block, w->shift + cb * block);
#pragma omp parallel for collapse(2) schedule(static)
  for (int cb = 0; cb < blocks; cb++)
    for (int chunk = 0; chunk < chunks; chunk++)
      BY_BLOCK(grad_sums_chunk, block, n, blocks, cb, chunk, hw, x, dy, relu_out, w->shift + cb * block, chunk_part(w, cb, chunk));
  add_chunks(w);
  return SCAN_OK;
}

/* dgamma += sum g xhat = sum_gx invstd, dbeta += sum g, for the real channels of block cb. */
ALWAYS_INLINE void add_param_grads(int block, int cb, int c, const double *invstd, const double *sum_g, const double *sum_gx,
                                   float *dgamma, float *dbeta) {
  for (int k = 0; k < block && cb * block + k < c; k++) {
    dgamma[cb * block + k] += (float)(sum_gx[k] * invstd[k]);
    dbeta[cb * block + k] += (float)sum_g[k];
  }
}

/* With xhat = (x - mean) * invstd and batch statistics over `count` values, dbeta = sum g, dgamma = sum g xhat:
 *   dx = gamma * invstd / m * (m * g - dbeta - xhat * dgamma)  =  k1 * g + k2 * x + k3 per lane, from the sums in
 * w->totals and the constants of grad_sums. */
static void dx_coefficients(int c, const float *gamma, double count, bn_work *w) {
  const double *sum_g = w->totals, *sum_gx = w->totals + w->lanes;
  for (int ch = 0; ch < w->lanes; ch++) {
    const double invstd = w->invstd[ch], sum_g_xhat = sum_gx[ch] * invstd;
    const double scale = ch < c ? gamma[ch] * invstd / count : 0.0;
    w->k1[ch] = (float)(scale * count);
    w->k2[ch] = (float)(-scale * invstd * sum_g_xhat);
    w->k3[ch] = (float)(-scale * sum_g[ch] + scale * invstd * sum_g_xhat * w->shift[ch]);
  }
}

ALWAYS_INLINE void dx_plane_of(int block, int b, int blocks, int cb, int hw, const float *x, const float *dy,
                               const float *relu_out, const bn_work *w, float *dx) {
  const int64_t start = block_offset(b, blocks, cb, hw, block);
  const float *k1 = w->k1 + cb * block, *k2 = w->k2 + cb * block, *k3 = w->k3 + cb * block;
  if (relu_out) plane_dx(block, hw, x + start, dy + start, relu_out + start, k1, k2, k3, dx + start);
  else plane_dx(block, hw, x + start, dy + start, NULL, k1, k2, k3, dx + start);
}

static void dx_pass(int n, int hw, int block, const float *x, const float *dy, const float *relu_out, const bn_work *w,
                    float *dx) {
  const int blocks = w->blocks;
#pragma omp parallel for collapse(2) schedule(static)
  for (int b = 0; b < n; b++)
    for (int cb = 0; cb < blocks; cb++) BY_BLOCK(dx_plane_of, block, b, blocks, cb, hw, x, dy, relu_out, w, dx);
}

scan_status cpu_bn_backward(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                            const float *mean, const float *var, double eps, const float *gamma, float *dx, float *dgamma,
                            float *dbeta) {
  bn_work w;
  SCAN_TRY(grad_sums(n, c, hw, block, x, dy, relu_out, mean, var, eps, &w));
  for (int cb = 0; cb < w.blocks; cb++)
    add_param_grads(block, cb, c, w.invstd + cb * block, w.totals + cb * block, w.totals + w.lanes + cb * block, dgamma, dbeta);
  dx_coefficients(c, gamma, (double)n * hw, &w);
  dx_pass(n, hw, block, x, dy, relu_out, &w, dx);
  bn_work_free(&w);
  return SCAN_OK;
}

/* Synchronised batch-norm's backward in two parts (include/scan/tensor.h): this shard's sums and parameter
 * gradients, then dx from the whole batch's sums; together the work of cpu_bn_backward. */
scan_status cpu_bn_grad_sums(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                             const float *mean, const float *var, double eps, double *sum_g, double *sum_gx, float *dgamma,
                             float *dbeta) {
  bn_work w;
  SCAN_TRY(grad_sums(n, c, hw, block, x, dy, relu_out, mean, var, eps, &w));
  for (int cb = 0; cb < w.blocks; cb++)
    add_param_grads(block, cb, c, w.invstd + cb * block, w.totals + cb * block, w.totals + w.lanes + cb * block, dgamma, dbeta);
  for (int ch = 0; ch < c; ch++) {
    sum_g[ch] = w.totals[ch];
    sum_gx[ch] = w.totals[w.lanes + ch];
  }
  bn_work_free(&w);
  return SCAN_OK;
}

scan_status cpu_bn_backward_dx(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                               const float *mean, const float *var, double eps, const float *gamma, double count,
                               const double *sum_g, const double *sum_gx, float *dx) {
  bn_work w;
  SCAN_TRY(bn_work_make(&w, n, c, block));
  for (int cb = 0; cb < w.blocks; cb++)
    channel_constants(block, cb, c, mean, var, eps, w.invstd + cb * block, w.shift + cb * block);
  for (int ch = 0; ch < w.lanes; ch++) {
    w.totals[ch] = ch < c ? sum_g[ch] : 0.0;
    w.totals[w.lanes + ch] = ch < c ? sum_gx[ch] : 0.0;
  }
  dx_coefficients(c, gamma, count, &w);
  dx_pass(n, hw, block, x, dy, relu_out, &w, dx);
  bn_work_free(&w);
  return SCAN_OK;
}

ALWAYS_INLINE void plane_scale(int block, int hw, const float *dy, const float *relu_out, const float *scale, float *dx) {
  for (int64_t i = 0; i < hw; i++)
#pragma omp simd
    for (int k = 0; k < block; k++) dx[i * block + k] = masked(dy, relu_out, i * block + k) * scale[k];
}

/* Eval mode: the statistics are constants, so dx = dy * gamma * invstd, and the parameter gradients are the same
 * sums as in training. One pass. */
ALWAYS_INLINE void backward_eval_block(int block, int n, int blocks, int cb, int c, int hw, const float *x, const float *dy,
                                       const float *relu_out, const float *mean, const float *var, double eps,
                                       const float *gamma, float *dx, float *dgamma, float *dbeta) {
  double invstd[MAX_BLOCK], sum_g[MAX_BLOCK] = {0}, sum_gx[MAX_BLOCK] = {0};
  float mu[MAX_BLOCK], scale[MAX_BLOCK];
  channel_constants(block, cb, c, mean, var, eps, invstd, mu);
  for (int k = 0; k < block; k++) scale[k] = cb * block + k < c ? (float)(gamma[cb * block + k] * invstd[k]) : 0.0f;
  for (int b = 0; b < n; b++) {
    const int64_t start = block_offset(b, blocks, cb, hw, block);
    if (relu_out) {
      plane_grad_sums(block, hw, x + start, dy + start, relu_out + start, mu, sum_g, sum_gx);
      plane_scale(block, hw, dy + start, relu_out + start, scale, dx + start);
    } else {
      plane_grad_sums(block, hw, x + start, dy + start, NULL, mu, sum_g, sum_gx);
      plane_scale(block, hw, dy + start, NULL, scale, dx + start);
    }
  }
  add_param_grads(block, cb, c, invstd, sum_g, sum_gx, dgamma, dbeta);
}

scan_status cpu_bn_backward_eval(int n, int c, int hw, int block, const float *x, const float *dy, const float *relu_out,
                                 const float *mean, const float *var, double eps, const float *gamma, float *dx, float *dgamma,
                                 float *dbeta) {
  FOR_CHANNEL_BLOCKS(backward_eval_block, n, c, block, hw, x, dy, relu_out, mean, var, eps, gamma, dx, dgamma, dbeta);
  return SCAN_OK;
}
