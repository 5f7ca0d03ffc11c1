/* The weight gradient's matrix products, shared by both Winograd convolutions (winograd_blocks.h). */
#include "winograd_blocks.h"

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

int winograd_weights_by_points(int threads, int64_t tiles, int c, int k) {
  return (double)threads * c * k >= (double)tiles * (c + k);
}
