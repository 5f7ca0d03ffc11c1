/* scan_knn_self: exact top-k of a set against itself, exploiting the symmetry of
 * X·X^T. Rows are cut into fixed blocks of SELF_BLOCK; every unordered block pair
 * (I, J) is one task: one GEMM tile X_I·X_J^T feeds row i's heap with candidates
 * j and row j's heap with candidate i (so sim(i, j) is one number used both ways).
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

#include "scan/knn.h"
#include "topk.h"

/* A 512 x 512 tile (1 MiB) measured faster than 256 or 384 (GEMM efficiency
 * outweighs L2 misses while scanning). Fixed so results never depend on threads. */
enum { SELF_BLOCK = 512 };

typedef struct {
  float *sims;       /* row r's heap similarities start at sims + r * sims_stride */
  int64_t sims_stride;
  int64_t *indices;  /* row r's heap indices start at indices + r * (k + 1) + 1 */
  int k;
} self_heaps;

static inline float *heap_sims_of(const self_heaps *h, int64_t row) { return h->sims + row * h->sims_stride; }
static inline int64_t *heap_indices_of(const self_heaps *h, int64_t row) {
  return h->indices + row * (h->k + 1) + 1;
}

/* Feeds one tile row: s[j] = sim(row, first_col + j). Row `row` gets candidates
 * first_col + j; each column row first_col + j gets candidate `row`.
 * col_threshold[j] mirrors the root of column j's heap. */
static void feed_row_and_columns(const self_heaps *h, int64_t row, const float *s, int64_t count,
                                 int64_t first_col, float *col_threshold) {
  int k = h->k;
  float *row_sims = heap_sims_of(h, row);
  int64_t *row_indices = heap_indices_of(h, row);
  float row_threshold = row_sims[0];
  int64_t j = 0;
  while (j < count) {
    int64_t chunk = count - j < 16 ? count - j : 16;
    int any = 0;
    if (chunk == 16) { /* fixed trip count: the compiler vectorises this test */
      for (int t = 0; t < 16; t++) any |= (s[j + t] >= row_threshold) | (s[j + t] >= col_threshold[j + t]);
    } else {
      any = 1;
    }
    if (any) {
      for (int64_t t = j; t < j + chunk; t++) {
        if (s[t] >= row_threshold && topk_offer(row_sims, row_indices, k, s[t], first_col + t))
          row_threshold = row_sims[0];
        if (s[t] >= col_threshold[t]) {
          float *col_sims = heap_sims_of(h, first_col + t);
          if (topk_offer(col_sims, heap_indices_of(h, first_col + t), k, s[t], row)) col_threshold[t] = col_sims[0];
        }
      }
    }
    j += chunk;
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

scan_status scan_knn_self(const float *x, int64_t n, int d, int k, int64_t *indices, float *similarities) {
  if (d < 1 || k < 1 || n < 0)
    return scan_fail(SCAN_ERR_INPUT, "knn: invalid sizes (n=%lld d=%d k=%d)", (long long)n, d, k);
  if (k > n - 1)
    return scan_fail(SCAN_ERR_INPUT, "knn: k=%d neighbours requested but the set has only %lld samples", k,
                     (long long)n);
  int64_t bad = scan_knn_first_nonfinite_row(x, n, d);
  if (bad >= 0) return scan_fail(SCAN_ERR_INPUT, "knn: feature row %lld has a non-finite value", (long long)bad);

  self_heaps h = {.indices = indices, .k = k};
  float *own_sims = NULL;
  if (similarities) {
    h.sims = similarities + 1;
    h.sims_stride = k + 1;
  } else {
    own_sims = scan_malloc(sizeof(float) * (size_t)n * k);
    if (!own_sims) return SCAN_ERR_INTERNAL;
    h.sims = own_sims;
    h.sims_stride = k;
  }
  int64_t blocks = (n + SELF_BLOCK - 1) / SELF_BLOCK;
  omp_lock_t *locks = scan_malloc(sizeof(omp_lock_t) * (size_t)blocks);
  if (!locks) {
    free(own_sims);
    return SCAN_ERR_INTERNAL;
  }
  for (int64_t b = 0; b < blocks; b++) omp_init_lock(&locks[b]);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < n; r++) topk_init(heap_sims_of(&h, r), heap_indices_of(&h, r), k);

  int64_t even = blocks + (blocks & 1);
  int64_t num_tasks = blocks + (even - 1) * (even / 2);
  int failed = 0;
#pragma omp parallel
  {
    float *tile = malloc(sizeof(float) * SELF_BLOCK * SELF_BLOCK);
    float *col_threshold = malloc(sizeof(float) * SELF_BLOCK);
    if (!tile || !col_threshold) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < num_tasks; t++) {
      int64_t bi, bj;
      if (!tile || !col_threshold || !task_pair(t, blocks, &bi, &bj)) continue;
      int64_t i0 = bi * SELF_BLOCK, j0 = bj * SELF_BLOCK;
      int64_t rows = n - i0 < SELF_BLOCK ? n - i0 : SELF_BLOCK;
      int64_t cols = n - j0 < SELF_BLOCK ? n - j0 : SELF_BLOCK;
      if (dnnl_sgemm('N', 'T', rows, cols, d, 1.0f, x + i0 * d, d, x + j0 * d, d, 0.0f, tile, cols) !=
          dnnl_success) {
#pragma omp atomic write
        failed = 2;
        continue;
      }
      omp_set_lock(&locks[bi]);
      if (bj != bi) omp_set_lock(&locks[bj]);
      for (int64_t c = 0; c < cols; c++) col_threshold[c] = heap_sims_of(&h, j0 + c)[0];
      for (int64_t r = 0; r < rows; r++) {
        if (bi == bj) {
          /* Diagonal tile: only its upper triangle, so each pair is fed once both ways. */
          if (similarities) similarities[(i0 + r) * (k + 1)] = tile[r * cols + r];
          feed_row_and_columns(&h, i0 + r, tile + r * cols + r + 1, cols - r - 1, j0 + r + 1,
                               col_threshold + r + 1);
        } else {
          feed_row_and_columns(&h, i0 + r, tile + r * cols, cols, j0, col_threshold);
        }
      }
      if (bj != bi) omp_unset_lock(&locks[bj]);
      omp_unset_lock(&locks[bi]);
    }
    free(tile);
    free(col_threshold);
  }
  for (int64_t b = 0; b < blocks; b++) omp_destroy_lock(&locks[b]);
  free(locks);
  if (!failed) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; r++) {
      topk_sort(heap_sims_of(&h, r), heap_indices_of(&h, r), k);
      indices[r * (k + 1)] = r;
    }
  }
  free(own_sims);
  if (failed == 1) return scan_fail(SCAN_ERR_INTERNAL, "knn: out of memory for similarity tiles");
  if (failed == 2) return scan_fail(SCAN_ERR_INTERNAL, "knn: dnnl_sgemm failed");
  return SCAN_OK;
}
