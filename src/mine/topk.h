/* Per-row top-k selection shared by the kNN searches (internal to mine).
 *
 * Candidate order is total: higher similarity first, then smaller index. Since
 * the kept set depends only on that order (not on the order candidates arrive),
 * any schedule of blocks gives the same result.
 *
 * A candidate is held as one 64-bit key that orders like the candidates: the
 * similarity's bits made monotone in the high half, the complement of the index
 * in the low half. Ranking two candidates is then one integer compare (no
 * unpredictable branches on ties), and a heap of k keys is 8k contiguous bytes.
 * Indices must be below TOPK_NO_INDEX.
 *
 * Each row keeps a binary heap of its k best keys with the WORST one at the root,
 * so the root's similarity is a running threshold: a candidate below it is
 * rejected with one compare, and scanning a block row is a vectorisable "is
 * anything >= threshold" test over 16 values at a time. */
#ifndef SCAN_MINE_TOPK_H
#define SCAN_MINE_TOPK_H

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef uint64_t topk_key;

/* The index of the sentinels that fill a new heap; real indices are smaller. */
#define TOPK_NO_INDEX UINT32_MAX

/* Float bits as an unsigned number that orders like the (non-NaN) floats. */
static inline uint32_t topk_ordered_bits(float s) {
  s += 0.0f; /* -0 becomes +0, so equal similarities tie on the index */
  uint32_t bits;
  memcpy(&bits, &s, sizeof bits);
  return bits & 0x80000000u ? ~bits : bits | 0x80000000u;
}

static inline topk_key topk_make_key(float s, int64_t index) {
  return (uint64_t)topk_ordered_bits(s) << 32 | (uint32_t)~(uint32_t)index;
}

static inline float topk_key_sim(topk_key key) {
  uint32_t bits = (uint32_t)(key >> 32);
  bits = bits & 0x80000000u ? bits & 0x7fffffffu : ~bits;
  float s;
  memcpy(&s, &bits, sizeof s);
  return s;
}

static inline int64_t topk_key_index(topk_key key) { return (uint32_t)~(uint32_t)key; }

/* Fills a heap with sentinels (similarity -inf) that every real candidate beats. */
static inline void topk_init(topk_key *heap, int k) {
  for (int t = 0; t < k; t++) heap[t] = topk_make_key(-INFINITY, TOPK_NO_INDEX);
}

/* The similarity a candidate must reach to be considered (ties are decided by index). */
static inline float topk_threshold(const topk_key *heap) { return topk_key_sim(heap[0]); }

/* Offers a key; returns 1 when it entered the heap. */
static inline int topk_offer(topk_key *heap, int k, topk_key key) {
  if (key <= heap[0]) return 0;
  int pos = 0;
  for (;;) { /* sift the new key down from the root */
    int child = 2 * pos + 1;
    if (child >= k) break;
    if (child + 1 < k) child += heap[child + 1] < heap[child];
    if (heap[child] >= key) break;
    heap[pos] = heap[child];
    pos = child;
  }
  heap[pos] = key;
  return 1;
}

/* Writes the heap best-first to sims (may be NULL) and indices, then leaves the
 * heap sorted worst-first (heap sort: pop the worst to the back). */
static inline void topk_sort(topk_key *heap, int k, float *sims, int64_t *indices) {
  for (int size = k; size > 1; size--) {
    topk_key worst = heap[0], key = heap[size - 1];
    int m = size - 1, pos = 0;
    for (;;) {
      int child = 2 * pos + 1;
      if (child >= m) break;
      if (child + 1 < m) child += heap[child + 1] < heap[child];
      if (heap[child] >= key) break;
      heap[pos] = heap[child];
      pos = child;
    }
    heap[pos] = key;
    heap[size - 1] = worst;
  }
  for (int t = 0; t < k; t++) {
    if (sims) sims[t] = topk_key_sim(heap[t]);
    indices[t] = topk_key_index(heap[t]);
  }
}

/* Scans one row of a similarity block: s[j] is the similarity to candidate
 * first_index + j. Candidate `skip` (the row itself, or -1) is never offered. */
static inline void topk_feed_row(topk_key *heap, int k, const float *s, int64_t count, int64_t first_index,
                                 int64_t skip) {
  float threshold = topk_threshold(heap);
  int64_t j = 0;
  for (; j + 16 <= count; j += 16) {
    int any = 0;
    for (int t = 0; t < 16; t++) any |= s[j + t] >= threshold;
    if (!any) continue;
    for (int t = 0; t < 16; t++) {
      int64_t index = first_index + j + t;
      if (s[j + t] >= threshold && index != skip && topk_offer(heap, k, topk_make_key(s[j + t], index)))
        threshold = topk_threshold(heap);
    }
  }
  for (; j < count; j++) {
    int64_t index = first_index + j;
    if (s[j] >= threshold && index != skip && topk_offer(heap, k, topk_make_key(s[j], index)))
      threshold = topk_threshold(heap);
  }
}

#endif
