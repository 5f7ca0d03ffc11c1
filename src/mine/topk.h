/* Per-row top-k selection shared by the kNN searches (internal to mine).
 *
 * Each row keeps a binary heap of its k best candidates with the WORST one at
 * the root, so the root similarity is a running threshold: a candidate below it
 * is rejected with one compare, and scanning a block row is a vectorisable
 * "is anything >= threshold" test over 16 values at a time.
 *
 * Candidate order is total: higher similarity first, then smaller index. Since
 * the kept set depends only on that order (not on the order candidates arrive),
 * any schedule of blocks gives the same result. */
#ifndef SCAN_MINE_TOPK_H
#define SCAN_MINE_TOPK_H

#include <math.h>
#include <stdint.h>

/* a ranks below b */
static inline int topk_worse(float sa, int64_t ia, float sb, int64_t ib) {
  return sa < sb || (sa == sb && ia > ib);
}

/* Fills a heap with sentinels that every real candidate beats. */
static inline void topk_init(float *hs, int64_t *hi, int k) {
  for (int t = 0; t < k; t++) {
    hs[t] = -INFINITY;
    hi[t] = INT64_MAX;
  }
}

/* Offers (s, index); returns 1 when it entered the heap. */
static inline int topk_offer(float *hs, int64_t *hi, int k, float s, int64_t index) {
  if (!topk_worse(hs[0], hi[0], s, index)) return 0;
  int pos = 0;
  for (;;) { /* sift the new entry down from the root */
    int child = 2 * pos + 1;
    if (child >= k) break;
    if (child + 1 < k && topk_worse(hs[child + 1], hi[child + 1], hs[child], hi[child])) child++;
    if (!topk_worse(hs[child], hi[child], s, index)) break;
    hs[pos] = hs[child];
    hi[pos] = hi[child];
    pos = child;
  }
  hs[pos] = s;
  hi[pos] = index;
  return 1;
}

/* Sorts the heap in place into best-first order (heap sort: pop the worst to the back). */
static inline void topk_sort(float *hs, int64_t *hi, int k) {
  for (int size = k; size > 1; size--) {
    float ws = hs[0];
    int64_t wi = hi[0];
    float s = hs[size - 1];
    int64_t index = hi[size - 1];
    int m = size - 1, pos = 0;
    for (;;) {
      int child = 2 * pos + 1;
      if (child >= m) break;
      if (child + 1 < m && topk_worse(hs[child + 1], hi[child + 1], hs[child], hi[child])) child++;
      if (!topk_worse(hs[child], hi[child], s, index)) break;
      hs[pos] = hs[child];
      hi[pos] = hi[child];
      pos = child;
    }
    hs[pos] = s;
    hi[pos] = index;
    hs[size - 1] = ws;
    hi[size - 1] = wi;
  }
}

/* Scans one row of a similarity block: s[j] is the similarity to candidate
 * first_index + j. Candidate `skip` (the row itself, or -1) is never offered. */
static inline void topk_feed_row(float *hs, int64_t *hi, int k, const float *s, int64_t count,
                                 int64_t first_index, int64_t skip) {
  float threshold = hs[0];
  int64_t j = 0;
  for (; j + 16 <= count; j += 16) {
    int any = 0;
    for (int t = 0; t < 16; t++) any |= s[j + t] >= threshold;
    if (!any) continue;
    for (int t = 0; t < 16; t++) {
      int64_t index = first_index + j + t;
      if (s[j + t] >= threshold && index != skip && topk_offer(hs, hi, k, s[j + t], index))
        threshold = hs[0];
    }
  }
  for (; j < count; j++) {
    int64_t index = first_index + j;
    if (s[j] >= threshold && index != skip && topk_offer(hs, hi, k, s[j], index)) threshold = hs[0];
  }
}

/* Checks that every value is finite; returns the first bad row or -1. */
int64_t scan_knn_first_nonfinite_row(const float *x, int64_t n, int d);

#endif
