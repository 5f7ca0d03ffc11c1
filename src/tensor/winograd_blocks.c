/* The weight gradient's matrix products, shared by both Winograd convolutions (winograd_blocks.h). */
#include "winograd_blocks.h"

#include <omp.h>
#include <string.h>

#include "conv_scratch.h"
#include "gemm_panel.h"

enum {
  LANES = 8,
  /* channels per pass over D: their columns of V (depth x 96 floats) stay in L2 while every 16-wide panel of D goes by */
  CHANNEL_BLOCK = 16 * GEMM_PANEL_ROWS,
};

void winograd_point_weight_products(const float *v, int v_stride, const float *d, int d_stride, int depth, int c, int k,
                                    float *du, int accumulate) {
  for (int c0 = 0; c0 < c; c0 += CHANNEL_BLOCK) {
    const int c_end = c - c0 < CHANNEL_BLOCK ? c : c0 + CHANNEL_BLOCK;
    for (int p = 0; p < k; p += GEMM_PANEL_WIDTH)
      for (int ch = c0; ch < c_end; ch += GEMM_PANEL_ROWS) {
        const int rows = c_end - ch < GEMM_PANEL_ROWS ? c_end - ch : GEMM_PANEL_ROWS;
        float *out = du + (int64_t)ch * k + p;
        if (accumulate) gemm_panel_columns_add(rows, v + ch, v_stride, d + p, d_stride, depth, out, k, LANES);
        else gemm_panel_columns(rows, v + ch, v_stride, d + p, d_stride, depth, out, k, LANES);
      }
  }
}

enum { WEIGHT_BLOCK_TILES = 48, MAX_POINTS = 81 };

/* dw[k][c] += G^T dU[.][c][k] G for every (c, k), dU the sum of `copies` partial sums (copy_floats apart, added in
 * copy order), points du_point apart. Shares its loop between the threads of the enclosing parallel region. */
static void add_weight_gradient(const winograd_weights_job *job, const float *du, int copies, size_t copy_floats, int64_t du_point,
                                float *dw) {
  const int out_blocks = (job->out_c + LANES - 1) / LANES;
#pragma omp for schedule(static)
  for (int64_t pair = 0; pair < (int64_t)job->in_c * out_blocks; pair++) {
    /* k fastest: each point's sums are read in order, and dw's rows of the last few c stay in cache */
    const int k0 = (int)(pair % out_blocks) * LANES, c = (int)(pair / out_blocks);
    __m256 total[MAX_POINTS], kernel[3][3];
    for (int pt = 0; pt < job->points; pt++) {
      const size_t at = (size_t)(pt * du_point + (int64_t)c * job->k + k0);
      __m256 sum = _mm256_loadu_ps(du + at);
      for (int t = 1; t < copies; t++) sum = _mm256_add_ps(sum, _mm256_loadu_ps(du + copy_floats * t + at));
      total[pt] = sum;
    }
    job->points_to_kernel(total, kernel);
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++) {
        float lanes[LANES];
        _mm256_storeu_ps(lanes, kernel[a][b]);
        for (int l = 0; l < LANES && k0 + l < job->out_c; l++) dw[((int64_t)(k0 + l) * job->in_c + c) * 9 + a * 3 + b] += lanes[l];
      }
  }
}

static scan_status weights_by_points(conv_scratch *scratch, const winograd_weights_job *job, const float *x,
                                     const float *dy, float *dw) {
  const int v_stride = job->c + WINOGRAD_SKEW, d_stride = job->k + WINOGRAD_SKEW, tiles = (int)job->tiles;
  const int64_t v_point = winograd_points_apart(tiles, v_stride), d_point = winograd_points_apart(tiles, d_stride);
  const int64_t du_point = winograd_points_apart(job->c, job->k);
  const int64_t blocks = (job->tiles + WEIGHT_BLOCK_TILES - 1) / WEIGHT_BLOCK_TILES;
  const size_t floats = (size_t)job->points * (v_point + d_point + du_point);
  float *v = conv_scratch_reserve(scratch, floats);
  if (!v) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for Winograd buffers (%zu floats)", floats);
  float *d = v + job->points * v_point, *du = d + job->points * d_point;
#pragma omp parallel
  {
#pragma omp for schedule(dynamic)
    for (int64_t block = 0; block < blocks; block++) {
      const int64_t first = block * WEIGHT_BLOCK_TILES;
      const int count = (int)(first + WEIGHT_BLOCK_TILES <= job->tiles ? WEIGHT_BLOCK_TILES : job->tiles - first);
      job->transform_inputs(job->geometry, x, first, count, v_stride, v_point, v + first * v_stride);
      job->transform_gradients(job->geometry, dy, first, count, d_stride, d_point, d + first * d_stride);
    }
#pragma omp for schedule(dynamic)
    for (int pt = 0; pt < job->points; pt++)
      winograd_point_weight_products(v + pt * v_point, v_stride, d + pt * d_point, d_stride, tiles, job->c, job->k, du + pt * du_point, 0);
    add_weight_gradient(job, du, 1, 0, du_point, dw);
  }
  return SCAN_OK;
}

static scan_status weights_by_tiles(conv_scratch *scratch, const winograd_weights_job *job, const float *x,
                                    const float *dy, float *dw) {
  const int threads = omp_get_max_threads();
  const int per_block = winograd_tiles_per_block(job->tiles, threads, WEIGHT_BLOCK_TILES);
  const int64_t blocks = (job->tiles + per_block - 1) / per_block;
  const int64_t du_point = winograd_points_apart(job->c, job->k);
  const size_t du_floats = (size_t)job->points * du_point;
  const int v_stride = job->c + WINOGRAD_SKEW, d_stride = job->k + WINOGRAD_SKEW;
  const size_t block_floats =
      (size_t)job->points * (winograd_points_apart(per_block, v_stride) + winograd_points_apart(per_block, d_stride));
  const size_t per_thread = du_floats + block_floats;
  float *buffer = conv_scratch_reserve(scratch, per_thread * threads);
  if (!buffer) return scan_fail(SCAN_ERR_INTERNAL, "out of memory for Winograd buffers (%zu floats)", per_thread * threads);
#pragma omp parallel num_threads(threads)
  {
    const int thread = omp_get_thread_num(), team = omp_get_num_threads();
    float *du = buffer + per_thread * thread, *v = du + du_floats;
    float *d = v + (size_t)job->points * winograd_points_apart(per_block, v_stride);
    memset(du, 0, du_floats * sizeof *du);
    for (int64_t block = blocks * thread / team; block < blocks * (thread + 1) / team; block++) {
      const int64_t first = block * per_block;
      const int count = (int)(first + per_block <= job->tiles ? per_block : job->tiles - first);
      const int64_t v_point = winograd_points_apart(count, v_stride), d_point = winograd_points_apart(count, d_stride);
      job->transform_inputs(job->geometry, x, first, count, v_stride, v_point, v);
      job->transform_gradients(job->geometry, dy, first, count, d_stride, d_point, d);
      for (int pt = 0; pt < job->points; pt++)
        winograd_point_weight_products(v + pt * v_point, v_stride, d + pt * d_point, d_stride, count, job->c, job->k, du + pt * du_point, 1);
    }
#pragma omp barrier
    add_weight_gradient(job, buffer, team, per_thread, du_point, dw);
  }
  return SCAN_OK;
}

scan_status winograd_weight_gradient(conv_scratch *scratch, const winograd_weights_job *job, const float *x,
                                     const float *dy, float *dw) {
  const int threads = omp_get_max_threads();
  const int by_points = (double)threads * job->c * job->k >= (double)job->tiles * (job->c + job->k);
  return by_points ? weights_by_points(scratch, job, x, dy, dw) : weights_by_tiles(scratch, job, x, dy, dw);
}
