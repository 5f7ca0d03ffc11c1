/* kNN benchmark case for `scan bench` (knn_n50000_d128_k20, knn_n10000_d512_k20). */
#ifndef SCAN_KNN_BENCH_H
#define SCAN_KNN_BENCH_H

#include <stdint.h>

/* Seconds for one scan_knn_self on n random L2-normalised d-dimensional vectors
 * (generation excluded); -1 when the search fails (e.g. out of memory). */
double scan_bench_knn(int64_t n, int d, int k);

#endif
