/* scan_knn_self: exact top-k of a set against itself, exploiting the symmetry of
 * X·X^T. Rows are cut into fixed blocks of SELF_BLOCK; every unordered block pair
 * (I, J) is one task: one tile of X_I·X_J^T feeds row i's heap with candidate j
 * and row j's heap with candidate i (so sim(i, j) is one number used both ways).
 *
 * Off-diagonal tiles are integer products of quantised rows (knn_quantize.h),
 * computed a strip of 4 rows x one column panel at a time (knn_int8.h) and
 * screened while the strip is still in L1; they give an upper bound on each
 * similarity, at about twice the rate of float GEMM. Only pairs
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

#include "knn_int8.h"
#include "knn_quantize.h"
#include "scan/knn.h"
#include "topk.h"

/* Fixed: the diagonal tiles' float GEMM values depend on the block shape. 512 x 512
 * (1 MiB tile) measured as fast as 256 or 1024. A diagonal tile is computed in row
 * strips of DIAG_STRIP that start at their own first row, so only the upper
 * triangle and 1/8 of the tile more are computed (62.5% of a square tile). */
enum { SELF_BLOCK = 512, DIAG_STRIP = 128 };

typedef struct {
  const float *x;
  int d;
  const knn_quantized *q;
  knn_strip_fn strip;
  topk_key *heaps; /* row r's heap: k keys from heaps + r * k */
  int k;
} self_search;

static inline topk_key *heap_of(const self_search *h, int64_t row) { return h->heaps + row * h->k; }

/* Offers the pair (row, col) with similarity s to both heaps. */
static inline void offer_pair(const self_search *h, int64_t row, int64_t col, float s, float *row_threshold,
                              float *col_threshold) {
  topk_key *row_heap = heap_of(h, row), *col_heap = heap_of(h, col);
  if (s >= *row_threshold && topk_offer(row_heap, h->k, topk_make_key(s, col)))
    *row_threshold = topk_threshold(row_heap);
  if (s >= *col_threshold && topk_offer(col_heap, h->k, topk_make_key(s, row)))
    *col_threshold = topk_threshold(col_heap);
}

/* Diagonal tiles come first and their heaps start empty, so nearly every pair
 * would pass a screen there: they are computed in float (exact) instead. s[j] =
 * sim(row, first_col + j); col_threshold[j] mirrors the root of that column's heap. */
static void feed_exact_row(const self_search *h, int64_t row, const float *s, int64_t count, int64_t first_col,
                           float *col_threshold) {
  float row_threshold = topk_threshold(heap_of(h, row));
  for (int64_t j = 0; j < count; j++)
    if (s[j] >= row_threshold || s[j] >= col_threshold[j])
      offer_pair(h, row, first_col + j, s[j], &row_threshold, &col_threshold[j]);
}

/* What the screen of one row against a run of columns reads. */
typedef struct {
  const int32_t *c;          /* integer products, offset not yet removed */
  const int32_t *col_offset; /* these and the following: from the run's first column */
  const float *col_scale, *col_slack, *col_threshold;
  knn_v8 row_scale, row_slack, row_threshold; /* the row's value in every lane */
} row_screen;

/* Lanes of -1 where the upper bound of the pair (row, column j + lane) reaches the
 * row's or the column's threshold. */
static inline void screen8(const row_screen *r, int64_t j, knn_i8 *hit) {
  knn_i8 product, offset;
  knn_v8 scale, slack, threshold;
  memcpy(&product, r->c + j, sizeof product);
  memcpy(&offset, r->col_offset + j, sizeof offset);
  product -= offset;
  knn_v8 upper = __builtin_convertvector(product, knn_v8) * (r->row_scale * *knn_load8(&scale, r->col_scale + j)) +
                 (*knn_load8(&slack, r->col_slack + j) + r->row_slack);
  *hit = (upper >= r->row_threshold) | (upper >= *knn_load8(&threshold, r->col_threshold + j));
}

/* Screens one row of an integer strip: c[j] is the integer product of row `row`'s
 * uint8 codes with column first_col + j's codes (offset not yet removed). Writes
 * the columns (relative to first_col) whose upper bound reaches the row's or the
 * column's threshold to survivors (`count` entries) and returns their number. */
static int collect_survivors(const self_search *h, int64_t row, const int32_t *c, int64_t count, int64_t first_col,
                             const float *col_threshold, int32_t *survivors) {
  const knn_quantized *q = h->q;
  float row_scale = q->row_scale[row], row_slack = q->row_slack[row] + q->margin;
  float row_threshold = topk_threshold(heap_of(h, row));
  row_screen r = {.c = c,
                  .col_offset = q->col_offset + first_col,
                  .col_scale = q->col_scale + first_col,
                  .col_slack = q->col_slack + first_col,
                  .col_threshold = col_threshold,
                  .row_scale = (knn_v8){0} + row_scale,
                  .row_slack = (knn_v8){0} + row_slack,
                  .row_threshold = (knn_v8){0} + row_threshold};
  int num = 0;
  int64_t j = 0;
  /* 32 columns per step as one bit mask, then one iteration per survivor: this
     loop runs over every pair of the set, so it is written out rather than left
     to the unroller */
  for (; j + 32 <= count; j += 32) {
    knn_i8 hit;
    screen8(&r, j, &hit);
    uint32_t bits = knn_lane_bits(&hit);
    screen8(&r, j + 8, &hit);
    bits |= knn_lane_bits(&hit) << 8;
    screen8(&r, j + 16, &hit);
    bits |= knn_lane_bits(&hit) << 16;
    screen8(&r, j + 24, &hit);
    bits |= knn_lane_bits(&hit) << 24;
    for (; bits; bits &= bits - 1) survivors[num++] = (int32_t)(j + __builtin_ctz(bits));
  }
  const int32_t *col_offset = r.col_offset;
  const float *col_scale = r.col_scale, *col_slack = r.col_slack;
  for (; j < count; j++) {
    float upper = (float)(c[j] - col_offset[j]) * (row_scale * col_scale[j]) + (col_slack[j] + row_slack);
    if (upper >= row_threshold || upper >= col_threshold[j]) survivors[num++] = (int32_t)j;
  }
  return num;
}

/* Computes the survivors' exact similarities and offers them to both heaps. The
 * dots come first, in their own loop, so the loads of several survivors' rows
 * overlap instead of waiting on each heap update. survivor_sims holds num. */
static void offer_survivors(const self_search *h, int64_t row, int64_t first_col, const int32_t *survivors, int num,
                            float *col_threshold, float *survivor_sims) {
  const float *x_row = h->x + row * h->d;
  for (int m = 0; m < num; m++)
    survivor_sims[m] = knn_exact_dot(x_row, h->x + (first_col + survivors[m]) * h->d, h->d);
  float row_threshold = topk_threshold(heap_of(h, row));
  for (int m = 0; m < num; m++)
    offer_pair(h, row, first_col + survivors[m], survivor_sims[m], &row_threshold, &col_threshold[survivors[m]]);
}

/* tile[r * count + c] = x_{row0 + r} · x_{row0 + c} for c > r (and a few c <= r),
 * `count` rows of x from row0. */
static dnnl_status_t diagonal_tile(const float *x, int d, int64_t row0, int64_t count, float *tile) {
  for (int64_t s0 = 0; s0 < count; s0 += DIAG_STRIP) {
    const float *strip_rows = x + (row0 + s0) * d;
    dnnl_status_t status = dnnl_sgemm('N', 'T', count - s0 < DIAG_STRIP ? count - s0 : DIAG_STRIP, count - s0, d,
                                      1.0f, strip_rows, d, strip_rows, d, 0.0f, tile + s0 * count + s0, count);
    if (status != dnnl_success) return status;
  }
  return dnnl_success;
}

/* Per-thread buffers of the tile loop. */
typedef struct {
  float *tile;          /* SELF_BLOCK x SELF_BLOCK: a diagonal tile */
  int32_t *strip;       /* KNN_STRIP_ROWS x SELF_BLOCK integer products */
  float *col_threshold; /* SELF_BLOCK: mirrors the roots of the tile's column heaps */
  int32_t *survivors;   /* SELF_BLOCK */
  float *survivor_sims; /* SELF_BLOCK */
} self_work;

static int self_work_init(self_work *w) {
  w->tile = scan_malloc(sizeof(float) * SELF_BLOCK * SELF_BLOCK);
  w->strip = scan_malloc(sizeof(int32_t) * KNN_STRIP_ROWS * SELF_BLOCK);
  w->col_threshold = scan_malloc(sizeof(float) * SELF_BLOCK);
  w->survivors = scan_malloc(sizeof(int32_t) * SELF_BLOCK);
  w->survivor_sims = scan_malloc(sizeof(float) * SELF_BLOCK);
  return w->tile && w->strip && w->col_threshold && w->survivors && w->survivor_sims;
}

static void self_work_free(self_work *w) {
  free(w->tile);
  free(w->strip);
  free(w->col_threshold);
  free(w->survivors);
  free(w->survivor_sims);
}

/* Screens rows [row0, row0 + rows) against the `count` columns from first_col
 * (a multiple of KNN_STRIP_COLS), KNN_STRIP_ROWS rows at a time: each strip of
 * integer products is screened while it is in L1. col_threshold: the panel's
 * part of w->col_threshold. */
static void screen_panel(const self_search *h, self_work *w, int64_t row0, int64_t rows, int64_t first_col,
                         int64_t count, float *col_threshold) {
  const knn_quantized *q = h->q;
  int64_t width = (count + KNN_STRIP_COLS - 1) / KNN_STRIP_COLS * KNN_STRIP_COLS;
  for (int64_t r0 = 0; r0 < rows; r0 += KNN_STRIP_ROWS) {
    /* rows and columns past the end are padding (knn_padded_rows): computed, never read */
    h->strip(q->row_q + (row0 + r0) * q->dp, q->col_q + first_col * q->dp, width, q->dp, w->strip, width);
    for (int64_t r = 0; r < KNN_STRIP_ROWS && r0 + r < rows; r++) {
      int num = collect_survivors(h, row0 + r0 + r, w->strip + r * width, count, first_col, col_threshold,
                                  w->survivors);
      offer_survivors(h, row0 + r0 + r, first_col, w->survivors, num, col_threshold, w->survivor_sims);
    }
  }
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

void scan_knn_self_share(int64_t n, int rank, int size, int64_t *first, int64_t *count) {
  int64_t blocks = (n + SELF_BLOCK - 1) / SELF_BLOCK, base = blocks / size, extra = blocks % size;
  int64_t b0 = (int64_t)rank * base + (rank < extra ? rank : extra), b1 = b0 + base + (rank < extra);
  *first = b0 * SELF_BLOCK < n ? b0 * SELF_BLOCK : n;
  *count = (b1 * SELF_BLOCK < n ? b1 * SELF_BLOCK : n) - *first;
}

scan_status scan_knn_self(const float *x, int64_t n, int d, int k, int64_t *indices, float *similarities) {
  return scan_knn_self_rows(x, n, d, k, 0, n, indices, similarities);
}

/* 1 when block b holds one of the rows [first_row, first_row + row_count). */
static int block_queried(int64_t b, int64_t first_row, int64_t row_count) {
  return row_count > 0 && b * SELF_BLOCK < first_row + row_count && (b + 1) * SELF_BLOCK > first_row;
}

scan_status scan_knn_self_rows(const float *x, int64_t n, int d, int k, int64_t first_row, int64_t row_count,
                               int64_t *indices, float *similarities) {
  if (first_row < 0 || row_count < 0 || first_row > n - row_count)
    return scan_fail(SCAN_ERR_INPUT, "knn: query rows %lld..%lld outside the set of %lld", (long long)first_row,
                     (long long)(first_row + row_count), (long long)n);
  if (d < 1 || k < 1 || n < 0)
    return scan_fail(SCAN_ERR_INPUT, "knn: invalid sizes (n=%lld d=%d k=%d)", (long long)n, d, k);
  if (k > n - 1)
    return scan_fail(SCAN_ERR_INPUT, "knn: k=%d neighbours requested but the set has only %lld samples", k,
                     (long long)n);
  /* integer dot products of d codes up to 255 * 63 must fit in int32 */
  if (d > KNN_MAX_DIM)
    return scan_fail(SCAN_ERR_INPUT, "knn: feature dimension %d is above the supported %d", d, KNN_MAX_DIM);
  if (n >= TOPK_NO_INDEX)
    return scan_fail(SCAN_ERR_INPUT, "knn: %lld samples, above the supported %lld", (long long)n,
                     (long long)TOPK_NO_INDEX - 1);
  int64_t bad = scan_knn_first_nonfinite_row(x, n, d);
  if (bad >= 0) return scan_fail(SCAN_ERR_INPUT, "knn: feature row %lld has a non-finite value", (long long)bad);

  knn_quantized q;
  SCAN_TRY(knn_quantize(x, n, d, &q));
  self_search h = {.x = x, .d = d, .q = &q, .strip = knn_strip_best(), .k = k};
  h.heaps = scan_malloc(sizeof(topk_key) * (size_t)n * k);
  int64_t blocks = (n + SELF_BLOCK - 1) / SELF_BLOCK;
  omp_lock_t *locks = scan_malloc(sizeof(omp_lock_t) * (size_t)blocks);
  if (!locks || !h.heaps) {
    free(h.heaps);
    free(locks);
    knn_quantized_free(&q);
    return scan_fail(SCAN_ERR_INTERNAL, "knn: out of memory for %lld heaps", (long long)n);
  }
  for (int64_t b = 0; b < blocks; b++) omp_init_lock(&locks[b]);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; r++) topk_init(heap_of(&h, r), k);

  /* columns per screening panel: their float rows fill at most 256 KiB */
  int64_t panel = (256 * 1024 / ((int64_t)sizeof(float) * d)) / 32 * 32;
  panel = panel < 32 ? 32 : panel > SELF_BLOCK ? SELF_BLOCK : panel;
  int64_t even = blocks + (blocks & 1);
  int64_t num_tasks = blocks + (even - 1) * (even / 2);
  int failed = 0;
#pragma omp parallel
  {
    self_work w;
    int ready = self_work_init(&w);
    if (!ready) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < num_tasks; t++) {
      int64_t bi, bj;
      if (!ready || !task_pair(t, blocks, &bi, &bj)) continue;
      /* only pairs that feed a query row's heap (the other rows' heaps are fed too, and never read) */
      if (!block_queried(bi, first_row, row_count) && !block_queried(bj, first_row, row_count)) continue;
      int64_t i0 = bi * SELF_BLOCK, j0 = bj * SELF_BLOCK;
      int64_t rows = n - i0 < SELF_BLOCK ? n - i0 : SELF_BLOCK;
      int64_t cols = n - j0 < SELF_BLOCK ? n - j0 : SELF_BLOCK;
      dnnl_status_t gemm = dnnl_success;
      /* inside a parallel region oneDNN runs the GEMM on this thread alone */
      if (bi == bj) gemm = diagonal_tile(x, d, i0, rows, w.tile);
      if (gemm != dnnl_success) {
#pragma omp atomic write
        failed = 2;
        continue;
      }
      omp_set_lock(&locks[bi]);
      if (bj != bi) omp_set_lock(&locks[bj]);
      for (int64_t c = 0; c < cols; c++) w.col_threshold[c] = topk_threshold(heap_of(&h, j0 + c));
      if (bi == bj) {
        for (int64_t r = 0; r < rows; r++) /* only the upper triangle, so each pair is fed once both ways */
          feed_exact_row(&h, i0 + r, w.tile + r * cols + r + 1, cols - r - 1, j0 + r + 1, w.col_threshold + r + 1);
      } else {
        /* Column panels, all rows per panel: the survivors' exact dots then read
           float rows of x that stay in L2 (a whole block of them would not). The
           order does not change results. */
        for (int64_t p0 = 0; p0 < cols; p0 += panel)
          screen_panel(&h, &w, i0, rows, j0 + p0, cols - p0 < panel ? cols - p0 : panel, w.col_threshold + p0);
      }
      if (bj != bi) omp_unset_lock(&locks[bj]);
      omp_unset_lock(&locks[bi]);
    }
    self_work_free(&w);
  }
  for (int64_t b = 0; b < blocks; b++) omp_destroy_lock(&locks[b]);
  free(locks);
  knn_quantized_free(&q);
  if (!failed) {
#pragma omp parallel for schedule(static)
    for (int64_t r = first_row; r < first_row + row_count; r++) {
      int64_t *row_indices = indices + r * (k + 1);
      float *row_sims = similarities ? similarities + r * (k + 1) : NULL;
      topk_sort(heap_of(&h, r), k, row_sims ? row_sims + 1 : NULL, row_indices + 1);
      row_indices[0] = r;
      if (row_sims) row_sims[0] = knn_exact_dot(x + r * d, x + r * d, d);
    }
  }
  free(h.heaps);
  if (failed == 1) return scan_fail(SCAN_ERR_INTERNAL, "knn: out of memory for similarity tiles");
  if (failed == 2) return scan_fail(SCAN_ERR_INTERNAL, "knn: dnnl_sgemm failed");
  return SCAN_OK;
}
