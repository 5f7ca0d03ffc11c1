/* Query clustering pieces without a model: candidate mining against brute force
 * (with byte-identical copies of images), the prefix accuracies, the count list
 * parser, and the scores of a hand-built candidate set against values worked out
 * by hand (where the reference's K x K subset matching would give ACC 0). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/query.h"
#include "scan/rng.h"
#include "testlib.h"

enum { N = 40, D = 5, BYTES = 6 };

/* Brute force: row i's k nearest by double-precision inner product, skipping images equal to i's. */
static void brute_candidates(const float *x, const uint8_t *pixels, int i, int k, int64_t *out) {
  int taken = 0;
  unsigned char used[N] = {0};
  while (taken < k) {
    int best = -1;
    double best_sim = -INFINITY;
    for (int j = 0; j < N; j++) {
      if (used[j] || memcmp(pixels + j * BYTES, pixels + i * BYTES, BYTES) == 0) continue;
      double s = 0;
      for (int t = 0; t < D; t++) s += (double)x[i * D + t] * x[j * D + t];
      if (s > best_sim) best_sim = s, best = j; /* strict: the smaller index wins ties */
    }
    used[best] = 1;
    out[taken++] = best;
  }
}

static void test_mining(void) {
  float x[N * D];
  uint8_t pixels[N * BYTES];
  scan_rng rng = scan_rng_make(11, 0, 0);
  for (int i = 0; i < N; i++) {
    double norm = 0;
    for (int t = 0; t < D; t++) x[i * D + t] = (float)scan_rng_normal(&rng), norm += x[i * D + t] * x[i * D + t];
    for (int t = 0; t < D; t++) x[i * D + t] /= (float)sqrt(norm);
    for (int b = 0; b < BYTES; b++) pixels[i * BYTES + b] = (uint8_t)(i * 7 + b);
  }
  /* Images 3, 9 and 30 are the same picture (so the same features); 17 and 18 as well. */
  const int copies[][2] = {{9, 3}, {30, 3}, {18, 17}};
  for (int c = 0; c < 3; c++) {
    memcpy(pixels + copies[c][0] * BYTES, pixels + copies[c][1] * BYTES, BYTES);
    memcpy(x + copies[c][0] * D, x + copies[c][1] * D, sizeof(float) * D);
  }
  const int k = 12;
  int64_t got[N * k], want[k];
  const scan_dataset images = {.count = N, .height = 1, .width = BYTES, .channels = 1, .pixels = pixels, .name = "t"};
  CHECK(scan_query_mine(x, N, D, &images, k, got) == SCAN_OK);
  int same = 1, no_copy = 1;
  for (int i = 0; i < N; i++) {
    brute_candidates(x, pixels, i, k, want);
    for (int j = 0; j < k; j++) {
      same &= got[i * k + j] == want[j];
      no_copy &= memcmp(pixels + got[i * k + j] * BYTES, pixels + i * BYTES, BYTES) != 0;
    }
  }
  CHECK_MSG(same, "candidates differ from brute force");
  CHECK_MSG(no_copy, "an image or a copy of it is among its own candidates");
  /* Without pixels only the image itself is left out: its copy (same features) comes first. */
  CHECK(scan_query_mine(x, N, D, NULL, k, got) == SCAN_OK);
  CHECK(got[3 * k] == 9 && got[3 * k + 1] == 30);
  CHECK(got[17 * k] == 18);
  CHECK(scan_query_mine(x, N, D, &images, N - 1, got) == SCAN_ERR_INPUT); /* 3 has only N - 3 others */

  /* Prefix accuracies against a direct count. */
  int32_t labels[N];
  for (int i = 0; i < N; i++) labels[i] = i % 4 == 0 ? -1 : i % 3;
  CHECK(scan_query_mine(x, N, D, &images, k, got) == SCAN_OK);
  const int counts[] = {1, 5, 12};
  double acc[3];
  CHECK(scan_query_candidate_accuracy(got, N, k, labels, counts, 3, acc) == SCAN_OK);
  for (int c = 0; c < 3; c++) {
    long hits = 0, total = 0;
    for (int i = 0; i < N; i++) {
      if (labels[i] < 0) continue;
      for (int j = 0; j < counts[c]; j++) hits += labels[got[i * k + j]] == labels[i], total++;
    }
    CHECK_NEAR(acc[c], 100.0 * hits / total, 1e-9, 0);
  }
}

static void test_counts(void) {
  int counts[SCAN_QUERY_MAX_COUNTS], n = 0;
  CHECK(scan_query_default_counts(counts, SCAN_QUERY_MAX_COUNTS) == 20 && counts[0] == 50 && counts[19] == 1000);
  CHECK(scan_query_parse_counts("10,20,400", counts, SCAN_QUERY_MAX_COUNTS, &n) == SCAN_OK && n == 3 && counts[2] == 400);
  CHECK(scan_query_parse_counts("20,10", counts, SCAN_QUERY_MAX_COUNTS, &n) == SCAN_ERR_INPUT);
  CHECK(scan_query_parse_counts("10,x", counts, SCAN_QUERY_MAX_COUNTS, &n) == SCAN_ERR_INPUT);
  CHECK(scan_query_parse_counts("0", counts, SCAN_QUERY_MAX_COUNTS, &n) == SCAN_ERR_INPUT);
  CHECK(scan_query_parse_counts("10,", counts, SCAN_QUERY_MAX_COUNTS, &n) == SCAN_ERR_INPUT);
  CHECK(scan_query_parse_counts("", counts, SCAN_QUERY_MAX_COUNTS, &n) == SCAN_ERR_INPUT);
}

/* Naive silhouette (Euclidean) of x [n, d] under labels, for the comparison. */
static double naive_silhouette(const float *x, int n, int d, const int32_t *labels) {
  double total = 0;
  for (int i = 0; i < n; i++) {
    double own = 0, other[16] = {0};
    int own_count = 0, other_count[16] = {0};
    for (int j = 0; j < n; j++) {
      if (j == i) continue;
      double s = 0;
      for (int t = 0; t < d; t++) s += ((double)x[i * d + t] - x[j * d + t]) * ((double)x[i * d + t] - x[j * d + t]);
      if (labels[j] == labels[i]) own += sqrt(s), own_count++;
      else other[labels[j]] += sqrt(s), other_count[labels[j]]++;
    }
    if (own_count == 0) continue; /* a singleton scores 0 */
    double a = own / own_count, b = INFINITY;
    for (int c = 0; c < 16; c++)
      if (other_count[c] && other[c] / other_count[c] < b) b = other[c] / other_count[c];
    total += (b - a) / (a > b ? a : b);
  }
  return total / n;
}

static void test_scores(void) {
  /* Candidates 10..16 of a 20-image set; 16 has no label. Clusters 3 and 4 of 7 occur, classes 0, 1, 2. */
  int32_t labels[20];
  for (int i = 0; i < 20; i++) labels[i] = 0;
  const int32_t cand_labels[7] = {0, 0, 0, 1, 1, 2, -1};
  int32_t pred[7] = {0, 3, 4, 4, 4, 3, 4};
  int64_t indices[7];
  for (int i = 0; i < 7; i++) indices[i] = 10 + i, labels[10 + i] = cand_labels[i];
  enum { C = 7 };
  float probs[7 * C];
  for (int i = 0; i < 7; i++) {
    /* The assigned cluster most probable, then clusters 0, 1, 2, ... in that order. */
    for (int c = 0; c < C; c++) probs[i * C + c] = 0.1f - 0.01f * (float)c;
    probs[i * C + pred[i]] = 0.5f;
  }
  /* Candidate 2 (class 0) gets clusters 4, 1, 2, 3, 5 as its top 5: matched to 1, -, -, 2, - : a miss,
     where the reference's "unmatched -> class 0" would count a spurious hit (spec §18.2). */
  probs[2 * C + 0] = 0.001f;
  scan_dataset val = {0};
  val.count = 20;
  val.labels = labels;
  val.num_classes = 3;
  scan_query_prediction pr = {7, C, 0, indices, pred, probs, NULL};
  scan_query_scores s;
  CHECK(scan_query_evaluate(&val, &pr, 7, &s) == SCAN_OK);
  /* Labelled: 6. Contingency (cluster x class): 0: [1,0,0]; 3: [1,0,1]; 4: [1,2,0].
     Best matching: 4->1 (2), and 0->0 or 3->0 (1 each; 3->2 gives 1 too): 2 + 1 + 1 = 4 of 6. */
  CHECK(s.evaluated && s.labelled == 6 && s.clusters_present == 3 && s.classes_present == 3);
  CHECK_NEAR(s.acc, 4.0 / 6.0, 1e-12, 0);
  /* ARI by hand: sum C(n_ij,2) = C(2,2) = 1; rows 1,2,3 -> 0+1+3 = 4; columns 3,2,1 -> 3+1+0 = 4;
     E = 4*4/C(6,2) = 16/15; ARI = (1 - 16/15) / (4 - 16/15). */
  CHECK_NEAR(s.ari, (1 - 16.0 / 15) / (4 - 16.0 / 15), 1e-12, 0);
  /* NMI by hand: I = sum n_ij/N log(N n_ij / (a_i b_j)). */
  double I = (1.0 / 6) * log(6.0 / (1 * 3)) + (1.0 / 6) * log(6.0 / (2 * 3)) + (1.0 / 6) * log(6.0 / (2 * 1)) +
             (1.0 / 6) * log(6.0 / (3 * 3)) + (2.0 / 6) * log(12.0 / (3 * 2));
  double hc = -(1.0 / 6 * log(1.0 / 6) + 2.0 / 6 * log(2.0 / 6) + 3.0 / 6 * log(3.0 / 6));
  double hy = -(3.0 / 6 * log(3.0 / 6) + 2.0 / 6 * log(2.0 / 6) + 1.0 / 6 * log(1.0 / 6));
  CHECK_NEAR(s.nmi, I / ((hc + hy) / 2), 1e-12, 0);
  /* With the unique best matching 0->0, 3->2, 4->1 the remapped predictions are 0,2,1,1,1,2 for the
     classes 0,0,0,1,1,2: per class (precision, recall, F1, support) = (1, 1/3, 1/2, 3), (2/3, 1, 4/5, 2),
     (1/2, 1, 2/3, 1), weighted by support. */
  CHECK(s.metrics.match[0] == 0 && s.metrics.match[3] == 2 && s.metrics.match[4] == 1);
  CHECK_NEAR(s.precision, (3 * 1.0 + 2 * (2.0 / 3) + 1 * 0.5) / 6, 1e-12, 0);
  CHECK_NEAR(s.recall, 4.0 / 6.0, 1e-12, 0);
  CHECK_NEAR(s.f1, (3 * 0.5 + 2 * 0.8 + 1 * (2.0 / 3)) / 6, 1e-12, 0);
  /* Top-5: all but candidate 2 have their own matched cluster in their top 5. */
  CHECK_NEAR(s.acc_top5, 5.0 / 6.0, 1e-12, 0);
  /* Both sum exact double distances in the same order: they differ by at most a few double roundings. */
  CHECK_NEAR(s.silhouette, naive_silhouette(probs, 7, C, pred), 1e-12, 0);
  CHECK(s.silhouette_defined);
  scan_query_scores_free(&s);

  /* A prefix of 2 candidates: two clusters (0 and 3), one class; the unmatched cluster's sample is wrong. */
  CHECK(scan_query_evaluate(&val, &pr, 2, &s) == SCAN_OK);
  CHECK(s.n == 2 && s.labelled == 2 && s.classes_present == 1);
  CHECK_NEAR(s.acc, 0.5, 1e-12, 0);
  scan_query_scores_free(&s);

  /* Unlabelled data: only the label-free score. */
  val.labels = NULL;
  CHECK(scan_query_evaluate(&val, &pr, 7, &s) == SCAN_OK);
  CHECK(!s.evaluated && s.silhouette_defined);
  scan_query_scores_free(&s);
  CHECK(scan_query_evaluate(&val, &pr, 8, &s) == SCAN_ERR_INPUT);
}

int main(void) {
  test_mining();
  test_counts();
  test_scores();
  return test_main_end();
}
