/* Exact kNN against a brute-force reference: integer-valued vectors make every
 * dot product exact in float, so ties (and exact duplicates) must come out in
 * exactly the brute-force order (similarity desc, index asc). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../src/mine/topk.h"
#include "scan/knn.h"
#include "scan/rng.h"
#include "testlib.h"


/* Vectors with entries in {-2..2}; every 7th row duplicates an earlier row. */
static float *integer_vectors(int64_t n, int d, uint64_t seed) {
  float *x = malloc(sizeof(float) * n * d);
  scan_rng r = scan_rng_make(seed, 0, 0);
  for (int64_t i = 0; i < n; i++) {
    if (i > 0 && i % 7 == 0) {
      memcpy(x + i * d, x + (int64_t)scan_rng_int(&r, (int)i) * d, sizeof(float) * d);
      continue;
    }
    for (int j = 0; j < d; j++) x[i * d + j] = (float)(scan_rng_int(&r, 5) - 2);
  }
  return x;
}

static double dot(const float *a, const float *b, int d) {
  double s = 0;
  for (int j = 0; j < d; j++) s += (double)a[j] * b[j];
  return s;
}

typedef struct { double s; int64_t i; } cand;
static int cand_cmp(const void *pa, const void *pb) {
  const cand *a = pa, *b = pb;
  if (a->s != b->s) return a->s > b->s ? -1 : 1;
  return (a->i > b->i) - (a->i < b->i);
}

/* Brute force: full sort of every candidate of query q. */
static void brute_row(const float *q, const float *base, int64_t nb, int d, int64_t skip, int k,
                      int64_t *out_i, double *out_s) {
  cand *c = malloc(sizeof(cand) * nb);
  int64_t m = 0;
  for (int64_t j = 0; j < nb; j++)
    if (j != skip) c[m++] = (cand){dot(q, base + j * d, d), j};
  qsort(c, m, sizeof(cand), cand_cmp);
  for (int t = 0; t < k; t++) {
    out_i[t] = c[t].i;
    out_s[t] = c[t].s;
  }
  free(c);
}

/* Entries of scan_knn_self's output [n, k+1] that differ from brute force. */
static int self_mismatches(const float *x, int64_t n, int d, int k) {
  int64_t *idx = malloc(sizeof(int64_t) * n * (k + 1));
  float *sim = malloc(sizeof(float) * n * (k + 1));
  int64_t bi[64];
  double bs[64];
  int mismatches = -1;
  if (scan_knn_self(x, n, d, k, idx, sim) == SCAN_OK) {
    mismatches = 0;
    for (int64_t i = 0; i < n; i++) {
      brute_row(x + i * d, x, n, d, i, k, bi, bs);
      mismatches += idx[i * (k + 1)] != i;
      for (int t = 0; t < k; t++)
        mismatches += idx[i * (k + 1) + 1 + t] != bi[t] || sim[i * (k + 1) + 1 + t] != (float)bs[t];
    }
  }
  free(idx);
  free(sim);
  return mismatches;
}

/* The self-search screens pairs with an integer GEMM of quantised rows and an
 * error bound; these inputs are where a wrong bound or an overflowing integer
 * kernel would drop true neighbours. All dot products are exact in float. */
static void test_self_screen_worst_cases(void) {
  int64_t n = test_light() ? 700 : 1300;
  /* (1) wide dynamic range: some rows have one entry of magnitude 200..1000, which
     makes their quantisation step so coarse that the small entries all become 0 */
  int d = 24, k = 10;
  float *x = integer_vectors(n, d, 7);
  scan_rng r = scan_rng_make(8, 0, 0);
  for (int64_t i = 0; i < n; i++)
    if (i % 7 != 0 && scan_rng_int(&r, 3) == 0) x[i * d + scan_rng_int(&r, d)] = (float)(200 + scan_rng_int(&r, 801)) *
                                                                             (scan_rng_int(&r, 2) ? 1 : -1);
  int mismatches = self_mismatches(x, n, d, k);
  CHECK_MSG(mismatches == 0, "%d entries differ from brute force (wide dynamic range)", mismatches);
  free(x);

  /* (2) sign vectors: every code is at the end of its range (the largest products
     the int8 kernel sums), and many exact ties */
  d = 64;
  x = malloc(sizeof(float) * n * d);
  for (int64_t i = 0; i < n * d; i++) x[i] = scan_rng_int(&r, 2) ? 1.0f : -1.0f;
  for (int64_t i = 7; i < n; i += 7) memcpy(x + i * d, x + (i / 2) * d, sizeof(float) * d);
  mismatches = self_mismatches(x, n, d, k);
  CHECK_MSG(mismatches == 0, "%d entries differ from brute force (sign vectors)", mismatches);

  /* (3) near-duplicates in different blocks: differences far below the
     quantisation step decide the order */
  d = 16;
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < d; j++) x[i * d + j] = (float)((i % 50) * 4 + j) + (j == 0 ? (float)(i / 50) * 0.5f : 0);
  mismatches = self_mismatches(x, n, d, k);
  CHECK_MSG(mismatches == 0, "%d entries differ from brute force (near-duplicates)", mismatches);
  free(x);

  /* (4) a depth off the integer kernel's packing of 4 codes (padded codes must add
     nothing) and n off its strips of 16 (n = 1300 or 700) */
  d = 37;
  x = integer_vectors(n, d, 9);
  mismatches = self_mismatches(x, n, d, k);
  CHECK_MSG(mismatches == 0, "%d entries differ from brute force (d = 37)", mismatches);
  free(x);
}

static void test_exact_ties(void) {
  int64_t n = test_light() ? 600 : 1300; /* several 512-row blocks (3: an odd count) */
  int d = 8, k = 12;
  float *x = integer_vectors(n, d, 1);
  int64_t *idx = malloc(sizeof(int64_t) * n * (k + 1));
  float *sim = malloc(sizeof(float) * n * (k + 1));
  int64_t bi[64];
  double bs[64];

  /* scan_knn with exclude_self */
  CHECK(scan_knn(x, n, x, n, d, k, 1, idx, sim) == SCAN_OK);
  int mismatches = 0;
  for (int64_t i = 0; i < n; i++) {
    brute_row(x + i * d, x, n, d, i, k, bi, bs);
    for (int t = 0; t < k; t++) mismatches += idx[i * k + t] != bi[t] || sim[i * k + t] != (float)bs[t];
  }
  CHECK_MSG(mismatches == 0, "%d entries differ from brute force (exclude_self)", mismatches);

  /* scan_knn_self: [n, k+1], self in column 0 */
  CHECK(scan_knn_self(x, n, d, k, idx, sim) == SCAN_OK);
  mismatches = 0;
  int self_first = 1;
  for (int64_t i = 0; i < n; i++) {
    self_first &= idx[i * (k + 1)] == i && sim[i * (k + 1)] == (float)dot(x + i * d, x + i * d, d);
    brute_row(x + i * d, x, n, d, i, k, bi, bs);
    for (int t = 0; t < k; t++)
      mismatches += idx[i * (k + 1) + 1 + t] != bi[t] || sim[i * (k + 1) + 1 + t] != (float)bs[t];
  }
  CHECK(self_first);
  CHECK_MSG(mismatches == 0, "%d entries differ from brute force (self)", mismatches);

  /* similarities may be NULL: same indices */
  int64_t *idx2 = malloc(sizeof(int64_t) * n * (k + 1));
  CHECK(scan_knn_self(x, n, d, k, idx2, NULL) == SCAN_OK);
  CHECK(memcmp(idx, idx2, sizeof(int64_t) * n * (k + 1)) == 0);

  /* queries against a different base, more than one base block, no exclusion:
     a query that duplicates a base row lists it (and its duplicates) first */
  int64_t nb = test_light() ? 1100 : 2100, nq = 150;
  float *base = integer_vectors(nb, d, 2);
  float *queries = malloc(sizeof(float) * nq * d);
  for (int64_t q = 0; q < nq; q++) memcpy(queries + q * d, base + ((q * 13) % nb) * d, sizeof(float) * d);
  CHECK(scan_knn(queries, nq, base, nb, d, k, 0, idx, sim) == SCAN_OK);
  mismatches = 0;
  for (int64_t q = 0; q < nq; q++) {
    brute_row(queries + q * d, base, nb, d, -1, k, bi, bs);
    for (int t = 0; t < k; t++) mismatches += idx[q * k + t] != bi[t] || sim[q * k + t] != (float)bs[t];
  }
  CHECK_MSG(mismatches == 0, "%d entries differ from brute force (query/base)", mismatches);
  free(base);
  free(queries);
  free(idx2);
  free(x);
  free(idx);
  free(sim);
}

/* Random unit vectors: similarities equal the double-precision dot products to
 * float accuracy, and each listed neighbour is as similar as the brute-force one
 * at the same rank. */
static void test_random_float(void) {
  int64_t n = test_light() ? 300 : 900;
  int d = 40, k = 20;
  float *x = malloc(sizeof(float) * n * d);
  scan_rng r = scan_rng_make(3, 0, 0);
  for (int64_t i = 0; i < n * d; i++) x[i] = (float)scan_rng_normal(&r);
  scan_l2_normalize_rows(x, n, d);
  CHECK_NEAR(dot(x, x, d), 1.0, 1e-6, 0);
  int64_t *idx = malloc(sizeof(int64_t) * n * (k + 1));
  float *sim = malloc(sizeof(float) * n * (k + 1));
  int64_t bi[32];
  double bs[32];
  CHECK(scan_knn_self(x, n, d, k, idx, sim) == SCAN_OK);
  double worst = 0;
  int sorted = 1;
  for (int64_t i = 0; i < n; i++) {
    brute_row(x + i * d, x, n, d, i, k, bi, bs);
    for (int t = 0; t < k; t++) {
      int64_t j = idx[i * (k + 1) + 1 + t];
      double e1 = fabs(sim[i * (k + 1) + 1 + t] - dot(x + i * d, x + j * d, d));
      double e2 = fabs(sim[i * (k + 1) + 1 + t] - bs[t]);
      worst = test_worse(test_worse(worst, e1), e2);
      if (t > 0) sorted &= sim[i * (k + 1) + t] >= sim[i * (k + 1) + 1 + t];
      if (j == i) sorted = 0;
    }
  }
  CHECK_MSG(worst < 1e-5, "worst similarity error %g", worst);
  CHECK(sorted);

  /* thread-count independence, for both searches */
  int64_t *idx1 = malloc(sizeof(int64_t) * n * (k + 1));
  float *sim1 = malloc(sizeof(float) * n * (k + 1));
  omp_set_num_threads(1);
  CHECK(scan_knn_self(x, n, d, k, idx1, sim1) == SCAN_OK);
  omp_set_num_threads(2);
  CHECK(scan_knn_self(x, n, d, k, idx, sim) == SCAN_OK);
  CHECK(memcmp(idx, idx1, sizeof(int64_t) * n * (k + 1)) == 0);
  CHECK(memcmp(sim, sim1, sizeof(float) * n * (k + 1)) == 0);
  omp_set_num_threads(1);
  CHECK(scan_knn(x, n, x, n, d, k, 1, idx1, sim1) == SCAN_OK);
  omp_set_num_threads(2);
  CHECK(scan_knn(x, n, x, n, d, k, 1, idx, sim) == SCAN_OK);
  CHECK(memcmp(idx, idx1, sizeof(int64_t) * n * k) == 0);
  CHECK(memcmp(sim, sim1, sizeof(float) * n * k) == 0);
  free(idx1);
  free(sim1);
  free(x);
  free(idx);
  free(sim);
}

/* The heap keys order candidates like (similarity desc, index asc), including
 * negative values, -0 == +0 (a tie decided by the index) and -inf; a heap keeps
 * the k best of a stream in any arrival order. */
static void test_topk_keys(void) {
  const float sims[] = {-INFINITY, -3.5f, -1e-30f, -0.0f, 0.0f, 1e-30f, 0.25f, 7.0f, 3e38f};
  const int64_t indices[] = {0, 1, 5, 4000000000LL};
  int ordered = 1, round_trip = 1;
  for (size_t a = 0; a < sizeof sims / sizeof sims[0]; a++)
    for (size_t ia = 0; ia < 4; ia++) {
      topk_key ka = topk_make_key(sims[a], indices[ia]);
      round_trip &= topk_key_index(ka) == indices[ia] && topk_key_sim(ka) == sims[a];
      for (size_t b = 0; b < sizeof sims / sizeof sims[0]; b++)
        for (size_t ib = 0; ib < 4; ib++) {
          int a_better = sims[a] > sims[b] || (sims[a] == sims[b] && indices[ia] < indices[ib]);
          ordered &= (ka > topk_make_key(sims[b], indices[ib])) == a_better;
        }
    }
  CHECK(ordered);
  CHECK(round_trip);
  CHECK(topk_make_key(-INFINITY, 7) > topk_make_key(-INFINITY, TOPK_NO_INDEX)); /* beats the sentinel */

  /* 200 candidates with many equal similarities, fed in a scrambled order */
  enum { K = 7, N = 200 };
  topk_key heap[K];
  topk_init(heap, K);
  for (int m = 0; m < N; m++) {
    int64_t index = (m * 73) % N;
    topk_offer(heap, K, topk_make_key((float)(index % 10) - 4.5f, index));
  }
  float best_sims[K];
  int64_t best[K];
  topk_sort(heap, K, best_sims, best);
  /* similarity 4.5 belongs to indices 9, 19, 29, ...: the 7 smallest of them */
  int expected = 1;
  for (int t = 0; t < K; t++) expected &= best[t] == 9 + 10 * t && best_sims[t] == 4.5f;
  CHECK(expected);
}

static void test_edges(void) {
  float x[5 * 2] = {1, 0, 0, 1, 1, 1, -1, 0, 0.5f, 0.5f};
  int64_t idx[5 * 5];
  float sim[5 * 5];
  /* k = n - 1: every row lists all the others */
  CHECK(scan_knn_self(x, 5, 2, 4, idx, sim) == SCAN_OK);
  int all_listed = 1;
  for (int i = 0; i < 5; i++) {
    int seen[5] = {0};
    for (int t = 0; t < 5; t++) seen[idx[i * 5 + t]]++;
    for (int j = 0; j < 5; j++) all_listed &= seen[j] == 1;
    all_listed &= idx[i * 5] == i;
  }
  CHECK(all_listed);
  /* row 0 = (1,0): others (1,1)=1, (.5,.5)=.5, (0,1)=0, (-1,0)=-1 */
  int64_t expect0[5] = {0, 2, 4, 1, 3};
  CHECK(memcmp(idx, expect0, sizeof expect0) == 0);
  CHECK(sim[1] == 1.0f && sim[4] == -1.0f);
  CHECK(scan_knn_self(x, 5, 2, 5, idx, sim) == SCAN_ERR_INPUT);
  CHECK(scan_knn_self(x, 5, 2, 0, idx, sim) == SCAN_ERR_INPUT);
  CHECK(scan_knn(x, 5, x, 5, 2, 4, 1, idx, sim) == SCAN_OK);
  CHECK(idx[0] == 2 && idx[3] == 3);
  CHECK(scan_knn(x, 5, x, 5, 2, 5, 1, idx, sim) == SCAN_ERR_INPUT);
  CHECK(scan_knn(x, 5, x, 5, 2, 5, 0, idx, sim) == SCAN_OK); /* k = nb without exclusion */
  CHECK(idx[0] == 0 || idx[0] == 2);                          /* (1,0)·(1,0) = (1,0)·(1,1) = 1: index 0 first */
  CHECK(idx[0] == 0 && idx[1] == 2);
  /* single sample: no neighbours possible */
  CHECK(scan_knn_self(x, 1, 2, 1, idx, sim) == SCAN_ERR_INPUT);
  float bad[4] = {1, 0, NAN, 1};
  CHECK(scan_knn_self(bad, 2, 2, 1, idx, sim) == SCAN_ERR_INPUT);
}

static void test_accuracies(void) {
  /* 3 rows, 3 columns (self + 2): labels 0,0,1 */
  int32_t labels[3] = {0, 0, 1};
  int64_t nb[9] = {0, 1, 2, 1, 0, 2, 2, 0, 1};
  /* row0: 1 ok, 2 no; row1: 0 ok, 2 no; row2: 0 no, 1 no -> 2/6 */
  CHECK_NEAR(scan_neighbor_accuracy(nb, 3, 3, labels), 100.0 * 2 / 6, 1e-12, 0);

  /* weighted kNN: bank on a circle, query at angle 0 */
  float bank[4 * 2] = {1, 0, 0.8f, 0.6f, 0.6f, 0.8f, 0, 1};
  int32_t bank_labels[4] = {1, 0, 0, 1};
  float query[2 * 2] = {1, 0, 0, 1};
  int32_t query_labels[2] = {0, 1};
  double acc = -1;
  /* k=3, t=0.1: query0 sims 1 (c1), .8 (c0), .6 (c0): c1 e^10 = 22026 vs c0 e^8+e^6 = 3384 -> 1 (wrong)
     query1 sims 1 (c1), .8 (c0), .6 (c0) -> 1 (right). */
  CHECK(scan_weighted_knn_accuracy(bank, bank_labels, 4, query, query_labels, 2, 2, 3, 0.1, 2, &acc) == SCAN_OK);
  CHECK_NEAR(acc, 50.0, 1e-12, 0);
  /* t=1: c1 e^1 = 2.718 vs c0 e^.8+e^.6 = 4.048 -> 0 for both queries: query0 right, query1 wrong */
  CHECK(scan_weighted_knn_accuracy(bank, bank_labels, 4, query, query_labels, 2, 2, 3, 1.0, 2, &acc) == SCAN_OK);
  CHECK_NEAR(acc, 50.0, 1e-12, 0);
  query_labels[1] = 0;
  CHECK(scan_weighted_knn_accuracy(bank, bank_labels, 4, query, query_labels, 2, 2, 3, 1.0, 2, &acc) == SCAN_OK);
  CHECK_NEAR(acc, 100.0, 1e-12, 0);
  /* k larger than the bank: all 4 used; t=1: c1 e^1+e^0 = 3.718 < c0 4.048 */
  CHECK(scan_weighted_knn_accuracy(bank, bank_labels, 4, query, query_labels, 2, 2, 100, 1.0, 2, &acc) == SCAN_OK);
  CHECK_NEAR(acc, 100.0, 1e-12, 0);
  query_labels[0] = 7;
  CHECK(scan_weighted_knn_accuracy(bank, bank_labels, 4, query, query_labels, 2, 2, 3, 1.0, 2, &acc) ==
        SCAN_ERR_INPUT);
}

/* scan_knn_self_rows: any split of the query rows (block-aligned shares of 1..4 ranks, and ranges that cut blocks)
 * gives, row for row, the bytes of the whole search: integer vectors with many exact ties and duplicate rows
 * (ties break by index the same way), and random unit vectors. */
static void test_self_rows(void) {
  const int64_t n = 1400;
  const int d = 24, k = 10;
  for (int kind = 0; kind < 2; kind++) {
    float *x = integer_vectors(n, d, 11);
    if (kind == 1) {
      scan_rng r = scan_rng_make(5, 0, 0);
      for (int64_t i = 0; i < n * d; i++) x[i] = (float)scan_rng_normal(&r);
      scan_l2_normalize_rows(x, n, d);
    }
    size_t cells = (size_t)n * (k + 1);
    int64_t *whole = malloc(sizeof(int64_t) * cells), *parts = malloc(sizeof(int64_t) * cells);
    float *whole_sim = malloc(sizeof(float) * cells), *parts_sim = malloc(sizeof(float) * cells);
    CHECK(scan_knn_self(x, n, d, k, whole, whole_sim) == SCAN_OK);
    for (int size = 1; size <= 5; size++) {
      memset(parts, 0xff, sizeof(int64_t) * cells);
      memset(parts_sim, 0, sizeof(float) * cells);
      int64_t covered = 0;
      for (int rank = 0; rank < size; rank++) {
        int64_t first, count;
        if (size < 5) {
          scan_knn_self_share(n, rank, size, &first, &count);
        } else { /* ranges that start and end inside blocks */
          const int64_t cuts[] = {0, 100, 700, 701, 1300, n};
          first = cuts[rank];
          count = cuts[rank + 1] - cuts[rank];
        }
        CHECK(first == covered);
        covered += count;
        CHECK(scan_knn_self_rows(x, n, d, k, first, count, parts, parts_sim) == SCAN_OK);
      }
      CHECK_MSG(covered == n, "%d shares cover %lld of %lld rows", size, (long long)covered, (long long)n);
      CHECK_MSG(memcmp(whole, parts, sizeof(int64_t) * cells) == 0, "kind %d, %d shares: neighbours differ", kind, size);
      CHECK_MSG(memcmp(whole_sim, parts_sim, sizeof(float) * cells) == 0, "kind %d, %d shares: similarities differ",
                kind, size);
    }
    CHECK(scan_knn_self_rows(x, n, d, k, 1000, 401, parts, NULL) == SCAN_ERR_INPUT);
    free(x);
    free(whole);
    free(parts);
    free(whole_sim);
    free(parts_sim);
  }
}

int main(void) {
  test_self_rows();
  test_exact_ties();
  test_self_screen_worst_cases();
  test_random_float();
  test_topk_keys();
  test_edges();
  test_accuracies();
  return test_main_end();
}
