/* scan_knn_self: exact top-k of a set against itself, exploiting the symmetry of
 * X·X^T. Rows are cut into fixed blocks of SELF_BLOCK; every unordered block pair
 * (I, J) is one task: one tile of X_I·X_J^T feeds row i's heap with candidate j
 * and row j's heap with candidate i (so sim(i, j) is one number used both ways).
 *
 * Off-diagonal tiles are an integer GEMM of quantised rows (knn_quantize.h), about
 * twice as fast as float GEMM, giving an upper bound on each similarity. Only pairs
 * whose bound reaches one of the two heaps' current k-th best get their exact
 * similarity (knn_exact_dot, a fixed-order float dot product) and are offered; on
 * random unit vectors that is 0.4% (d = 128) to 2.6% (d = 512) of the pairs.
 * Diagonal tiles come first, while the heaps are still empty and nearly every pair
 * would pass, so they are float GEMMs fed directly.
 *
 * Rejection is conservative (only provably worse candidates) and the kept set
 * depends only on the similarity values, each computed once by code that does not
 * depend on the thread count, so results are identical for any schedule.
 *
 * Two tasks touching the same block must not update its heaps at once, so each
 * block has a lock (taken in increasing block order, which cannot deadlock), and
 * tasks are ordered as a round-robin tournament: within a round no block occurs
 * twice, so threads working on neighbouring tasks rarely wait for each other. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "knn_quantize.h"
#include "scan/knn.h"
#include "topk.h"

/* Fixed: the diagonal tiles' float GEMM values depend on the block shape. 512 x 512
 * (1 MiB tile) measured as fast as 256 or 1024. */
enum { SELF_BLOCK = 512 };

typedef struct {
  const float *x;
  int d;
  const knn_quantized *q;
  float *sims;       /* row r's heap similarities start at sims + r * sims_stride */
  int64_t sims_stride;
  int64_t *indices;  /* row r's heap indices start at indices + r * (k + 1) + 1 */
  int k;
} self_search;

static inline float *heap_sims_of(const self_search *h, int64_t row) { return h->sims + row * h->sims_stride; }
static inline int64_t *heap_indices_of(const self_search *h, int64_t row) {
  return h->indices + row * (h->k + 1) + 1;
}

/* Offers the pair (row, col) with similarity s to both heaps. */
static inline void offer_pair(const self_search *h, int64_t row, int64_t col, float s, float *row_threshold,
                              float *col_threshold) {
  float *row_sims = heap_sims_of(h, row), *col_sims = heap_sims_of(h, col);
  if (s >= *row_threshold && topk_offer(row_sims, heap_indices_of(h, row), h->k, s, col))
    *row_threshold = row_sims[0];
  if (s >= *col_threshold && topk_offer(col_sims, heap_indices_of(h, col), h->k, s, row))
    *col_threshold = col_sims[0];
}

/* Diagonal tiles come first and their heaps start empty, so nearly every pair
 * would pass a screen there: they are computed in float (exact) instead. s[j] =
 * sim(row, first_col + j); col_threshold[j] mirrors the root of that column's heap. */
static void feed_exact_row(const self_search *h, int64_t row, const float *s, int64_t count, int64_t first_col,
                           float *col_threshold) {
  float row_threshold = heap_sims_of(h, row)[0];
  for (int64_t j = 0; j < count; j++)
    if (s[j] >= row_threshold || s[j] >= col_threshold[j])
      offer_pair(h, row, first_col + j, s[j], &row_threshold, &col_threshold[j]);
}

/* Screens one row of an integer tile: c[j] is the integer product of row `row`'s
 * uint8 codes with column first_col + j's codes (offset not yet removed).
 * Survivors are collected first and their exact dots computed in a separate
 * loop, so the memory loads of several survivors' rows overlap instead of
 * waiting on each heap update. survivors and survivor_sims hold `count` entries. */
static void screen_row(const self_search *h, int64_t row, const int32_t *c, int64_t count, int64_t first_col,
                       float *col_threshold, int32_t *survivors, float *survivor_sims) {
  const knn_quantized *q = h->q;
  const float *col_scale = q->col_scale + first_col, *col_slack = q->col_slack + first_col;
  const int32_t *col_offset = q->col_offset + first_col;
  float row_scale = q->row_scale[row], row_slack = q->row_slack[row] + q->margin;
  float row_threshold = heap_sims_of(h, row)[0];
  knn_v8 row_threshold_v = (knn_v8){0} + row_threshold, row_scale_v = (knn_v8){0} + row_scale;
  int num = 0;
  int64_t j = 0;
  /* 32 columns per step in 8-lane vectors, one branch per step (most steps have no
     survivor), then only the 8-lane groups with a hit are looked at one by one:
     this loop runs over every pair of the set */
  for (; j + 32 <= count; j += 32) {
    knn_i8 hit[4];
    for (int u = 0; u < 4; u++) {
      knn_i8 product, offset;
      knn_v8 scale, slack, threshold;
      memcpy(&product, c + j + 8 * u, sizeof product);
      memcpy(&offset, col_offset + j + 8 * u, sizeof offset);
      product -= offset;
      knn_v8 pair_scale = row_scale_v * *knn_load8(&scale, col_scale + j + 8 * u);
      knn_v8 upper = __builtin_convertvector(product, knn_v8) * pair_scale +
                     (*knn_load8(&slack, col_slack + j + 8 * u) + row_slack);
      hit[u] = (upper >= row_threshold_v) | (upper >= *knn_load8(&threshold, col_threshold + j + 8 * u));
    }
    knn_i8 any = (hit[0] | hit[1]) | (hit[2] | hit[3]);
    if (!knn_any_lane(&any)) continue;
    for (int u = 0; u < 4; u++) {
      if (!knn_any_lane(&hit[u])) continue;
      int32_t lanes[8];
      memcpy(lanes, &hit[u], sizeof lanes);
      for (int t = 0; t < 8; t++) { /* branch-free append */
        survivors[num] = (int32_t)(j + 8 * u + t);
        num += lanes[t] != 0;
      }
    }
  }
  for (; j < count; j++) {
    float upper = (float)(c[j] - col_offset[j]) * (row_scale * col_scale[j]) + (col_slack[j] + row_slack);
    if (upper >= row_threshold || upper >= col_threshold[j]) survivors[num++] = (int32_t)j;
  }
  const float *x_row = h->x + row * h->d;
  for (int m = 0; m < num; m++)
    survivor_sims[m] = knn_exact_dot(x_row, h->x + (first_col + survivors[m]) * h->d, h->d);
  for (int m = 0; m < num; m++)
    offer_pair(h, row, first_col + survivors[m], survivor_sims[m], &row_threshold, &col_threshold[survivors[m]]);
}

/* Task t -> block pair. Tasks 0..B-1 are the diagonal pairs (I, I); then rounds
 * of the circle method over an even count of blocks (a dummy block B when B is
 * odd, whose pairs are skipped). Returns 0 for a skipped task. */
static int task_pair(int64_t t, int64_t blocks, int64_t *bi, int64_t *bj) {
  if (t < blocks) {
    *bi = *bj = t;
    return 1;
  }
  int64_t even = blocks + (blocks & 1), per_round = even / 2;
  int64_t u = t - blocks, round = u / per_round, p = u % per_round;
  int64_t a, b;
  if (p == 0) {
    a = even - 1;
    b = round;
  } else {
    a = (round + p) % (even - 1);
    b = (round - p + (even - 1)) % (even - 1);
  }
  if (a >= blocks || b >= blocks) return 0;
  *bi = a < b ? a : b;
  *bj = a < b ? b : a;
  return 1;
}

scan_status scan_knn_self(const float *x, int64_t n, int d, int k, int64_t *indices, float *similarities) {
  if (d < 1 || k < 1 || n < 0)
    return scan_fail(SCAN_ERR_INPUT, "knn: invalid sizes (n=%lld d=%d k=%d)", (long long)n, d, k);
  if (k > n - 1)
    return scan_fail(SCAN_ERR_INPUT, "knn: k=%d neighbours requested but the set has only %lld samples", k,
                     (long long)n);
  /* integer dot products of d codes up to 255 * 63 must fit in int32 */
  if (d > KNN_MAX_DIM)
    return scan_fail(SCAN_ERR_INPUT, "knn: feature dimension %d is above the supported %d", d, KNN_MAX_DIM);
  int64_t bad = scan_knn_first_nonfinite_row(x, n, d);
  if (bad >= 0) return scan_fail(SCAN_ERR_INPUT, "knn: feature row %lld has a non-finite value", (long long)bad);

  knn_quantized q;
  SCAN_TRY(knn_quantize(x, n, d, &q));
  self_search h = {.x = x, .d = d, .q = &q, .indices = indices, .k = k};
  float *own_sims = NULL;
  if (similarities) {
    h.sims = similarities + 1;
    h.sims_stride = k + 1;
  } else {
    own_sims = scan_malloc(sizeof(float) * (size_t)n * k);
    h.sims = own_sims;
    h.sims_stride = k;
  }
  int64_t blocks = (n + SELF_BLOCK - 1) / SELF_BLOCK;
  omp_lock_t *locks = scan_malloc(sizeof(omp_lock_t) * (size_t)blocks);
  if (!locks || !h.sims) {
    free(own_sims);
    free(locks);
    knn_quantized_free(&q);
    return SCAN_ERR_INTERNAL;
  }
  for (int64_t b = 0; b < blocks; b++) omp_init_lock(&locks[b]);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; r++) {
    topk_init(heap_sims_of(&h, r), heap_indices_of(&h, r), k);
    if (similarities) similarities[r * (k + 1)] = knn_exact_dot(x + r * d, x + r * d, d);
  }

  /* columns per screening panel: their float rows fill at most 256 KiB */
  int64_t panel = (256 * 1024 / ((int64_t)sizeof(float) * d)) / 32 * 32;
  panel = panel < 32 ? 32 : panel > SELF_BLOCK ? SELF_BLOCK : panel;
  int64_t even = blocks + (blocks & 1);
  int64_t num_tasks = blocks + (even - 1) * (even / 2);
  int failed = 0;
  const int32_t no_offset = 0;
#pragma omp parallel
  {
    /* one buffer serves as the int32 tile and, on the diagonal, the float tile */
    void *tile = malloc(sizeof(float) * SELF_BLOCK * SELF_BLOCK);
    float *col_threshold = malloc(sizeof(float) * SELF_BLOCK);
    float *survivor_sims = malloc(sizeof(float) * SELF_BLOCK);
    int32_t *survivors = malloc(sizeof(int32_t) * SELF_BLOCK);
    int ready = tile && col_threshold && survivor_sims && survivors;
    if (!ready) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < num_tasks; t++) {
      int64_t bi, bj;
      if (!ready || !task_pair(t, blocks, &bi, &bj)) continue;
      int64_t i0 = bi * SELF_BLOCK, j0 = bj * SELF_BLOCK;
      int64_t rows = n - i0 < SELF_BLOCK ? n - i0 : SELF_BLOCK;
      int64_t cols = n - j0 < SELF_BLOCK ? n - j0 : SELF_BLOCK;
      dnnl_status_t gemm;
      if (bi == bj)
        gemm = dnnl_sgemm('N', 'T', rows, cols, d, 1.0f, x + i0 * d, d, x + j0 * d, d, 0.0f, tile, cols);
      else /* tile = row_q · col_q^T, exact in int32 (screen_row subtracts the offset) */
        gemm = dnnl_gemm_u8s8s32('N', 'T', 'F', rows, cols, d, 1.0f, q.row_q + i0 * d, d, 0,
                                 q.col_q + j0 * d, d, 0, 0.0f, tile, cols, &no_offset);
      /* inside a parallel region oneDNN runs either GEMM on this thread alone */
      if (gemm != dnnl_success) {
#pragma omp atomic write
        failed = 2;
        continue;
      }
      omp_set_lock(&locks[bi]);
      if (bj != bi) omp_set_lock(&locks[bj]);
      for (int64_t c = 0; c < cols; c++) col_threshold[c] = heap_sims_of(&h, j0 + c)[0];
      if (bi == bj) {
        for (int64_t r = 0; r < rows; r++) /* only the upper triangle, so each pair is fed once both ways */
          feed_exact_row(&h, i0 + r, (const float *)tile + r * cols + r + 1, cols - r - 1, j0 + r + 1,
                         col_threshold + r + 1);
      } else {
        /* Column panels, all rows per panel: the survivors' exact dots then read
           float rows of x that stay in L2 (a whole block of them would not). The
           order does not change results. */
        for (int64_t p0 = 0; p0 < cols; p0 += panel)
          for (int64_t r = 0; r < rows; r++)
            screen_row(&h, i0 + r, (const int32_t *)tile + r * cols + p0, cols - p0 < panel ? cols - p0 : panel,
                       j0 + p0, col_threshold + p0, survivors, survivor_sims);
      }
      if (bj != bi) omp_unset_lock(&locks[bj]);
      omp_unset_lock(&locks[bi]);
    }
    free(tile);
    free(col_threshold);
    free(survivor_sims);
    free(survivors);
  }
  for (int64_t b = 0; b < blocks; b++) omp_destroy_lock(&locks[b]);
  free(locks);
  knn_quantized_free(&q);
  if (!failed) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; r++) {
      topk_sort(heap_sims_of(&h, r), heap_indices_of(&h, r), k);
      indices[r * (k + 1)] = r;
    }
  }
  free(own_sims);
  if (failed == 1) return scan_fail(SCAN_ERR_INTERNAL, "knn: out of memory for similarity tiles");
  if (failed == 2) return scan_fail(SCAN_ERR_INTERNAL, "knn: oneDNN GEMM failed");
  return SCAN_OK;
}
