/* What the two Winograd convolutions (conv_winograd.c for stride 1, conv_winograd_s2.c for stride 2) share: how the
 * tiles are cut into blocks, and how the transformed tiles of a block are laid out. */
#ifndef SCAN_TENSOR_WINOGRAD_BLOCKS_H
#define SCAN_TENSOR_WINOGRAD_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include <immintrin.h>

#include "conv_scratch.h"
#include "scan/error.h"
#include "scan/tensor.h"

/* Floats of padding that keep the rows and points of the transformed tiles off power-of-two distances: the transforms
 * write (and read) every point of a tile at once, and points an exact multiple of a few KB apart would all fall into
 * two cache sets; the weight gradient's kernel walks down rows, where a 2 KB row stride does the same. */
enum {
  WINOGRAD_SKEW = 16,
  WINOGRAD_MIN_TILES = 32, /* below this the transformed weights cost more than they save (batch-1 Grad-CAM, say) */
};

/* Whether a convolution has enough 4x4 output tiles (both Winograd convolutions use them) to amortise transforming
 * its weights. */
static inline int winograd_enough_tiles(const scan_conv_shape *s) {
  const int64_t tiles = (int64_t)s->n * ((s->out_h + 3) / 4) * ((s->out_w + 3) / 4);
  return tiles >= WINOGRAD_MIN_TILES;
}

/* Floats from one transformed point's rows to the next point's: `count` rows of `row_stride`, plus the skew. */
static inline int64_t winograd_points_apart(int count, int row_stride) { return (int64_t)count * row_stride + WINOGRAD_SKEW; }

/* Tiles per block of a convolution (forward or data gradient) whose transformed weights take weight_bytes: few, so the
 * block's transformed inputs and outputs stay in L2, unless the weights are too big for the last-level cache: each
 * block then streams them from memory, and more tiles per block share that cost. (Measured here, in runs that varied
 * by 15%: 24 tiles did best for 64..256 channels, 96 for 512.) */
static inline int winograd_block_tiles(double weight_bytes) { return weight_bytes > 16e6 ? 96 : 24; }

/* Blocks of tiles: a multiple of the thread count (so threads get equal shares), each at most `most` tiles. */
static inline int winograd_tiles_per_block(int64_t tiles, int threads, int most) {
  const int64_t rounds = (tiles + (int64_t)threads * most - 1) / ((int64_t)threads * most);
  const int64_t blocks = rounds * threads;
  return (int)((tiles + blocks - 1) / blocks);
}

/* The weight gradient's products for one transformed point: dU[c][k] (+)= sum over t < depth of V[t][c] * D[t][k],
 * V rows v_stride apart (c channels), D rows d_stride apart (k, whole 16-wide panels), dU rows k apart. Adds into dU
 * when accumulate, else overwrites it. Sums in t order for every (c, k). */
void winograd_point_weight_products(const float *v, int v_stride, const float *d, int d_stride, int depth, int c, int k,
                                    float *du, int accumulate);

/* A Winograd convolution's weight gradient, dw += G^T dU G with dU[point][c][k] = sum over tiles of V (x) D, given
 * the convolution's own transforms. Two ways of splitting the work between threads:
 *  - by tiles: each thread sums its share of the tiles (contiguous blocks, fixed by the team size) into its own dU,
 *    and the shares are added in thread order, so a given thread count always gives the same bits;
 *  - by points: every tile's V and D are kept for the whole batch, and each point's dU is made by one thread, in
 *    tile order (the same bits for any thread count).
 * By tiles streams every thread's dU through memory once per block of tiles and adds them up at the end; by points
 * is chosen where that would be the bigger traffic (ResNet's 512-channel layers at 4x4). */
typedef struct {
  const void *geometry; /* the convolution's own, passed to the transforms below */
  int points;           /* transformed points per tile */
  int64_t tiles;
  int c, k;             /* columns of V (input channels in whole 8-lane blocks) and of D (output channels in whole panels) */
  int in_c, out_c;      /* the layer's channels: dw is [out_c][in_c][3][3] */
  /* V[point][slot][c] for tiles first .. first + count - 1: rows row_stride floats apart, points point_stride apart */
  void (*transform_inputs)(const void *geometry, const float *x, int64_t first, int count, int row_stride, int64_t point_stride,
                           float *v);
  /* D[point][slot][k], likewise (zero in the columns past the last output channel) */
  void (*transform_gradients)(const void *geometry, const float *dy, int64_t first, int count, int row_stride, int64_t point_stride,
                              float *d);
  /* kernel = G^T u G: the points of one (c, k) pair, 8 output channels per register, back to 3x3 taps */
  void (*points_to_kernel)(const __m256 *u, __m256 kernel[3][3]);
} winograd_weights_job;

scan_status winograd_weight_gradient(conv_scratch *scratch, const winograd_weights_job *job, const float *x,
                                     const float *dy, float *dw);

#endif
