/* scan_knn: exact top-k inner-product search of queries against a base set.
 * OpenMP runs over fixed-size query blocks; each thread owns its block's heaps,
 * computes one [QUERY_BLOCK x BASE_BLOCK] similarity tile at a time with a
 * single-threaded GEMM and feeds the tile rows into the heaps. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>

#include <oneapi/dnnl/dnnl.h>

#include "scan/knn.h"
#include "topk.h"

/* A tile of 128 x 1024 floats (512 KiB) stays in L2 between the GEMM writing it
 * and the scan reading it. Fixed sizes keep results independent of threads. */
enum { QUERY_BLOCK = 128, BASE_BLOCK = 1024 };

scan_status scan_knn(const float *queries, int64_t nq, const float *base, int64_t nb, int d, int k,
                     int exclude_self, int64_t *indices, float *similarities) {
  if (d < 1 || k < 1 || nq < 0 || nb < 0)
    return scan_fail(SCAN_ERR_INPUT, "knn: invalid sizes (nq=%lld nb=%lld d=%d k=%d)", (long long)nq,
                     (long long)nb, d, k);
  int64_t candidates = exclude_self ? nb - 1 : nb;
  if (exclude_self && nq > nb)
    return scan_fail(SCAN_ERR_INPUT, "knn: exclude_self needs queries == base, got nq=%lld > nb=%lld",
                     (long long)nq, (long long)nb);
  if (k > candidates)
    return scan_fail(SCAN_ERR_INPUT, "knn: k=%d but each query has only %lld candidates", k,
                     (long long)candidates);
  if (nb >= TOPK_NO_INDEX)
    return scan_fail(SCAN_ERR_INPUT, "knn: %lld base rows, above the supported %lld", (long long)nb,
                     (long long)TOPK_NO_INDEX - 1);
  if (nq == 0) return SCAN_OK;
  int64_t bad = scan_knn_first_nonfinite_row(queries, nq, d);
  if (bad >= 0) return scan_fail(SCAN_ERR_INPUT, "knn: query row %lld has a non-finite value", (long long)bad);
  bad = scan_knn_first_nonfinite_row(base, nb, d);
  if (bad >= 0) return scan_fail(SCAN_ERR_INPUT, "knn: base row %lld has a non-finite value", (long long)bad);

  int64_t num_query_blocks = (nq + QUERY_BLOCK - 1) / QUERY_BLOCK;
  int failed = 0;
#pragma omp parallel
  {
    float *tile = scan_malloc(sizeof(float) * QUERY_BLOCK * BASE_BLOCK);
    topk_key *heaps = scan_malloc(sizeof(topk_key) * QUERY_BLOCK * (size_t)k);
    if (!tile || !heaps) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t qb = 0; qb < num_query_blocks; qb++) {
      if (!tile || !heaps) continue;
      int64_t q0 = qb * QUERY_BLOCK;
      int64_t rows = nq - q0 < QUERY_BLOCK ? nq - q0 : QUERY_BLOCK;
      for (int64_t r = 0; r < rows; r++) topk_init(heaps + r * k, k);
      for (int64_t b0 = 0; b0 < nb; b0 += BASE_BLOCK) {
        int64_t cols = nb - b0 < BASE_BLOCK ? nb - b0 : BASE_BLOCK;
        /* tile[rows, cols] = Q[q0.., :] · B[b0.., :]^T (row-major); inside a parallel
           region oneDNN runs it on this thread alone. */
        if (dnnl_sgemm('N', 'T', rows, cols, d, 1.0f, queries + q0 * d, d, base + b0 * d, d, 0.0f, tile,
                       cols) != dnnl_success) {
#pragma omp atomic write
          failed = 2;
          break;
        }
        for (int64_t r = 0; r < rows; r++)
          topk_feed_row(heaps + r * k, k, tile + r * cols, cols, b0, exclude_self ? q0 + r : -1);
      }
      for (int64_t r = 0; r < rows; r++)
        topk_sort(heaps + r * k, k, similarities ? similarities + (q0 + r) * k : NULL, indices + (q0 + r) * k);
    }
    free(tile);
    free(heaps);
  }
  if (failed == 1) return scan_fail(SCAN_ERR_INTERNAL, "knn: out of memory for similarity tiles");
  if (failed == 2) return scan_fail(SCAN_ERR_INTERNAL, "knn: dnnl_sgemm failed");
  return SCAN_OK;
}
