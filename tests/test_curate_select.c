/* Curation (issue 11): greedy de-duplication against a naive O(n^2) reference, the union of neighbours, names,
 * MMD / median / TV against hand-computed values, and a whole selection on synthetic clusters. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scan/atomic_file.h"
#include "scan/curate.h"
#include "scan/knn.h"
#include "scan/npy.h"
#include "scan/rng.h"
#include "testlib.h"


/* The definition, literally: row i is kept unless an earlier kept row is at or above the threshold. */
static void naive_dedup(const float *x, int n, int d, double threshold, uint8_t *keep) {
  for (int i = 0; i < n; i++) {
    keep[i] = 1;
    for (int j = 0; j < i && keep[i]; j++) {
      if (!keep[j]) continue;
      float s = 0;
      for (int c = 0; c < d; c++) s += x[i * d + c] * x[j * d + c];
      if (s >= (float)threshold) keep[i] = 0;
    }
  }
}

static void unit_2d(float *row, double degrees) {
  row[0] = (float)cos(degrees * M_PI / 180);
  row[1] = (float)sin(degrees * M_PI / 180);
}

static void test_dedup_hand_made(void) {
  /* Angles: 0, 5 (cos 0.9962: duplicate of 0), 0 (exact duplicate), 30, 33 (duplicate of 30), 60, 0.
   * At 0.99: keep 0, 30, 60. */
  const double angles[] = {0, 5, 0, 30, 33, 60, 0};
  float x[7 * 2];
  for (int i = 0; i < 7; i++) unit_2d(x + 2 * i, angles[i]);
  uint8_t keep[7];
  int64_t kept = -1;
  CHECK(scan_curate_dedup(x, 7, 2, 0.99, keep, &kept) == SCAN_OK);
  const uint8_t expected[7] = {1, 0, 0, 1, 0, 1, 0};
  CHECK(kept == 3);
  CHECK(memcmp(keep, expected, 7) == 0);
  /* A chain 0, 5, 10: 5 goes (close to 0), and 10 stays although it is close to 5, since 5 was removed. */
  const double chain[] = {0, 5, 10};
  float y[3 * 2];
  for (int i = 0; i < 3; i++) unit_2d(y + 2 * i, chain[i]);
  CHECK(scan_curate_dedup(y, 3, 2, 0.995, keep, &kept) == SCAN_OK && kept == 2 && keep[0] && !keep[1] && keep[2]);
  /* Above 1 nothing is removed, not even exact duplicates; a single row is kept. */
  CHECK(scan_curate_dedup(x, 7, 2, 1.01, keep, &kept) == SCAN_OK && kept == 7);
  CHECK(scan_curate_dedup(x, 1, 2, 0.5, keep, &kept) == SCAN_OK && kept == 1 && keep[0] == 1);
  CHECK(scan_curate_dedup(x, 0, 2, 0.5, keep, &kept) == SCAN_ERR_INPUT);
}

/* Many exact and near copies of a few frames (more than the search's candidate list holds) and random rows,
 * compared with the naive definition. */
static void test_dedup_against_naive(void) {
  int n = test_light() ? 150 : 600, d = 16;
  float *x = malloc(sizeof(float) * (size_t)n * d);
  uint8_t *keep = malloc((size_t)n), *expected = malloc((size_t)n);
  scan_rng rng = scan_rng_make(7, 1, 0);
  float base[4][16];
  for (int b = 0; b < 4; b++)
    for (int c = 0; c < d; c++) base[b][c] = (float)scan_rng_normal(&rng);
  for (int i = 0; i < n; i++) {
    int kind = scan_rng_int(&rng, 3);
    for (int c = 0; c < d; c++) {
      if (kind == 0) x[i * d + c] = base[i % 4][c]; /* exact copies */
      else if (kind == 1) x[i * d + c] = base[i % 4][c] + 0.05f * (float)scan_rng_normal(&rng); /* near copies */
      else x[i * d + c] = (float)scan_rng_normal(&rng);
    }
  }
  scan_l2_normalize_rows(x, n, d);
  const double thresholds[] = {0.98, 0.9, 0.5};
  for (int t = 0; t < 3; t++) {
    int64_t kept;
    CHECK(scan_curate_dedup(x, n, d, thresholds[t], keep, &kept) == SCAN_OK);
    naive_dedup(x, n, d, thresholds[t], expected);
    int64_t expected_kept = 0;
    for (int i = 0; i < n; i++) expected_kept += expected[i];
    CHECK_MSG(memcmp(keep, expected, (size_t)n) == 0, "threshold %g: %lld kept, naive %lld", thresholds[t],
              (long long)kept, (long long)expected_kept);
    CHECK(kept == expected_kept);
  }
  free(x);
  free(keep);
  free(expected);
}

static void test_union(void) {
  /* 3 rows x 4 columns; with k = 2 the union of the first two columns. */
  const int64_t nb[12] = {7, 2, 9, 0, 2, 5, 1, 1, 9, 7, 3, 3};
  int64_t selected[12], count = -1;
  CHECK(scan_curate_union(nb, 3, 4, 2, 10, selected, &count) == SCAN_OK);
  const int64_t expected2[] = {2, 5, 7, 9};
  CHECK(count == 4 && memcmp(selected, expected2, sizeof expected2) == 0);
  CHECK(scan_curate_union(nb, 3, 4, 4, 10, selected, &count) == SCAN_OK);
  const int64_t expected4[] = {0, 1, 2, 3, 5, 7, 9};
  CHECK(count == 7 && memcmp(selected, expected4, sizeof expected4) == 0);
  CHECK(scan_curate_union(nb, 3, 4, 2, 8, selected, &count) == SCAN_ERR_INTERNAL); /* 9 is outside a pool of 8 */
}

static void test_names(void) {
  const char *cases[][2] = {{"000123.jpg", "000123"}, {"a/b/frame.PNG", "a/b/frame"}, {"x.tar.jpeg", "x.tar"},
                            {"frame.0001", "frame.0001"}, {"no_ext", "no_ext"}, {".png", ".png"},
                            {"dir.v2/name", "dir.v2/name"}, {"7", "7"}, {"shot.webp", "shot"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[64];
    scan_curate_strip_extension(cases[i][0], out, sizeof out);
    CHECK_MSG(strcmp(out, cases[i][1]) == 0, "%s -> %s, expected %s", cases[i][0], out, cases[i][1]);
  }
  char path[600];
  snprintf(path, sizeof path, "%s/names.txt", test_tmpdir());
  CHECK(test_write_file(path, "a.png\r\nb.jpg\nc", 14) == 0);
  char **names = NULL;
  CHECK(scan_curate_read_names(path, 3, &names) == SCAN_OK);
  if (names) CHECK(strcmp(names[0], "a.png") == 0 && strcmp(names[1], "b.jpg") == 0 && strcmp(names[2], "c") == 0);
  scan_curate_free_names(names, 3);
  CHECK(scan_curate_read_names(path, 4, &names) == SCAN_ERR_INPUT);
  CHECK_MSG(strstr(scan_error_message(), "names.txt") && strstr(scan_error_message(), "3 names"), "%s",
            scan_error_message());
  CHECK(scan_curate_index_names(12, &names) == SCAN_OK && strcmp(names[11], "11") == 0);
  scan_curate_free_names(names, 12);
}

static void test_distances(void) {
  /* One point each at 0 and 1 in 1-D, sigma2 = 1: MMD^2 = k(0,0) + k(1,1) - 2 k(0,1) = 2 - 2 exp(-1/2). */
  const float zero[1] = {0}, one[1] = {1};
  CHECK_NEAR(scan_curate_mmd_rbf(zero, 1, one, 1, 1, 1.0), sqrt(2 - 2 * exp(-0.5)), 1e-12, 1e-9);
  /* {0, 2} against {1}: mean k(x,x') = (2 + 2 e^-2) / 4, k(y,y) = 1, mean k(x,y) = e^-0.5. */
  const float pair[2] = {0, 2};
  CHECK_NEAR(scan_curate_mmd_rbf(pair, 2, one, 1, 1, 1.0), sqrt((2 + 2 * exp(-2.0)) / 4 + 1 - 2 * exp(-0.5)), 1e-12,
             1e-9);

  /* Identical sets: 0; a shifted copy: clearly above 0, growing with the shift. */
  int n = 200, d = 8;
  float *x = malloc(sizeof(float) * (size_t)n * d), *y = malloc(sizeof(float) * (size_t)n * d);
  scan_rng rng = scan_rng_make(3, 0, 0);
  for (int i = 0; i < n * d; i++) x[i] = (float)scan_rng_normal(&rng);
  double sigma2 = scan_curate_median_sq_distance(x, n, x, n, d);
  CHECK(sigma2 > 8 && sigma2 < 24); /* |a-b|^2 of two standard normals in 8-D is 2*chi2(8): median about 14.7 */
  CHECK_NEAR(scan_curate_mmd_rbf(x, n, x, n, d, sigma2), 0, 1e-6, 0);
  double previous = 0;
  for (int step = 1; step <= 3; step++) {
    for (int i = 0; i < n * d; i++) y[i] = x[i] + (i % d == 0 ? 0.5f * (float)step : 0);
    double mmd = scan_curate_mmd_rbf(x, n, y, n, d, sigma2);
    CHECK_MSG(mmd > previous + 0.01, "shift %d: MMD %g, smaller shift gave %g", step, mmd, previous);
    previous = mmd;
  }
  /* Median of squared distances by hand: {0, 3} against {1, 2}: 1, 4, 4, 1 -> 2.5. */
  const float a[2] = {0, 3}, b[2] = {1, 2};
  CHECK_NEAR(scan_curate_median_sq_distance(a, 2, b, 2, 1), 2.5, 1e-12, 0);

  /* Subsample: the requested number of distinct rows, in order, reproducible, all rows when fewer. */
  for (int i = 0; i < n; i++) x[i] = (float)i; /* d = 1 view of the first n values */
  float s1[50], s2[50];
  CHECK(scan_curate_subsample(x, n, 1, 50, 9, 1, s1) == 50);
  CHECK(scan_curate_subsample(x, n, 1, 50, 9, 1, s2) == 50 && memcmp(s1, s2, sizeof s1) == 0);
  int increasing = 1;
  for (int i = 1; i < 50; i++) increasing &= s1[i] > s1[i - 1];
  CHECK(increasing);
  CHECK(scan_curate_subsample(x, n, 1, 50, 10, 1, s2) == 50 && memcmp(s1, s2, sizeof s1) != 0);
  CHECK(scan_curate_subsample(x, 30, 1, 50, 9, 1, s2) == 30 && s2[29] == 29);

  const int64_t h1[3] = {10, 0, 0}, h2[3] = {5, 5, 0}, h3[3] = {2, 2, 0};
  CHECK_NEAR(scan_curate_tv_distance(h1, h2, 3), 0.5, 1e-12, 0);
  CHECK_NEAR(scan_curate_tv_distance(h2, h3, 3), 0.0, 1e-12, 0);
  free(x);
  free(y);
}

/* Two clusters in the pool (directions e0 and e1, labels 0 and 1); the target is cluster 0 only, with repeated
 * frames. The selection must come from cluster 0, beat the pool on MMD and class histogram, and the files must
 * hold what the naive computation gives. */
static void test_select_end_to_end(void) {
  enum { D = 8, T = 12, P = 80 };
  static float target[T * D], pool[P * D];
  static int32_t target_labels[T], pool_labels[P];
  scan_rng rng = scan_rng_make(5, 2, 0);
  for (int i = 0; i < P; i++) {
    pool_labels[i] = i % 2;
    for (int c = 0; c < D; c++) pool[i * D + c] = (c == pool_labels[i] ? 3.0f : 0) + 0.4f * (float)scan_rng_normal(&rng);
  }
  for (int i = 0; i < T; i++) {
    target_labels[i] = 0;
    /* frames 2k and 2k+1 are identical: half of the target is duplicates */
    if (i % 2 == 1) {
      memcpy(target + i * D, target + (i - 1) * D, sizeof(float) * D);
      continue;
    }
    for (int c = 0; c < D; c++) target[i * D + c] = (c == 0 ? 3.0f : 0) + 0.4f * (float)scan_rng_normal(&rng);
  }
  scan_l2_normalize_rows(pool, P, D);
  scan_l2_normalize_rows(target, T, D);
  char **target_names, **pool_names;
  CHECK(scan_curate_index_names(T, &target_names) == SCAN_OK);
  pool_names = calloc(P, sizeof(char *));
  for (int i = 0; i < P; i++) {
    pool_names[i] = malloc(32);
    snprintf(pool_names[i], 32, "img_%03d.jpg", i);
  }
  char out_dir[600], voc[600], annotation[700];
  snprintf(out_dir, sizeof out_dir, "%s/select", test_tmpdir());
  snprintf(voc, sizeof voc, "%s/voc", test_tmpdir());
  snprintf(annotation, sizeof annotation, "%s/Annotations", voc);
  CHECK(scan_make_dirs(annotation) == SCAN_OK);
  for (int i = 0; i < P; i += 3) { /* every third pool image has an annotation */
    snprintf(annotation, sizeof annotation, "%s/Annotations/img_%03d.xml", voc, i);
    CHECK(test_write_file(annotation, "<annotation/>", 13) == 0);
  }
  scan_curate_request req = {.target = target, .target_count = T, .pool = pool, .pool_count = P, .dim = D,
                             .target_names = (const char *const *)target_names,
                             .pool_names = (const char *const *)pool_names, .ks = {3, 1}, .k_count = 2,
                             .dedup_threshold = 0.98, .out_dir = out_dir, .voc_root = voc,
                             .target_labels = target_labels, .pool_labels = pool_labels, .num_classes = 2,
                             .seed = 1};
  scan_curate_result result;
  scan_status st = scan_curate_select(&req, &result);
  CHECK_MSG(st == SCAN_OK, "%s", scan_error_message());
  if (st != SCAN_OK) return;
  CHECK(result.unique_count == T / 2);

  /* Naive selection for k = 3: unique targets are the even rows; the 3 most similar pool rows of each. */
  uint8_t in_selection[P] = {0};
  for (int t = 0; t < T; t += 2) {
    int best[3] = {-1, -1, -1};
    float best_sim[3] = {-2, -2, -2};
    for (int j = 0; j < P; j++) {
      float s = 0;
      for (int c = 0; c < D; c++) s += target[t * D + c] * pool[j * D + c];
      for (int r = 0; r < 3; r++)
        if (s > best_sim[r]) {
          for (int q = 2; q > r; q--) best[q] = best[q - 1], best_sim[q] = best_sim[q - 1];
          best[r] = j, best_sim[r] = s;
          break;
        }
    }
    for (int r = 0; r < 3; r++) in_selection[best[r]] = 1;
  }
  char expected[4096] = "", line[64];
  int expected_count = 0, from_cluster_0 = 1, expected_missing = 0;
  for (int j = 0; j < P; j++)
    if (in_selection[j]) {
      snprintf(line, sizeof line, "img_%03d\n", j);
      strcat(expected, line);
      expected_count++;
      from_cluster_0 &= pool_labels[j] == 0;
      expected_missing += j % 3 != 0;
    }
  char path[800];
  snprintf(path, sizeof path, "%s/ImageSets/scan_nn3.txt", out_dir);
  char *text = test_read_text(path, NULL);
  CHECK_MSG(text && strcmp(text, expected) == 0, "scan_nn3.txt:\n%s\nexpected:\n%s", text ? text : "(none)", expected);
  free(text);
  CHECK(from_cluster_0);
  CHECK(result.per_k[0].k == 3 && result.per_k[0].selected == expected_count);
  CHECK(result.per_k[0].neighbour_total == 3 * T / 2);
  CHECK(result.per_k[0].missing_annotations == expected_missing);
  CHECK(result.per_k[1].selected <= T / 2 && result.per_k[1].selected >= 1);

  /* Evidence: the selection is closer to the target than the pool, by every measure. */
  CHECK_MSG(result.per_k[0].mmd_target < 0.5 * result.mmd_pool, "MMD selection %g, pool %g", result.per_k[0].mmd_target,
            result.mmd_pool);
  CHECK(result.per_k[0].mean_nn_similarity > result.mean_nn_similarity_pool);
  CHECK_NEAR(result.per_k[0].tv_target, 0.0, 1e-12, 0);
  CHECK_NEAR(result.tv_pool, 0.5, 1e-12, 0);
  snprintf(path, sizeof path, "%s/evidence.json", out_dir);
  text = test_read_text(path, NULL);
  cJSON *json = text ? cJSON_Parse(text) : NULL;
  CHECK(json != NULL);
  if (json) {
    cJSON *selections = cJSON_GetObjectItem(json, "selections");
    cJSON *first = cJSON_GetArrayItem(selections, 0);
    CHECK(cJSON_GetArraySize(selections) == 2);
    CHECK(first && cJSON_GetObjectItem(first, "count")->valuedouble == expected_count);
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(json, "target"), "unique")->valuedouble == T / 2);
  }
  cJSON_Delete(json);
  free(text);
  const char *files[] = {"evidence.png", "evidence_classes.png", "target_kept.npy", "neighbors_nn3.npy",
                         "neighbors_nn1.npy", "selected_nn3.npy", "missing_annotations_nn3.txt"};
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    snprintf(path, sizeof path, "%s/%s", out_dir, files[f]);
    CHECK_MSG(scan_file_exists(path), "%s missing", path);
  }
  scan_array a;
  snprintf(path, sizeof path, "%s/neighbors_nn3.npy", out_dir);
  if (scan_npy_read(path, &a) == SCAN_OK) {
    CHECK(a.dtype == SCAN_I64 && a.ndim == 2 && a.shape[0] == T / 2 && a.shape[1] == 3);
    scan_array_free(&a);
  }

  /* Bad input: k above the pool size, an empty target. */
  req.ks[0] = P + 1;
  CHECK(scan_curate_select(&req, &result) == SCAN_ERR_INPUT && strstr(scan_error_message(), "k = 81"));
  req.ks[0] = 3;
  req.target_count = 0;
  CHECK(scan_curate_select(&req, &result) == SCAN_ERR_INPUT && strstr(scan_error_message(), "target set is empty"));
  scan_curate_free_names(target_names, T);
  scan_curate_free_names(pool_names, P);
}

int main(void) {
  test_dedup_hand_made();
  test_dedup_against_naive();
  test_union();
  test_names();
  test_distances();
  test_select_end_to_end();
  return test_main_end();
}
