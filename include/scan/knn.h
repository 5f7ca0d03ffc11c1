/* Exact k-nearest-neighbour search by inner product (cosine similarity for
 * L2-normalised rows), as FAISS IndexFlatIP does for the reference (spec §6.5),
 * plus the neighbour statistics the reference prints (§6.4, §6.5).
 *
 * Similarities come from blocked single-precision GEMM (oneDNN) and each row
 * keeps its own top-k heap, so memory is O(rows * k + one block), never N x N.
 * Block shapes are fixed (they never depend on the thread count) and every
 * similarity is computed by one thread, so results are bit-identical for any
 * number of OpenMP threads.
 *
 * Order: decreasing similarity; equal similarities are ordered by smaller index. */
#ifndef SCAN_KNN_H
#define SCAN_KNN_H

#include <stdint.h>

#include "scan/error.h"

/* Squared Euclidean distance of two rows of d floats, summed in double in index order (k-means, and the
 * bandwidth of the curation's MMD). */
static inline double scan_squared_distance(const float *a, const float *b, int d) {
  double s = 0;
  for (int i = 0; i < d; i++) {
    double t = (double)a[i] - b[i];
    s += t * t;
  }
  return s;
}

/* queries [nq, d], base [nb, d], row-major. Writes indices [nq, k] and, unless
 * `similarities` is NULL, similarities [nq, k].
 * exclude_self: query row i never lists base index i (for queries == base;
 * exact duplicates of i are still listed).
 * Fails with SCAN_ERR_INPUT when k < 1, d < 1, k exceeds the candidates a row
 * has (nb, or nb - 1 with exclude_self), or an input value is not finite. */
scan_status scan_knn(const float *queries, int64_t nq, const float *base, int64_t nb, int d, int k,
                     int exclude_self, int64_t *indices, float *similarities);

/* Self-search of one set. Each block pair of X·X^T is computed once and feeds
 * both rows' top-k, so it does half the arithmetic of scan_knn(x, x); off-diagonal
 * blocks are screened with int8 dot products of quantised rows (an AVX2 kernel,
 * strips screened while still in L1) and a proven error bound, and only
 * candidates that might enter a top-k get their exact float similarity.
 * Similarities may differ from scan_knn's in the last bits (another summation
 * order). Besides the output it holds a quantised copy of x (2 bytes per value),
 * the per-row heaps (n * k * 8 bytes) and one tile per thread. Needs d <= 130000
 * and n < 2^32 - 1 (scan_knn too).
 * Output in the reference layout [n, k+1]: column 0 is the sample itself
 * (similarity x_i·x_i), then its k nearest other samples. Needs 1 <= k <= n - 1. */
scan_status scan_knn_self(const float *x, int64_t n, int d, int k, int64_t *indices, float *similarities);

/* The same search for the query rows [first_row, first_row + row_count) only (a data-parallel rank's share): writes
 * those rows of indices [n, k+1] (and similarities) and leaves the others as they were. Every row's result is the
 * one scan_knn_self gives, bit for bit: each similarity is computed by the same code from the same tile, and the
 * kept set depends only on the similarities. It does the tiles of every block pair that holds a query row, so two
 * halves cost about 3/4 of the whole each (R shares: about 2/R); a share that starts and ends on a block boundary
 * (scan_knn_self_share) does the fewest. */
scan_status scan_knn_self_rows(const float *x, int64_t n, int d, int k, int64_t first_row, int64_t row_count,
                               int64_t *indices, float *similarities);
/* Share `rank` of `size` of the n rows for scan_knn_self_rows: contiguous whole blocks, the first ranks one more
 * block; a rank past the last block gets count 0. */
void scan_knn_self_share(int64_t n, int rank, int size, int64_t *first, int64_t *count);

/* The first row of x [n, d] holding a NaN or an infinity, or -1 when every value is finite: callers that
 * read features from a file check them first, so the message can name the file. */
int64_t scan_knn_first_nonfinite_row(const float *x, int64_t n, int d);

/* Divides every row by its L2 norm (rows of zeros stay zero). */
void scan_l2_normalize_rows(float *x, int64_t n, int d);

/* Percentage (0..100) of the entries in columns 1..cols-1 of `indices` [n, cols]
 * whose label equals the row's label (column 0 is the sample itself; spec §6.5).
 * Entries outside 0..n-1 count as mismatches. Returns 0 when there is nothing to count. */
double scan_neighbor_accuracy(const int64_t *indices, int64_t n, int cols, const int32_t *labels);

/* Weighted kNN monitor (spec §6.4): each query takes its top-k bank entries
 * (k = 100 upstream; fewer when the bank is smaller), weights exp(sim / temperature),
 * sums weights per class and predicts the arg-max (smallest class on a tie).
 * *accuracy = top-1 percentage (0..100). Labels must lie in 0..num_classes-1. */
scan_status scan_weighted_knn_accuracy(const float *bank, const int32_t *bank_labels, int64_t nb,
                                       const float *queries, const int32_t *query_labels, int64_t nq,
                                       int d, int k, double temperature, int num_classes,
                                       double *accuracy);

#endif
